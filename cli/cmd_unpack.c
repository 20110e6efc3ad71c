/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_unpack.h"
#include "commands.h"

static void
usage_unpack(FILE *out)
{
    fprintf(out,
            "Usage: coco-img unpack [OPTIONS] SRC BUNDLE\n\n"
            "Unpack the image SRC (oci:, oci-archive: or docker://) into the OCI runtime\n"
            "bundle directory BUNDLE: BUNDLE/rootfs and BUNDLE/config.json (like 'umoci\n"
            "unpack').  Every blob is verified against its digest and every layer against\n"
            "its diffID; encrypted layers are decrypted with the given keys.  The bundle is\n"
            "built next to BUNDLE and renamed only on success: on failure nothing is left.\n"
            "BUNDLE must not exist or be empty.\n\n"
            "Options:\n"
            "  -p, --platform P        from an index, unpack the manifest for P (default: host)\n"
            "  -j, --jobs N            registries: download up to N layers at once while\n"
            "                          applying them in order (default 3; 1..64)\n"
            "      --prefetch-max SIZE registries: staged (prefetched) layers take at most\n"
            "                          SIZE bytes of disk (suffix K, M, G; default 1G);\n"
            "                          larger layers are streamed when their turn comes\n"
            "      --max-layer-size SIZE  fail when a layer decompresses to more than SIZE\n"
            "                          bytes (suffix K, M, G; default 64 times its blob\n"
            "                          size, at least 1G)\n"
            "      --keep-setid        not as root: keep setuid/setgid bits (dropped by default)\n"
            "  -h, --help              show this help\n");
    cli_keys_usage(out, "for encrypted layers");
    cli_registry_usage(out, false);
    cli_policy_usage(out, true);
    cli_kbs_usage(out);
    cli_progress_usage(out, true);
}

/*
 * SIGINT/SIGTERM: the handler only stores the signal number (async-signal-
 * safe); the library polls it as its cancel flag, stops every stream and
 * removes the staging directory (unverified plaintext).  The signal is
 * raised again once that is done, so the caller sees how we ended.
 */
static volatile sig_atomic_t unpack_signal;
static const int unpack_signals[] = {SIGINT, SIGTERM};
static struct sigaction unpack_old_actions[2];

static void
on_unpack_signal(int sig)
{
    unpack_signal = sig;
}

static void
unpack_signals_catch(bool on)
{
    for (size_t i = 0; i < 2; i++) {
        if (!on) {
            sigaction(unpack_signals[i], &unpack_old_actions[i], NULL);
            continue;
        }
        struct sigaction sa = {.sa_handler = on_unpack_signal, .sa_flags = SA_RESTART};
        sigfillset(&sa.sa_mask);
        sigaction(unpack_signals[i], NULL, &unpack_old_actions[i]);
        /* a signal ignored by whoever started us (nohup, background jobs) stays ignored */
        if (unpack_old_actions[i].sa_handler != SIG_IGN)
            sigaction(unpack_signals[i], &sa, NULL);
    }
}

static int
parse_jobs(unsigned int *out, const char *cmd, const char *arg)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < 1 || v > COCOIMG_UNPACK_MAX_JOBS)
        return cli_usage_error(cmd, "--jobs: expected a number from 1 to %d, not '%s'",
                               COCOIMG_UNPACK_MAX_JOBS, arg);
    *out = (unsigned int)v;
    return CLI_EXIT_OK;
}

/* SIZE[K|M|G] (binary multiples), at least 1 byte. */
static int
parse_size(uint64_t *out, const char *cmd, const char *opt, const char *arg)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    static const char units[] = "KMG";
    unsigned int shift = 0;
    if (end != arg && *end && !end[1]) {
        const char *u = strchr(units, *end & ~0x20);
        if (u && *u) {
            shift = 10 * (unsigned int)(u - units + 1);
            end++;
        }
    }
    if (*arg < '0' || *arg > '9' || *end || errno || v == 0 || v > (UINT64_MAX >> shift))
        return cli_usage_error(cmd, "%s: expected a size in bytes (suffix K, M or G), not '%s'",
                               opt, arg);
    *out = (uint64_t)v << shift;
    return CLI_EXIT_OK;
}

