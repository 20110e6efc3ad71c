/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cosign signing: key files (see cosign_sign.h), payload, signature and
 * the .sig attachment, written from sigstore/sigstore pkg/cryptoutils,
 * go-securesystemslib encrypted and cosign's attachment layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cocoimg/policy.h>

#include "oci/model.h"
#include "pipeline/reader.h"
#include "registry/registry.h"
#include "registry/settings.h"
#include "signatures/cosign.h"
#include "signatures/cosign_sign.h"
#include "transport/transport.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/secret.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)
COCOIMG_DEFINE_CLEANUP(EVP_PKEY, EVP_PKEY_free)
COCOIMG_DEFINE_CLEANUP(BIO, BIO_free)

#define SIMPLESIGNING_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define KEY_LABEL "ENCRYPTED SIGSTORE PRIVATE KEY"
#define KEY_LABEL_OLD "ENCRYPTED COSIGN PRIVATE KEY"
#define SALT_LEN 32
#define SCRYPT_MAXMEM (256ull << 20)

static int
wrong_passphrase(cocoimg_error **err)
{
    return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                              "sigstore private key: wrong passphrase or corrupted key");
}

static int
scrypt_key(cocoimg__secret *key, const char *pass, const uint8_t *salt, size_t salt_len, uint64_t n,
           uint32_t r, uint32_t p, cocoimg_error **err)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!kc)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "scrypt is not available in OpenSSL");
    uint64_t maxmem = SCRYPT_MAXMEM + (1u << 20);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, strlen(pass)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end()};
    int ok = EVP_KDF_derive(kc, key->ptr, key->len, params) == 1;
    EVP_KDF_CTX_free(kc);
    if (!ok)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "scrypt failed");
    return 0;
}

static int
sodium_ready(cocoimg_error **err)
{
    if (sodium_init() < 0)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "libsodium failed to initialise");
    return 0;
}

/* a Go []byte member of @p obj decoded into *out (malloc'd) */
static int
get_bytes(uint8_t **out, size_t *len, json_t *obj, const char *key, cocoimg_error **err)
{
    const char *s = cocoimg__json_str(obj, key);
    if (!s)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: '%s' is missing or not a string", key);
    return cocoimg__b64_decode(out, len, s, strlen(s), COCOIMG_B64_STD, key, err);
}

static int
param_int(json_int_t *out, json_t *params, const char *key, json_int_t max, cocoimg_error **err)
{
    json_t *v = json_object_get(params, key);
    if (!json_is_integer(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: kdf.params.%s is not an integer", key);
    json_int_t x = json_integer_value(v);
    if (x < 1 || x > max)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "sigstore private key: kdf.params.%s is out of range", key);
    *out = x;
    return 0;
}

static int
pkey_from_der(EVP_PKEY **out, const uint8_t *der, size_t len, cocoimg_error **err)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (!k)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: the key is not PKCS#8");
    *out = k;
    return 0;
}

