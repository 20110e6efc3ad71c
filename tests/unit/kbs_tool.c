/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver of the KBS client through the public API only: one client
 * fetches several resources (so the tests can check that one attestation
 * serves them all, and what happens when the session or the token expires
 * in between).
 *
 *   kbs_tool [--kbs-cert CA] [--insecure-http] [--sleep SECONDS] --kbs-url URL
 *            OUTDIR URI...
 *
 * Resource N (from 1) is written to OUTDIR/N; --sleep waits between two
 * resources.  Exit status: 0, or minus the COCOIMG_E* code of the first
 * failure (the message on stderr).
 */
#include <cocoimg/cocoimg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
log_cb(cocoimg_log_level level, const char *msg, void *payload)
{
    (void)payload;
    fprintf(stderr, "kbs_tool: log %d: %s\n", (int)level, msg);
}

int
main(int argc, char **argv)
{
    cocoimg_kbs_options o = COCOIMG_KBS_OPTIONS_INIT;
    o.attester = "sample";
    unsigned int pause = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--kbs-cert") == 0 && i + 1 < argc)
            o.ca_file = argv[++i];
        else if (strcmp(argv[i], "--kbs-url") == 0 && i + 1 < argc)
            o.url = argv[++i];
        else if (strcmp(argv[i], "--sleep") == 0 && i + 1 < argc)
            pause = (unsigned int)atoi(argv[++i]);
        else if (strcmp(argv[i], "--insecure-http") == 0)
            o.insecure_http = 1;
        else
            break;
    }
    if (argc - i < 2 || !o.url) {
        fprintf(stderr, "usage: kbs_tool [--kbs-cert CA] [--insecure-http] [--sleep S] "
                        "--kbs-url URL OUTDIR URI...\n");
        return 2;
    }
    const char *outdir = argv[i++];
    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    cocoimg_kbs *kbs = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0)
        return 1;
    cocoimg_context_set_log(ctx, COCOIMG_LOG_DEBUG, log_cb, NULL);
    int r = cocoimg_kbs_new(&kbs, ctx, &o, &err);
    for (int n = 1; r == 0 && i < argc; i++, n++) {
        if (n > 1 && pause)
            sleep(pause);
        uint8_t *buf = NULL;
        size_t len = 0;
        if ((r = cocoimg_kbs_get_resource(&buf, &len, kbs, argv[i], &err)) < 0)
            break;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%d", outdir, n);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
            perror(path);
            r = COCOIMG_EIO;
        }
        cocoimg_kbs_resource_free(buf, len);
    }
    if (r < 0)
        fprintf(stderr, "kbs_tool: %s\n", cocoimg_error_message(err));
    cocoimg_error_free(err);
    cocoimg_kbs_free(kbs);
    cocoimg_context_free(ctx);
    return r < 0 ? -r : 0;
}
