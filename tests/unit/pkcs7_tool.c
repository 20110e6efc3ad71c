/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper for tests/integration/pkcs7-openssl.sh:
 *   pkcs7_tool wrap CERT... < opts > der
 *   pkcs7_tool unwrap [--allow-unauthenticated] KEY CERT < der > opts
 *   pkcs7_tool describe < der
 * Exit 0 on success; 2 ENOKEY, 3 EAUTH, 4 EFORMAT, 5 ENOTSUP, 1 otherwise.
 */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt/keywrap.h"
#include "util/error.h"
#include "util/secret.h"

static uint8_t *
read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static X509 *
load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!c)
        fprintf(stderr, "pkcs7_tool: cannot read certificate '%s'\n", path);
    return c;
}

static int
exit_code(int r, cocoimg_error *err)
{
    if (r == 0)
        return 0;
    fprintf(stderr, "pkcs7_tool: %s\n", cocoimg_error_message(err));
    cocoimg_error_free(err);
    switch (r) {
    case COCOIMG_ENOKEY:
        return 2;
    case COCOIMG_EAUTH:
        return 3;
    case COCOIMG_EFORMAT:
        return 4;
    case COCOIMG_ENOTSUP:
        return 5;
    default:
        return 1;
    }
}

int
main(int argc, char **argv)
{
    const struct cocoimg__keywrapper *w = &cocoimg__keywrap_pkcs7;
    cocoimg_error *err = NULL;
    size_t len = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: pkcs7_tool wrap CERT... | unwrap [--allow-unauthenticated] KEY "
                        "CERT | describe\n");
        return 1;
    }
    uint8_t *in = read_all(stdin, &len);
    if (!in)
        return 1;
    int r = 1;
    if (strcmp(argv[1], "wrap") == 0 && argc >= 3) {
        size_t n = (size_t)argc - 2;
        X509 **certs = calloc(n, sizeof(*certs));
        cocoimg__secret *opts = NULL;
        uint8_t *out = NULL;
        size_t out_len = 0;
        bool ok = certs != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ok = (certs[i] = load_cert(argv[2 + i])) != NULL;
        if (ok) {
            struct cocoimg__pkcs7_state cfg = {.certs = certs, .n_certs = n};
            r = cocoimg__secret_dup(&opts, in, len, &err);
            if (r == 0)
                r = cocoimg__keywrap_wrap_blob(w, &cfg, opts, &out, &out_len, &err);
            if (r == 0 && fwrite(out, 1, out_len, stdout) != out_len)
                r = COCOIMG_EIO;
            r = exit_code(r, err);
        }
        for (size_t i = 0; certs && i < n; i++)
            X509_free(certs[i]);
        free(certs);
        free(out);
        cocoimg__secret_free(opts);
    } else if (strcmp(argv[1], "unwrap") == 0 && argc >= 4) {
        /* the state a decrypt config holds: the opt-in for CBC/3DES */
        struct cocoimg__pkcs7_state st = {0};
        if (strcmp(argv[2], "--allow-unauthenticated") == 0) {
            st.allow_unauthenticated = true;
            argv++;
            argc--;
        }
        if (argc != 4) {
            fprintf(stderr, "pkcs7_tool: bad arguments\n");
            free(in);
            return 1;
        }
        FILE *f = fopen(argv[2], "r");
        EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        X509 *cert = load_cert(argv[3]);
        if (key && cert) {
            cocoimg__privkey pk = {.pkey = key, .source = argv[2]};
            cocoimg__crypt_config cfg = {
                .privkeys = &pk, .n_privkeys = 1, .dec_certs = &cert, .n_dec_certs = 1};
            cocoimg__secret *out = NULL;
            r = w->unwrap(&cfg, &st, w->annotation, in, len, &out, &err);
            if (r == 0 && fwrite(out->ptr, 1, out->len, stdout) != out->len)
                r = COCOIMG_EIO;
            cocoimg__secret_free(out);
            r = exit_code(r, err);
        } else if (!key) {
            fprintf(stderr, "pkcs7_tool: cannot read private key '%s'\n", argv[2]);
        }
        EVP_PKEY_free(key);
        X509_free(cert);
    } else if (strcmp(argv[1], "describe") == 0) {
        json_t *desc = NULL;
        r = w->describe(in, len, &desc, &err);
        for (size_t i = 0; r == 0 && i < json_array_size(desc); i++)
            printf("%s\n", json_string_value(json_array_get(desc, i)));
        json_decref(desc);
        r = exit_code(r, err);
    } else {
        fprintf(stderr, "pkcs7_tool: bad arguments\n");
    }
    free(in);
    return r;
}