static int
decrypt_key(EVP_PKEY **out, const uint8_t *json, size_t len, const char *pass, cocoimg_error **err)
{
    _cleanup_(json_decrefp) json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, json, len, 1u << 16, true, "sigstore private key", err);
    if (r < 0)
        return r;
    json_t *kdf = json_object_get(j, "kdf"), *cipher = json_object_get(j, "cipher");
    json_t *params = json_object_get(kdf, "params");
    if (!json_is_object(kdf) || !json_is_object(cipher) || !json_is_object(params))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: kdf, kdf.params or cipher missing");
    const char *kn = cocoimg__json_str(kdf, "name"), *cn = cocoimg__json_str(cipher, "name");
    if (!kn || strcmp(kn, "scrypt") != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "sigstore private key: the kdf is not scrypt");
    if (!cn || strcmp(cn, "nacl/secretbox") != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "sigstore private key: the cipher is not nacl/secretbox");
    json_int_t n, rr, p;
    if ((r = param_int(&n, params, "N", 1 << 20, err)) < 0 ||
        (r = param_int(&rr, params, "r", 32, err)) < 0 ||
        (r = param_int(&p, params, "p", 16, err)) < 0)
        return r;
    if (n < 2 || (n & (n - 1)) != 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: kdf.params.N is not a power of two");
    if (128ull * (uint64_t)n * (uint64_t)rr > SCRYPT_MAXMEM)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "sigstore private key: scrypt needs more than 256 MiB");
    _cleanup_free_ uint8_t *salt = NULL, *nonce = NULL, *ct = NULL;
    size_t salt_len, nonce_len, ct_len;
    if ((r = get_bytes(&salt, &salt_len, kdf, "salt", err)) < 0 ||
        (r = get_bytes(&nonce, &nonce_len, cipher, "nonce", err)) < 0 ||
        (r = get_bytes(&ct, &ct_len, j, "ciphertext", err)) < 0)
        return r;
    if (nonce_len != crypto_secretbox_NONCEBYTES || ct_len <= crypto_secretbox_MACBYTES ||
        salt_len == 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: bad nonce, salt or ciphertext length");
    if (!pass)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                  "sigstore private key: the key is encrypted and needs a "
                                  "passphrase");
    if ((r = sodium_ready(err)) < 0)
        return r;
    _cleanup_secret_ cocoimg__secret *key = NULL, *der = NULL;
    if ((r = cocoimg__secret_new(&key, crypto_secretbox_KEYBYTES, err)) < 0 ||
        (r = cocoimg__secret_new(&der, ct_len - crypto_secretbox_MACBYTES, err)) < 0)
        return r;
    if ((r = scrypt_key(key, pass, salt, salt_len, (uint64_t)n, (uint32_t)rr, (uint32_t)p, err)) <
        0)
        return r;
    if (crypto_secretbox_open_easy(der->ptr, ct, ct_len, nonce, key->ptr) != 0)
        return wrong_passphrase(err);
    _cleanup_error_ cocoimg_error *kerr = NULL;
    if (pkey_from_der(out, der->ptr, der->len, &kerr) < 0)
        return wrong_passphrase(err);
    return 0;
}

int
cocoimg__sigstore_key_load(EVP_PKEY **out, const uint8_t *buf, size_t len, const char *pass,
                           cocoimg_error **err)
{
    *out = NULL;
    if (len > INT32_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "sigstore private key too large");
    _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(buf, (int)len);
    if (!b)
        return cocoimg__error_oom(err);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    if (PEM_read_bio(b, &name, &header, &data, &dlen) != 1) {
        ERR_clear_error();
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "sigstore private key: no PEM block in the file");
    }
    int r;
    EVP_PKEY *k = NULL;
    if (strcmp(name, KEY_LABEL) == 0 || strcmp(name, KEY_LABEL_OLD) == 0) {
        r = decrypt_key(&k, data, (size_t)dlen, pass, err);
    } else if (strcmp(name, "PRIVATE KEY") == 0) {
        r = pkey_from_der(&k, data, (size_t)dlen, err);
    } else {
        /* traditional "EC PRIVATE KEY", "RSA PRIVATE KEY": OpenSSL's PEM reader */
        _cleanup_(BIO_freep) BIO *b2 = BIO_new_mem_buf(buf, (int)len);
        k = b2 ? PEM_read_bio_PrivateKey(b2, NULL, NULL, (void *)"") : NULL;
        ERR_clear_error();
        r = k ? 0
              : cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                   "sigstore private key: unsupported PEM block '%.60s'", name);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_clear_free(data, (size_t)dlen);
    if (r < 0)
        return r;
    int id = EVP_PKEY_get_base_id(k);
    if (id != EVP_PKEY_EC && id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "sigstore private key: only ECDSA, RSA and Ed25519 keys sign");
    }
    *out = k;
    return 0;
}

