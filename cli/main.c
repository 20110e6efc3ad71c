/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cli.h"
#include "commands.h"

bool cli_debug;

static void
usage_main(FILE *out)
{
    fprintf(out, "Usage: coco-img [--debug] COMMAND [OPTIONS] ARGS...\n"
                 "       coco-img --version | --help | help COMMAND\n\n"
                 "Confidential container images: ocicrypt-compatible layer encryption,\n"
                 "signatures and in-guest pulling.\n\nCommands:\n");
    for (const struct cli_command *const *c = cli_commands; *c; c++)
        fprintf(out, "  %-17s %s\n", (*c)->name, (*c)->summary);
    fprintf(out, "\nImage references:\n"
                 "  oci:DIR[:REF]            OCI image layout directory, REF = ref.name\n"
                 "  oci-archive:FILE[:REF]   tar archive of an OCI image layout\n"
                 "  docker://HOST[:PORT]/REPO[:TAG][@DIGEST]\n"
                 "                           an image in a registry (docker.io when HOST is\n"
                 "                           omitted; see --creds, --authfile, --cert-dir,\n"
                 "                           --tls-verify in the help of each command)\n"
                 "\nExit status:\n"
                 "  0 success, 1 failure, 2 usage error,\n"
                 "  3 verification failed (digest, HMAC, signature, policy, no usable key),\n"
                 "  4 not found (image, ref, blob)\n");
}

static const struct cli_command *
find(const char *name)
{
    for (const struct cli_command *const *c = cli_commands; *c; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "coco-img%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'coco-img %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_EXIT_USAGE;
}

/* The name of a COCOIMG_E* code, for --json errors. */
static const char *
cli_error_name(int code)
{
    static const char *const names[] = {"OK",        "ERROR",   "ENOMEM",  "EINVAL",  "EIO",
                                        "ENOTFOUND", "ENOTSUP", "EFORMAT", "EDIGEST", "EAUTH",
                                        "ENOKEY",    "EPOLICY", "ENET",    "EHTTP",   "ELIMIT",
                                        "EUSER",     "EEXISTS"};
    return code <= 0 && -code < (int)(sizeof(names) / sizeof(names[0])) ? names[-code] : "ERROR";
}

int
cli_error(cocoimg_error *err)
{
    int code = cocoimg_error_code(err);
    int en = cocoimg_error_errno(err);
    if (cli_json_errors) {
        char *msg = NULL;
        if (asprintf(&msg, "%s%s%s", cocoimg_error_message(err), en ? ": " : "",
                     en ? strerror(en) : "") < 0)
            msg = NULL;
        json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", cli_error_name(code), "message",
                              msg ? msg : cocoimg_error_message(err));
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", s ? s : "{\"error\":{\"code\":\"ENOMEM\",\"message\":\"\"}}");
        free(s);
        json_decref(j);
        free(msg);
    } else if (en) {
        fprintf(stderr, "coco-img: %s: %s\n", cocoimg_error_message(err), strerror(en));
    } else {
        fprintf(stderr, "coco-img: %s\n", cocoimg_error_message(err));
    }
    cocoimg_error_free(err);
    switch (code) {
    case COCOIMG_EINVAL:
        return CLI_EXIT_USAGE;
    case COCOIMG_EDIGEST:
    case COCOIMG_EAUTH:
    case COCOIMG_EPOLICY:
    case COCOIMG_ENOKEY:
        return CLI_EXIT_VERIFY;
    case COCOIMG_ENOTFOUND:
        return CLI_EXIT_NOTFOUND;
    default:
        return CLI_EXIT_FAIL;
    }
}

static void
log_stderr(cocoimg_log_level level, const char *msg, void *payload)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "coco-img: %s: %s\n", names[level], msg);
}

