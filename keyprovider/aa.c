/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "attestation-agent" key provider, natively (spec section 3.4, what
 * CoCo's coco_keyprovider writes and CDH reads): a layer's private options
 * are sealed with AES-256-GCM under a key-encryption key (KEK) that lives
 * in the KBS as resource `kid`; the annotation packet is
 *   {"kid":"kbs:///R/T/G","wrapped_data":B64(ct||tag),"iv":B64(12),"wrap_type":"A256GCM"}
 * (v2 adds "version":"0.1.0" and "provider":"kbs", accepted).
 *
 * unwrap: parse the packet, fetch the KEK through the caller's KBS client
 * (one attestation per client), open, wipe.  A KBS refusal reaches the
 * caller as the KBS said it; a packet or GCM failure is one uniform error
 * that quotes nothing.
 * wrap (for building images): params "keyid=kbs:///R/T/G::keypath=FILE"
 * (FILE holds the 32-byte KEK, registered in the KBS by its operator).
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/crypt.h>
#include <cocoimg/kbs.h>

#include "kbs_int.h"
#include "kp_int.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/secret.h"

#define AA_NAME "attestation-agent"
#define AA_PACKET_MAX (64u * 1024)
#define AA_OPTS_MAX (16u * 1024)

static int
unwrap_fail(cocoimg_error **err)
{
    /* no detail: the wrapped data and what it decrypts to are secret */
    return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                              "attestation-agent: cannot unwrap the layer key with the KBS key");
}

/* "kbs:///r/t/g", "kbs://host/r/t/g" (the authority is ignored, as CDH does) */
static int
kid_uri(char **out, const char *kid, cocoimg_error **err)
{
    const char *path = NULL;
    if (strncmp(kid, "kbs:///", 7) == 0)
        path = kid + 7;
    else if (strncmp(kid, "kbs://", 6) == 0 && strchr(kid + 6, '/'))
        path = strchr(kid + 6, '/') + 1;
    if (!path || !*path)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "attestation-agent: the key id is not a kbs:// resource URI");
    if (asprintf(out, "kbs:///%s", path) < 0)
        return cocoimg__error_oom(err);
    return 0;
}

static int
gcm(bool enc, uint8_t *out, const uint8_t *key, const uint8_t iv[12], const uint8_t *in, size_t len,
    uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c && (enc ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv)
                              : EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv)) == 1;
    if (ok && len > INT32_MAX)
        ok = 0;
    if (ok)
        ok = (enc ? EVP_EncryptUpdate(c, out, &n, in, (int)len)
                  : EVP_DecryptUpdate(c, out, &n, in, (int)len)) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    int f = 0;
    if (ok)
        ok = (enc ? EVP_EncryptFinal_ex(c, out + n, &f) : EVP_DecryptFinal_ex(c, out + n, &f)) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

void
cocoimg__aa_packet_clear(struct cocoimg__aa_packet *pk)
{
    free(pk->uri);
    free(pk->ct);
    memset(pk, 0, sizeof(*pk));
}

int
cocoimg__aa_packet_parse(struct cocoimg__aa_packet *pk, const uint8_t *wrapped, size_t wrapped_len,
                         cocoimg_error **err)
{
    memset(pk, 0, sizeof(*pk));
    _cleanup_json_ json_t *p = NULL;
    if (wrapped_len > AA_PACKET_MAX ||
        cocoimg__json_loadb(&p, wrapped, wrapped_len, AA_PACKET_MAX, true, "packet", NULL) < 0)
        return unwrap_fail(err);
    const char *kid = cocoimg__json_str(p, "kid"), *wd = cocoimg__json_str(p, "wrapped_data"),
               *iv64 = cocoimg__json_str(p, "iv"), *wt = cocoimg__json_str(p, "wrap_type"),
               *ver = cocoimg__json_str(p, "version"), *prov = cocoimg__json_str(p, "provider");
    if (!kid || !wd || !iv64 || !wt || strcmp(wt, "A256GCM") != 0 ||
        (json_object_get(p, "version") && (!ver || strcmp(ver, "0.1.0") != 0)) ||
        (json_object_get(p, "provider") && (!prov || strcmp(prov, "kbs") != 0)))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "attestation-agent: unsupported annotation packet (needs kid, "
                                  "wrapped_data, iv, wrap_type A256GCM; provider kbs)");
    int r = kid_uri(&pk->uri, kid, err);
    if (r < 0)
        return r;
    _cleanup_free_ uint8_t *iv = NULL;
    size_t iv_len = 0;
    if (cocoimg__b64_decode(&pk->ct, &pk->ct_len, wd, strlen(wd), COCOIMG_B64_STD, "w", NULL) < 0 ||
        cocoimg__b64_decode(&iv, &iv_len, iv64, strlen(iv64), COCOIMG_B64_STD, "iv", NULL) < 0 ||
        iv_len != 12 || pk->ct_len < 16 || pk->ct_len - 16 > AA_OPTS_MAX) {
        cocoimg__aa_packet_clear(pk);
        return unwrap_fail(err);
    }
    memcpy(pk->iv, iv, 12);
    return 0;
}