int
cocoimg__sigstore_key_encrypt(char **out, EVP_PKEY *k, const char *pass, cocoimg_error **err)
{
    *out = NULL;
    int r = sodium_ready(err);
    if (r < 0)
        return r;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
    int dlen = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    _cleanup_secret_ cocoimg__secret *der = NULL, *key = NULL;
    if (dlen <= 0 || (r = cocoimg__secret_new(&der, (size_t)dlen, err)) < 0) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        return dlen <= 0 ? cocoimg__error_set(err, COCOIMG_ERROR, 0, "PKCS#8 encoding failed") : r;
    }
    unsigned char *w = der->ptr;
    i2d_PKCS8_PRIV_KEY_INFO(p8, &w);
    PKCS8_PRIV_KEY_INFO_free(p8);
    uint8_t salt[SALT_LEN], nonce[crypto_secretbox_NONCEBYTES];
    if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "no random bytes");
    if ((r = cocoimg__secret_new(&key, crypto_secretbox_KEYBYTES, err)) < 0 ||
        (r = scrypt_key(key, pass, salt, sizeof(salt), 65536, 8, 1, err)) < 0)
        return r;
    size_t ct_len = der->len + crypto_secretbox_MACBYTES;
    _cleanup_free_ uint8_t *ct = malloc(ct_len);
    if (!ct)
        return cocoimg__error_oom(err);
    crypto_secretbox_easy(ct, der->ptr, der->len, nonce, key->ptr);
    _cleanup_free_ char *s_salt = NULL, *s_nonce = NULL, *s_ct = NULL;
    if ((r = cocoimg__b64_encode(&s_salt, salt, sizeof(salt), COCOIMG_B64_STD, err)) < 0 ||
        (r = cocoimg__b64_encode(&s_nonce, nonce, sizeof(nonce), COCOIMG_B64_STD, err)) < 0 ||
        (r = cocoimg__b64_encode(&s_ct, ct, ct_len, COCOIMG_B64_STD, err)) < 0)
        return r;
    _cleanup_(json_decrefp) json_t *j =
        json_pack("{s:{s:s,s:{s:i,s:i,s:i},s:s},s:{s:s,s:s},s:s}", "kdf", "name", "scrypt",
                  "params", "N", 65536, "r", 8, "p", 1, "salt", s_salt, "cipher", "name",
                  "nacl/secretbox", "nonce", s_nonce, "ciphertext", s_ct);
    _cleanup_free_ char *js = NULL;
    size_t jlen = 0;
    if (!j || (r = cocoimg__json_dump(&js, &jlen, j, err)) < 0)
        return j ? r : cocoimg__error_oom(err);
    _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long mlen;
    if (!b || PEM_write_bio(b, KEY_LABEL, "", (unsigned char *)js, (long)jlen) <= 0 ||
        (mlen = BIO_get_mem_data(b, &mem)) <= 0)
        return cocoimg__error_oom(err);
    if (!(*out = strndup(mem, (size_t)mlen)))
        return cocoimg__error_oom(err);
    return 0;
}

int
cocoimg__cosign_payload_make(char **out, size_t *len, const char *manifest_digest,
                             const char *docker_reference, cocoimg_error **err)
{
    _cleanup_(json_decrefp) json_t *j =
        json_pack("{s:{s:{s:s},s:{s:s},s:s},s:n}", "critical", "identity", "docker-reference",
                  docker_reference, "image", "docker-manifest-digest", manifest_digest, "type",
                  "cosign container image signature", "optional");
    if (!j)
        return cocoimg__error_oom(err);
    return cocoimg__json_dump(out, len, j, err);
}

int
cocoimg__cosign_sign_raw(uint8_t **sig, size_t *sig_len, EVP_PKEY *k, const void *msg,
                         size_t msg_len, cocoimg_error **err)
{
    *sig = NULL;
    const EVP_MD *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t n = 0;
    int ok = c && EVP_DigestSignInit(c, NULL, md, NULL, k) == 1 &&
             EVP_DigestSign(c, NULL, &n, msg, msg_len) == 1;
    uint8_t *buf = ok ? malloc(n) : NULL;
    ok = buf && EVP_DigestSign(c, buf, &n, msg, msg_len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) {
        free(buf);
        ERR_clear_error();
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "cosign: signing failed");
    }
    *sig = buf;
    *sig_len = n;
    return 0;
}

/* ------------------------------------------------------------------------ */

static int
push_mem(cocoimg__dest *d, const void *buf, size_t len, cocoimg__digest *dg, cocoimg_error **err)
{
    int r = cocoimg__digest_buffer(dg, COCOIMG_DIGEST_SHA256, buf, len, err);
    cocoimg__reader *rd = NULL;
    if (r == 0)
        r = cocoimg__reader_mem(&rd, buf, len, err);
    if (r == 0)
        r = cocoimg__dest_put_blob(d, rd, dg, (int64_t)len, NULL, NULL, err);
    return r;
}