cocoimg_context *
cli_context(void)
{
    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0) {
        cli_error(err);
        exit(CLI_EXIT_FAIL);
    }
    const char *d = getenv("COCOIMG_DEBUG");
    if (cli_debug || (d && *d && strcmp(d, "0") != 0))
        cocoimg_context_set_log(ctx, COCOIMG_LOG_DEBUG, log_stderr, NULL);
    else
        cocoimg_context_set_log(ctx, COCOIMG_LOG_WARNING, log_stderr, NULL);
    /* the library reads no environment: these are the program's to pass on */
    const char *tmp = getenv("TMPDIR");
    if ((tmp && *tmp && cocoimg_context_set_tmpdir(ctx, tmp, &err) < 0) ||
        (getenv("COCOIMG_NO_ISAL") &&
         cocoimg_context_set_flags(ctx, COCOIMG_CONTEXT_NO_ISAL, &err) < 0)) {
        cocoimg_context_free(ctx);
        exit(cli_error(err));
    }
    return ctx;
}

extern char **environ;

#ifdef COCOIMG_MAN_PROGRAM
/* Run man(1) (by the absolute path configure found) and wait for it. */
static int
run_man(const char *const *args, bool quiet)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (quiet && (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
                  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0)) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    int r = posix_spawn(&pid, COCOIMG_MAN_PROGRAM, &fa, NULL, (char *const *)args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

/*
 * "coco-img help CMD" shows the man page coco-img-CMD(1) when man finds it
 * (like "git help CMD"), so the help and the manual cannot drift apart;
 * without man or the page (an uninstalled build) it prints the command's
 * usage, which is what "coco-img CMD --help" prints.
 */
static bool
show_man_page(const char *cmd)
{
#ifdef COCOIMG_MAN_PROGRAM
    char page[64];
    if (snprintf(page, sizeof page, "coco-img%s%s", cmd ? "-" : "", cmd ? cmd : "") >=
        (int)sizeof page)
        return false;
    const char *where[] = {"man", "-w", page, NULL};
    if (run_man(where, true) != 0)
        return false;
    fflush(stdout);
    const char *show[] = {"man", page, NULL};
    return run_man(show, false) == 0;
#else
    (void)cmd;
    return false;
#endif
}

static int
cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stdout);
        return 0;
    }
    const struct cli_command *c = find(argv[1]);
    if (!c)
        return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    if (c != &cli_builtin_help && c != &cli_builtin_version && show_man_page(c->name))
        return 0;
    c->usage(stdout);
    return 0;
}

static void
usage_help(FILE *out)
{
    fprintf(out, "Usage: coco-img help [COMMAND]\n\n"
                 "Show the manual page coco-img-COMMAND(1) (through man, when it is installed),\n"
                 "else the usage of COMMAND; without COMMAND, list the commands.\n");
}

static int
cmd_version(int argc, char **argv)
{
    printf("coco-img version %s (libcocoimg %s)\n", COCOIMG_VERSION, cocoimg_version());
    return 0;
}

static void
usage_version(FILE *out)
{
    fprintf(out, "Usage: coco-img version\n\nPrint the version of coco-img and libcocoimg.\n");
}

const struct cli_command cli_builtin_help = {"help", cmd_help, "show help for a command",
                                             usage_help};
const struct cli_command cli_builtin_version = {"version", cmd_version, "print the version",
                                                usage_version};

/*
 * jansson frees the strings it parsed (layer keys in privopts, JWKs) without
 * wiping them; the library must not change jansson's process-wide
 * allocator, but the program can: every block jansson frees is wiped.
 */
static void
json_free_wiped(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

int
main(int argc, char **argv)
{
    /*
     * Before any secret is read: no core dump, no ptrace or /proc/PID/mem
     * and /proc/PID/environ for other processes of the same user.
     */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fprintf(stderr, "coco-img: cannot mark the process non-dumpable: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    cli_keys_take_env();
    json_set_alloc_funcs(malloc, json_free_wiped);
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    int c;
    /* '+': stop at the command name; the command parses its own options */
    while ((c = getopt_long(argc, argv, "+hVd", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage_main(stdout);
            return 0;
        case 'V':
            return cmd_version(0, NULL);
        case 'd':
            cli_debug = true;
            break;
        default:
            usage_main(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage_main(stderr);
        return CLI_EXIT_USAGE;
    }
    const struct cli_command *cmd = find(argv[optind]);
    if (!cmd)
        return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
    argc -= optind;
    argv += optind;
    /* "coco-img CMD --help" anywhere before "--" */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cmd->usage(stdout);
            return 0;
        }
    }
    optind = 0; /* reset getopt for the command (GNU: 0 re-initialises) */
    return cmd->fn(argc, argv);
}