int
cli_unpack_run(int argc, char **argv, const char *cmd, bool pull)
{
    enum { OPT_PREFETCH_MAX = 256, OPT_MAX_LAYER, OPT_SETID };
    static const struct option opts[] = {
        {"platform", required_argument, NULL, 'p'},
        {"jobs", required_argument, NULL, 'j'},
        {"prefetch-max", required_argument, NULL, OPT_PREFETCH_MAX},
        {"max-layer-size", required_argument, NULL, OPT_MAX_LAYER},
        {"keep-setid", no_argument, NULL, OPT_SETID},
        {"help", no_argument, NULL, 'h'},
        CLI_KEY_LONGOPTS,
        CLI_REGISTRY_LONGOPTS,
        CLI_POLICY_LONGOPTS,
        CLI_KBS_LONGOPTS,
        CLI_PROGRESS_LONGOPTS,
        {NULL, 0, NULL, 0}};
    struct cli_progress prog = {.cmd = "unpack", .json_ok = true};
    cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
    cocoimg_crypt_options co = COCOIMG_CRYPT_OPTIONS_INIT;
    struct cli_registry reg = CLI_REGISTRY_INIT;
    struct cli_policy pol = CLI_POLICY_INIT;
    struct cli_kbs kbs;
    cli_kbs_init(&kbs);
    struct cli_keys keys = CLI_KEYS_INIT;
    void (*usage)(FILE *) = pull ? cli_cmd_pull.usage : cli_cmd_unpack.usage;
    cocoimg_context *ctx = NULL;
    int rc = CLI_EXIT_OK;
    int c;
    while ((c = getopt_long(argc, argv, "p:j:h" CLI_KEY_SHORTOPTS, opts, NULL)) != -1) {
        int kr = cli_keys_parse(&keys, cmd, c, optarg);
        if (kr == 1)
            continue;
        if (kr != 0) {
            rc = kr;
            goto out;
        }
        switch (c) {
        case 'p':
            uo.platform = optarg;
            break;
        case 'j':
            if ((rc = parse_jobs(&uo.jobs, cmd, optarg)) != CLI_EXIT_OK)
                goto out;
            break;
        case OPT_PREFETCH_MAX:
            if ((rc = parse_size(&uo.prefetch_max_bytes, cmd, "--prefetch-max", optarg)) !=
                CLI_EXIT_OK)
                goto out;
            break;
        case OPT_MAX_LAYER:
            if ((rc = parse_size(&uo.max_layer_bytes, cmd, "--max-layer-size", optarg)) !=
                CLI_EXIT_OK)
                goto out;
            break;
        case OPT_SETID:
            uo.flags |= COCOIMG_UNPACK_KEEP_SETID;
            break;
        case 'h':
            usage(stdout);
            goto out;
        default: {
            int rr = cli_policy_parse(&pol, cmd, c, optarg);
            if (rr == 0)
                rr = cli_kbs_parse(&kbs, cmd, c, optarg);
            if (rr == 0)
                rr = cli_registry_parse(&reg, cmd, c, optarg);
            if (rr == 0)
                rr = cli_progress_parse(&prog, cmd, c, optarg);
            if (rr == 1)
                break;
            rc = rr ? rr : cli_usage_error(cmd, "invalid option");
            goto out;
        }
        }
    }
    if (argc - optind != 2) {
        rc = cli_usage_error(cmd, "expected %s and BUNDLE", pull ? "docker://REF" : "SRC");
        goto out;
    }
    const char *src = argv[optind], *bundle = argv[optind + 1];
    if (pull && strncmp(src, "docker://", 9) != 0) {
        rc = cli_usage_error(cmd,
                             "'%s': pull takes a docker://REF (use 'coco-img unpack' for "
                             "oci: and oci-archive: images)",
                             src);
        goto out;
    }
    if ((rc = cli_keys_apply(&keys, cmd, &co)) != CLI_EXIT_OK)
        goto out;
    co.platform = uo.platform;
    uo.crypt = &co;
    ctx = cli_context();
    if ((rc = cli_registry_apply(&reg, cmd, ctx)) != CLI_EXIT_OK ||
        (rc = cli_kbs_apply(&kbs, cmd, ctx, &co, false)) != CLI_EXIT_OK ||
        (rc = cli_policy_apply(&pol, cmd, ctx)) != CLI_EXIT_OK)
        goto out;
    cocoimg_error *err = NULL;
    uo.cancel = &unpack_signal;
    unpack_signals_catch(true);
    cli_progress_start(&prog, ctx);
    int ur = cocoimg_unpack(ctx, src, bundle, &uo, &err);
    cli_progress_end(&prog);
    if (ur < 0)
        rc = cli_error(err);
    else if (prog.json)
        rc = cli_progress_summary(&prog, bundle);
    unpack_signals_catch(false);
out:
    cli_progress_clear(&prog);
    cli_kbs_clear(&kbs);
    cocoimg_context_free(ctx);
    cli_keys_clear(&keys);
    if (unpack_signal)
        raise(unpack_signal);
    return rc;
}

static int
cmd_unpack(int argc, char **argv)
{
    return cli_unpack_run(argc, argv, "unpack", false);
}

const struct cli_command cli_cmd_unpack = {"unpack", cmd_unpack,
                                           "unpack an image into a runtime bundle", usage_unpack};