int
cocoimg__aa_packet_open(uint8_t **out, size_t *out_len, const struct cocoimg__aa_packet *pk,
                        const uint8_t *kek, size_t kek_len, cocoimg_error **err)
{
    if (kek_len != 32) /* the same answer as a wrong key: the length of a resource is not told */
        return unwrap_fail(err);
    size_t n = pk->ct_len - 16;
    uint8_t *pt = malloc(n + 1);
    if (!pt)
        return cocoimg__error_oom(err);
    uint8_t tag[16];
    memcpy(tag, pk->ct + n, 16);
    if (gcm(false, pt, kek, pk->iv, pk->ct, n, tag) < 0) {
        cocoimg__wipe(pt, n);
        free(pt);
        return unwrap_fail(err);
    }
    *out = pt;
    *out_len = n;
    return 0;
}

int
cocoimg__aa_unwrap(uint8_t **out, size_t *out_len, const uint8_t *wrapped, size_t wrapped_len,
                   cocoimg_kbs *kbs, cocoimg_error **err)
{
    if (!kbs)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                                  "attestation-agent: no KBS to fetch the key from (--kbs-url)");
    struct cocoimg__aa_packet pk;
    int r = cocoimg__aa_packet_parse(&pk, wrapped, wrapped_len, err);
    if (r < 0)
        return r;
    uint8_t *kek = NULL;
    size_t kek_len = 0;
    if ((r = cocoimg__kbs_get_key(&kek, &kek_len, kbs, pk.uri, err)) < 0) {
        r = cocoimg__error_wrap(err, r, "attestation-agent: key %s", pk.uri);
        cocoimg__aa_packet_clear(&pk);
        return r;
    }
    r = cocoimg__aa_packet_open(out, out_len, &pk, kek, kek_len, err);
    cocoimg_kbs_resource_free(kek, kek_len);
    cocoimg__aa_packet_clear(&pk);
    return r;
}

static int
aa_unwrap(uint8_t **out, size_t *out_len, const char *provider, const uint8_t *wrapped,
          size_t wrapped_len, cocoimg_error **err, void *payload)
{
    if (strcmp(provider, AA_NAME) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                                  "no key provider '%.64s' is configured (attestation-agent "
                                  "through --kbs-url; others through OCICRYPT_KEYPROVIDER_CONFIG)",
                                  provider);
    return cocoimg__aa_unwrap(out, out_len, wrapped, wrapped_len, payload, err);
}

