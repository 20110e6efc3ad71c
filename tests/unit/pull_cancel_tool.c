/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for cocoimg_unpack() as a guest agent links it (public API
 * only):
 *
 *   pull_cancel_tool [--insecure] [--jobs N] [--cancel-after N] [--provider]
 *                    [--key FILE] [--threads M] SRC BUNDLE
 *
 * --cancel-after N  the progress callback cancels at its N-th call
 * --provider        keys.provider.test items "TEST:<privopts>" unwrap to
 *                   <privopts> through the key provider's unwrap
 * --threads M       M unpacks of SRC at once on one context, into
 *                   BUNDLE-0 .. BUNDLE-(M-1)
 *
 * Checks that the progress and unwrap callbacks run on the calling thread
 * only, and that progress goes layer by layer in order; prints the number
 * of calls.  Exit status: 0, minus the COCOIMG_E* code of the (first)
 * failure, or 99 when a callback ran on a wrong thread or out of order.
 */
#include <cocoimg/cocoimg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long cancel_after;
static int jobs;
static atomic_int bad;

struct run {
    pthread_t thread;
    cocoimg_context *ctx;
    const char *src;
    char bundle[4096];
    const cocoimg_crypt_options *crypt;
    long calls, unwraps;
    size_t last_layer;
    int r;
    char msg[512];
};

static _Thread_local struct run *current;

static int
progress(size_t layer, uint64_t done, uint64_t total, void *payload)
{
    struct run *ru = payload;
    (void)total;
    (void)done;
    if (current != ru || layer < ru->last_layer) {
        fprintf(stderr, "pull_cancel_tool: progress on a wrong thread or out of order\n");
        atomic_store(&bad, 1);
    }
    ru->last_layer = layer;
    ru->calls++;
    return cancel_after > 0 && ru->calls >= cancel_after;
}

static int
unwrap(uint8_t **out, size_t *out_len, const char *provider, const uint8_t *wrapped, size_t len,
       cocoimg_error **err, void *payload)
{
    (void)payload;
    (void)err;
    if (!current) {
        fprintf(stderr, "pull_cancel_tool: unwrap on a library thread\n");
        atomic_store(&bad, 1);
    } else {
        current->unwraps++;
    }
    if (strcmp(provider, "test") != 0 || len < 5 || memcmp(wrapped, "TEST:", 5) != 0)
        return COCOIMG_ENOKEY;
    if (!(*out = malloc(len - 5)))
        return COCOIMG_ENOMEM;
    memcpy(*out, wrapped + 5, len - 5);
    *out_len = len - 5;
    return 0;
}

static void *
run_one(void *arg)
{
    struct run *ru = arg;
    current = ru;
    cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
    uo.crypt = ru->crypt;
    uo.progress = progress;
    uo.progress_payload = ru;
    uo.jobs = (unsigned int)jobs;
    cocoimg_error *err = NULL;
    ru->r = cocoimg_unpack(ru->ctx, ru->src, ru->bundle, &uo, &err);
    if (ru->r < 0)
        snprintf(ru->msg, sizeof(ru->msg), "%s", cocoimg_error_message(err));
    cocoimg_error_free(err);
    current = NULL;
    return NULL;
}

int
main(int argc, char **argv)
{
    int insecure = 0, provider = 0, threads = 0, i;
    const char *key = NULL;
    for (i = 1; i < argc - 2; i++) {
        if (strcmp(argv[i], "--insecure") == 0)
            insecure = 1;
        else if (strcmp(argv[i], "--provider") == 0)
            provider = 1;
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc - 2)
            jobs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cancel-after") == 0 && i + 1 < argc - 2)
            cancel_after = atol(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc - 2)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc - 2)
            key = argv[++i];
        else
            break;
    }
    if (i != argc - 2 || threads < 0 || threads > 16) {
        fprintf(stderr, "usage: pull_cancel_tool [--insecure] [--jobs N] [--cancel-after N] "
                        "[--provider] [--key FILE] [--threads M] SRC BUNDLE\n");
        return 2;
    }
    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0)
        return 1;
    if (insecure) {
        cocoimg_registry_options ro = COCOIMG_REGISTRY_OPTIONS_INIT;
        ro.insecure = 1;
        if (cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &ro, &err) < 0) {
            fprintf(stderr, "pull_cancel_tool: %s\n", cocoimg_error_message(err));
            return 1;
        }
    }
    cocoimg_crypt_options co = COCOIMG_CRYPT_OPTIONS_INIT;
    const char *keys[1] = {key};
    cocoimg_keyprovider kp = {COCOIMG_KEYPROVIDER_VERSION, NULL, unwrap, NULL};
    if (provider)
        co.keyprovider = &kp;
    if (key) {
        co.keys = keys;
        co.n_keys = 1;
    }

    int n = threads ? threads : 1;
    struct run *runs = calloc((size_t)n, sizeof(*runs));
    if (!runs)
        return 1;
    for (i = 0; i < n; i++) {
        runs[i].ctx = ctx;
        runs[i].src = argv[argc - 2];
        runs[i].crypt = &co;
        if (threads)
            snprintf(runs[i].bundle, sizeof(runs[i].bundle), "%s-%d", argv[argc - 1], i);
        else
            snprintf(runs[i].bundle, sizeof(runs[i].bundle), "%s", argv[argc - 1]);
    }
    if (!threads) {
        run_one(&runs[0]);
    } else {
        for (i = 0; i < n; i++)
            if (pthread_create(&runs[i].thread, NULL, run_one, &runs[i]) != 0)
                return 1;
        for (i = 0; i < n; i++)
            pthread_join(runs[i].thread, NULL);
    }
    int rc = 0;
    for (i = 0; i < n; i++) {
        if (runs[i].r < 0) {
            fprintf(stderr, "pull_cancel_tool: %s: %s\n", runs[i].bundle, runs[i].msg);
            if (!rc)
                rc = -runs[i].r;
        }
        fprintf(stderr, "pull_cancel_tool: %s: %ld progress calls, %ld unwrap calls\n",
                runs[i].bundle, runs[i].calls, runs[i].unwraps);
    }
    free(runs);
    cocoimg_context_free(ctx);
    return atomic_load(&bad) ? 99 : rc;
}