/*
 * The layers of an existing attachment (a new empty array when there is
 * none), read with the destination's registry settings.
 */
static int
existing_layers(json_t **out, const cocoimg_context *ctx, const cocoimg_reference *sref,
                cocoimg_error **err)
{
    *out = NULL;
    const struct cocoimg__registry_settings *rs =
        cocoimg__registry_settings_get(ctx, COCOIMG_SIDE_DST);
    struct cocoimg__registry_options o = {
        .username = rs->username,
        .password = rs->password,
        .authfile = rs->authfile,
        .cert_dir = rs->cert_dir,
        .insecure = rs->insecure,
        .stall_timeout_s = rs->stall_timeout,
    };
    _cleanup_registry_ cocoimg__registry *reg = NULL;
    int r = cocoimg__registry_new(&reg, ctx, cocoimg_reference_registry(sref), &o, err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__registry_manifest_freep) cocoimg__registry_manifest *rm = NULL;
    _cleanup_error_ cocoimg_error *merr = NULL;
    r = cocoimg__registry_get_manifest(&rm, reg, cocoimg_reference_repository(sref),
                                       cocoimg_reference_tag(sref), &merr);
    if (r == COCOIMG_ENOTFOUND) {
        *out = json_array();
        return *out ? 0 : cocoimg__error_oom(err);
    }
    if (r < 0) {
        if (err && !*err)
            *err = TAKE_PTR(merr);
        return r;
    }
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    if ((r = cocoimg__manifest_parse(&m, rm->data, rm->len, rm->media_type, err)) < 0)
        return r;
    json_t *a = json_array();
    if (!a)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < m->n_layers; i++)
        if (json_array_append(a, m->layers[i].json) < 0) {
            json_decref(a);
            return cocoimg__error_oom(err);
        }
    *out = a;
    return 0;
}

int
cocoimg__cosign_attach(const cocoimg_context *ctx, const cocoimg_reference *dst,
                       const cocoimg__digest *digest, const void *payload, size_t payload_len,
                       const uint8_t *sig, size_t sig_len, cocoimg_error **err)
{
    char hex[129];
    cocoimg__digest_hex(digest, hex);
    _cleanup_free_ char *s = NULL;
    if (asprintf(&s, "docker://%s/%s:%s-%s.sig", cocoimg_reference_registry(dst),
                 cocoimg_reference_repository(dst), cocoimg__digest_alg_name(digest->alg), hex) < 0)
        return cocoimg__error_oom(err);
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *sref = NULL;
    int r = cocoimg_reference_parse(&sref, s, err);
    if (r < 0)
        return r;
    _cleanup_(json_decrefp) json_t *layers = NULL;
    if ((r = existing_layers(&layers, ctx, sref, err)) < 0)
        return cocoimg__error_wrap(err, r, "cosign: the existing signatures");
    _cleanup_free_ char *sig64 = NULL;
    if ((r = cocoimg__b64_encode(&sig64, sig, sig_len, COCOIMG_B64_STD, err)) < 0)
        return r;
    cocoimg__digest pd, cd;
    if ((r = cocoimg__digest_buffer(&pd, COCOIMG_DIGEST_SHA256, payload, payload_len, err)) < 0)
        return r;
    char pds[COCOIMG_DIGEST_STRMAX], cds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&pd, pds);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *ld = cocoimg__json_str(l, "digest");
        json_t *ann = json_object_get(l, "annotations");
        const char *ls = json_is_object(ann) ? cocoimg__json_str(ann, ANN_SIGNATURE) : NULL;
        if (ld && ls && strcmp(ld, pds) == 0 && strcmp(ls, sig64) == 0)
            return 0; /* this signature is already attached */
    }
    if (json_array_size(layers) >= COCOIMG__COSIGN_MAX_SIGNATURES)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "cosign: %s has too many signatures",
                                  s + 9);
    json_t *nl =
        json_pack("{s:s,s:I,s:s,s:{s:s}}", "mediaType", SIMPLESIGNING_TYPE, "size",
                  (json_int_t)payload_len, "digest", pds, "annotations", ANN_SIGNATURE, sig64);
    if (!nl || json_array_append_new(layers, nl) < 0)
        return cocoimg__error_oom(err);
    /* the config lists every layer as a diff ID, as cosign writes it */
    json_t *diff_ids = json_array();
    json_array_foreach(layers, i, l)
    {
        json_t *ld = json_object_get(l, "digest");
        if (!diff_ids || !json_is_string(ld) || json_array_append(diff_ids, ld) < 0) {
            json_decref(diff_ids);
            return cocoimg__error_oom(err);
        }
    }
    _cleanup_(json_decrefp) json_t *cfg =
        json_pack("{s:s,s:s,s:[{s:s}],s:s,s:{s:s,s:o},s:{}}", "architecture", "", "created",
                  "0001-01-01T00:00:00Z", "history", "created", "0001-01-01T00:00:00Z", "os", "",
                  "rootfs", "type", "layers", "diff_ids", diff_ids, "config");
    _cleanup_free_ char *cbuf = NULL;
    size_t clen = 0;
    if (!cfg || (r = cocoimg__json_dump(&cbuf, &clen, cfg, err)) < 0)
        return cfg ? r : cocoimg__error_oom(err);
    _cleanup_dest_ cocoimg__dest *d = NULL;
    if ((r = cocoimg__dest_open(&d, ctx, sref, err)) < 0)
        return cocoimg__error_wrap(err, r, "cosign: %s", s + 9);
    if ((r = push_mem(d, payload, payload_len, &pd, err)) < 0 ||
        (r = push_mem(d, cbuf, clen, &cd, err)) < 0)
        return cocoimg__error_wrap(err, r, "cosign: pushing the signature");
    cocoimg__digest_format(&cd, cds);
    _cleanup_(json_decrefp) json_t *man = json_pack(
        "{s:i,s:s,s:{s:s,s:I,s:s},s:O}", "schemaVersion", 2, "mediaType", OCI_MANIFEST, "config",
        "mediaType", OCI_CONFIG, "size", (json_int_t)clen, "digest", cds, "layers", layers);
    _cleanup_free_ char *mbuf = NULL;
    size_t mlen = 0;
    if (!man || (r = cocoimg__json_dump(&mbuf, &mlen, man, err)) < 0)
        return man ? r : cocoimg__error_oom(err);
    if ((r = cocoimg__dest_commit(d, (const uint8_t *)mbuf, mlen, OCI_MANIFEST, err)) < 0)
        return cocoimg__error_wrap(err, r, "cosign: pushing the signature manifest");
    return 0;
}