/* "keyid=...[::keypath=...][::algorithm=A256GCM]" */
int
cocoimg__aa_wrap(uint8_t **out, size_t *out_len, const char *params, const uint8_t *optsdata,
                 size_t optsdata_len, cocoimg_kbs *kbs, cocoimg_error **err)
{
    _cleanup_free_ char *dup = params ? strdup(params) : NULL;
    if (!dup)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "provider:attestation-agent needs keyid=kbs:///R/T/G::"
                                  "keypath=KEK-FILE");
    const char *keyid = NULL, *keypath = NULL;
    for (char *s = dup, *next; s; s = next) {
        next = strstr(s, "::");
        if (next) {
            *next = '\0';
            next += 2;
        }
        if (strncmp(s, "keyid=", 6) == 0)
            keyid = s + 6;
        else if (strncmp(s, "keypath=", 8) == 0)
            keypath = s + 8;
        else if (strncmp(s, "algorithm=", 10) == 0 && strcmp(s + 10, "A256GCM") != 0)
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "attestation-agent: only algorithm=A256GCM");
        else if (strncmp(s, "algorithm=", 10) != 0)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "attestation-agent: unknown parameter (keyid, keypath, "
                                      "algorithm)");
    }
    if (!keyid || (!keypath && !kbs))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "provider:attestation-agent needs keyid=kbs:///R/T/G::"
                                  "keypath=KEK-FILE (the KEK registered in the KBS)");
    _cleanup_free_ char *uri = NULL;
    int r = kid_uri(&uri, keyid, err);
    if (r < 0)
        return r;
    uint8_t *kek = NULL;
    size_t kek_len = 0;
    if (keypath) {
        _cleanup_error_ cocoimg_error *ferr = NULL;
        if (cocoimg__read_file(&kek, &kek_len, AT_FDCWD, keypath, 64, &ferr) < 0 || kek_len != 32) {
            if (kek) {
                cocoimg__wipe(kek, kek_len);
                free(kek);
            }
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "attestation-agent: keypath %s must be a readable file of "
                                      "exactly 32 bytes",
                                      keypath);
        }
    } else {
        /* the KEK the KBS holds for keyid (its operator registered it) */
        if ((r = cocoimg__kbs_get_key(&kek, &kek_len, kbs, uri, err)) < 0)
            return cocoimg__error_wrap(err, r, "attestation-agent: key %s", uri);
        if (kek_len != 32) {
            cocoimg_kbs_resource_free(kek, kek_len);
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "attestation-agent: the KBS resource %s is not a 32-byte "
                                      "key",
                                      uri);
        }
    }
    uint8_t iv[12], tag[16];
    _cleanup_free_ uint8_t *ct = malloc(optsdata_len + 16);
    if (!ct || RAND_bytes(iv, sizeof(iv)) != 1 ||
        gcm(true, ct, kek, iv, optsdata, optsdata_len, tag) < 0) {
        cocoimg__wipe(kek, kek_len);
        free(kek);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "attestation-agent: AES-GCM failed");
    }
    cocoimg__wipe(kek, kek_len);
    free(kek);
    memcpy(ct + optsdata_len, tag, 16);
    _cleanup_free_ char *wd = NULL, *iv64 = NULL;
    if ((r = cocoimg__b64_encode(&wd, ct, optsdata_len + 16, COCOIMG_B64_STD, err)) < 0 ||
        (r = cocoimg__b64_encode(&iv64, iv, sizeof(iv), COCOIMG_B64_STD, err)) < 0)
        return r;
    json_t *p = json_pack("{s:s,s:s,s:s,s:s}", "kid", uri, "wrapped_data", wd, "iv", iv64,
                          "wrap_type", "A256GCM");
    if (!p)
        return cocoimg__error_oom(err);
    char *s = NULL;
    size_t len = 0;
    r = cocoimg__json_dump(&s, &len, p, err);
    json_decref(p);
    if (r < 0)
        return r;
    *out = (uint8_t *)s;
    *out_len = len;
    return 0;
}

static int
aa_wrap(uint8_t **out, size_t *out_len, const char *provider, const char *params,
        const uint8_t *optsdata, size_t optsdata_len, cocoimg_error **err, void *payload)
{
    (void)payload; /* encrypt takes the KEK from keypath */
    if (strcmp(provider, AA_NAME) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "no key provider '%.64s' for encrypt",
                                  provider);
    return cocoimg__aa_wrap(out, out_len, params, optsdata, optsdata_len, NULL, err);
}

int
cocoimg_kbs_keyprovider_init(cocoimg_keyprovider *out, cocoimg_kbs *kbs)
{
    if (!out)
        return COCOIMG_EINVAL;
    memset(out, 0, sizeof(*out));
    out->version = COCOIMG_KEYPROVIDER_VERSION;
    out->wrap = aa_wrap;
    out->unwrap = aa_unwrap;
    out->payload = kbs;
    return 0;
}
