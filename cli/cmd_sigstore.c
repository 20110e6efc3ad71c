/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cosign keys: generate-sigstore-key, and the passphrase of a sigstore
 * private key (--sign-passphrase-file, $COSIGN_PASSWORD, the terminal).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

/* one line from /dev/tty without echo; NULL when there is no terminal */
static char *
prompt_tty(const char *prompt)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    if (!isatty(fd)) {
        close(fd);
        return NULL;
    }
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    (void)!write(fd, prompt, strlen(prompt));
    char *buf = calloc(1, 1024);
    size_t n = 0;
    while (buf && n < 1023) {
        char c;
        ssize_t k = read(fd, &c, 1);
        if (k <= 0 || c == '\n' || c == '\r')
            break;
        buf[n++] = c;
    }
    (void)!write(fd, "\n", 1);
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    close(fd);
    return buf;
}

char *
cli_sigstore_passphrase(const char *cmd, const char *passfile, bool confirm, bool *refused)
{
    *refused = false;
    if (passfile)
        return cli_read_passphrase_file(cmd, passfile);
    const char *env = getenv("COSIGN_PASSWORD");
    if (env) {
        char *s = strdup(env);
        if (!s)
            fprintf(stderr, "coco-img %s: out of memory\n", cmd);
        return s;
    }
    char *p = prompt_tty("Enter password for private key: ");
    if (!p) {
        *refused = true;
        return NULL;
    }
    if (confirm) {
        char *again = prompt_tty("Enter password for private key again: ");
        bool same = again && strcmp(p, again) == 0;
        cli_secret_free(again);
        if (!same) {
            cli_secret_free(p);
            fprintf(stderr, "coco-img %s: the passwords do not match\n", cmd);
            return NULL;
        }
    }
    return p;
}

static void
usage_gen(FILE *out)
{
    fprintf(out,
            "Usage: coco-img generate-sigstore-key --output-prefix PREFIX [--passphrase-file F]\n\n"
            "Generate an ECDSA P-256 key pair for cosign signing (as skopeo\n"
            "generate-sigstore-key): PREFIX.key, the private key in cosign's encrypted\n"
            "format (scrypt + NaCl secretbox, usable by cosign), mode 0600, and PREFIX.pub,\n"
            "the PEM public key for a sigstoreSigned policy.  Neither file may exist.\n"
            "The passphrase is the first line of F, else $COSIGN_PASSWORD, else it is\n"
            "asked on the terminal (twice); without any of them the command refuses.\n\n"
            "Options:\n"
            "      --output-prefix PREFIX  where to write PREFIX.key and PREFIX.pub\n"
            "      --passphrase-file F     the passphrase (first line of F)\n"
            "  -h, --help                  show this help\n");
}

enum { OPT_PREFIX = 0x2500, OPT_PASSFILE };

static int
cmd_generate_sigstore_key(int argc, char **argv)
{
    static const struct option opts[] = {{"output-prefix", required_argument, NULL, OPT_PREFIX},
                                         {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *prefix = NULL, *passfile = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PREFIX:
            prefix = optarg;
            break;
        case OPT_PASSFILE:
            passfile = optarg;
            break;
        case 'h':
            usage_gen(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("generate-sigstore-key", "invalid option");
        }
    }
    if (!prefix || !*prefix)
        return cli_usage_error("generate-sigstore-key", "--output-prefix is required");
    if (optind != argc)
        return cli_usage_error("generate-sigstore-key", "unexpected argument");
    bool refused;
    char *pass = cli_sigstore_passphrase("generate-sigstore-key", passfile, true, &refused);
    if (!pass) {
        if (refused)
            fprintf(stderr, "coco-img generate-sigstore-key: no passphrase: give "
                            "--passphrase-file or $COSIGN_PASSWORD (no terminal to ask on)\n");
        return CLI_EXIT_FAIL;
    }
    cocoimg_error *err = NULL;
    int r = cocoimg_generate_sigstore_key(prefix, pass, &err);
    cli_secret_free(pass);
    if (r < 0)
        return cli_error(err);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_generate_sigstore_key = {
    "generate-sigstore-key", cmd_generate_sigstore_key,
    "generate a cosign key pair (encrypted private key)", usage_gen};
