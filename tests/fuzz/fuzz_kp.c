/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the keyprovider protocol readers with one input: the request (as
 * the plugin reads it, for its own name and another), the reply of both
 * operations, the attestation-agent annotation packet (opened with a
 * fixed KEK), and the same bytes as an ocicrypt keyprovider configuration
 * file (the client's reader).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cocoimg/keyprovider.h>

#include "kp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_request(const uint8_t *data, size_t size, const char *name)
{
    struct cocoimg__kp_request rq;
    cocoimg_error *err = NULL;
    int r = cocoimg__kp_request_parse(&rq, data, size, name, &err);
    if ((r < 0) != (err != NULL))
        abort();
    if (r == 0 && (!rq.data || rq.data->len == 0 || (rq.n_params && !rq.params)))
        abort();
    if (r < 0 && (rq.data || rq.params))
        abort();
    for (size_t i = 0; r == 0 && i < rq.n_params; i++)
        if (!rq.params[i])
            abort();
    cocoimg__kp_request_clear(&rq);
    cocoimg_error_free(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_request(data, size, "attestation-agent");
    check_request(data, size, "x");
    for (int op = 0; op < 2; op++) {
        cocoimg__secret *out = NULL;
        cocoimg_error *err = NULL;
        int r = cocoimg__kp_reply_parse(&out, (enum cocoimg__kp_op)op, data, size, &err);
        if ((r == 0) != (out != NULL && out->len > 0) || (r < 0) != (err != NULL))
            abort();
        cocoimg__secret_free(out);
        cocoimg_error_free(err);
    }
    struct cocoimg__aa_packet pk;
    cocoimg_error *perr = NULL;
    if (cocoimg__aa_packet_parse(&pk, data, size, &perr) == 0) {
        static const uint8_t kek[32] = {1};
        uint8_t *opts = NULL;
        size_t n = 0;
        if (!pk.uri || strncmp(pk.uri, "kbs:///", 7) != 0 || pk.ct_len < 16)
            abort();
        if (cocoimg__aa_packet_open(&opts, &n, &pk, kek, sizeof(kek), NULL) == 0)
            free(opts);
        cocoimg__aa_packet_clear(&pk);
    } else if (!perr || pk.uri || pk.ct) {
        abort();
    }
    cocoimg_error_free(perr);
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/fuzz_kp.%d.json", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    cocoimg_kp_client_options o;
    cocoimg_kp_client_options_init(&o, COCOIMG_KP_CLIENT_OPTIONS_VERSION);
    o.config_file = path;
    cocoimg_kp_client *c = NULL;
    cocoimg_error *err = NULL;
    int r = cocoimg_kp_client_new(&c, &o, &err);
    if ((r == 0) != (c != NULL) || (r < 0) != (err != NULL))
        abort();
    cocoimg_kp_client_free(c);
    cocoimg_error_free(err);
    unlink(path);
    return 0;
}
