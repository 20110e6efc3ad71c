/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_TESTS_OCIVECTORS_H
#define COCOIMG_TESTS_OCIVECTORS_H

/*
 * Access to the shared ocicrypt vectors ($OCI_VECTORS = tests/vectors/ocicrypt)
 * for the key-wrapper tests: decoded annotation blobs and expected privopts.
 */

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *
vec_dir(void)
{
    static char dir[4096];
    const char *shared = getenv("OCI_VECTORS");
    snprintf(dir, sizeof(dir), "%s", shared ? shared : "tests/vectors/ocicrypt");
    return dir;
}

static inline char *
vec_path(const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", vec_dir(), rel) < 0)
        return NULL;
    return p;
}

static inline json_t *
vec_json(const char *rel)
{
    char *p = vec_path(rel);
    json_t *j = p ? json_load_file(p, 0, NULL) : NULL;
    free(p);
    return j;
}

/* Blob @p idx of annotation keys.<scheme> of @p layout layer @p layer (malloc'd). */
static inline uint8_t *
vec_blob(const char *layout, size_t layer, const char *scheme, size_t idx, size_t *len)
{
    json_t *d = vec_json("decoded/annotations-decoded.json");
    char key[128];
    snprintf(key, sizeof(key), "org.opencontainers.image.enc.keys.%s", scheme);
    json_t *l = json_array_get(json_object_get(json_object_get(d, layout), "layers"), layer);
    const char *hex = json_string_value(
        json_object_get(json_array_get(json_object_get(l, key), idx), "der_or_binary_hex"));
    uint8_t *out = NULL;
    long n = 0;
    if (hex)
        out = OPENSSL_hexstr2buf(hex, &n);
    json_decref(d);
    if (!out)
        return NULL;
    uint8_t *copy = malloc((size_t)n ? (size_t)n : 1);
    if (copy)
        memcpy(copy, out, (size_t)n);
    OPENSSL_free(out);
    *len = (size_t)n;
    return copy;
}

/* The expected privopts of @p layout layer @p layer (malloc'd string). */
static inline char *
vec_privopts(const char *layout, size_t layer)
{
    json_t *d = vec_json("expected.json");
    const char *s = json_string_value(
        json_object_get(json_array_get(json_object_get(d, layout), layer), "privopts"));
    char *out = s ? strdup(s) : NULL;
    json_decref(d);
    return out;
}

static inline EVP_PKEY *
vec_privkey(const char *rel)
{
    char *p = vec_path(rel);
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static inline X509 *
vec_cert(const char *rel)
{
    char *p = vec_path(rel);
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    if (!f)
        return NULL;
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return c;
}

#endif