/* ------------------------------------------------------------------------ */

static int
write_new(const char *path, mode_t mode, const void *buf, size_t len, cocoimg_error **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "cannot create %s", path);
    int r = cocoimg__write_all(fd, buf, len, err);
    if (r == 0 && fsync(fd) < 0)
        r = cocoimg__error_set(err, COCOIMG_EIO, errno, "writing %s", path);
    if (close(fd) < 0 && r == 0)
        r = cocoimg__error_set(err, COCOIMG_EIO, errno, "writing %s", path);
    if (r < 0)
        unlink(path);
    return r;
}

COCOIMG_EXTERN(int)
cocoimg_generate_sigstore_key(const char *output_prefix, const char *passphrase,
                              cocoimg_error **err)
{
    if (!output_prefix || !*output_prefix || !passphrase)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "generate-sigstore-key: a prefix and a passphrase are needed");
    _cleanup_free_ char *kpath = NULL, *ppath = NULL;
    if (asprintf(&kpath, "%s.key", output_prefix) < 0 ||
        asprintf(&ppath, "%s.pub", output_prefix) < 0)
        return cocoimg__error_oom(err);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "generating a P-256 key failed");
    _cleanup_free_ char *pem = NULL;
    int r = cocoimg__sigstore_key_encrypt(&pem, k, passphrase, err);
    if (r < 0)
        return r;
    _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long mlen;
    if (!b || PEM_write_bio_PUBKEY(b, k) != 1 || (mlen = BIO_get_mem_data(b, &mem)) <= 0)
        return cocoimg__error_oom(err);
    if ((r = write_new(kpath, 0600, pem, strlen(pem), err)) < 0)
        return r;
    if ((r = write_new(ppath, 0644, mem, (size_t)mlen, err)) < 0) {
        unlink(kpath);
        return r;
    }
    return 0;
}
