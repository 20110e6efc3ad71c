/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenPGP key wrapper (ocicrypt "pgp", spec 6.3) through GPGME.
 *
 * wrap: one binary (non-armored) OpenPGP message to all the state's recipients,
 * keys looked up in the keyring of the state's homedir (GnuPG's default when
 * NULL), trusted unconditionally as ocicrypt does, no compression, no
 * default encrypt-to keys.  Recipient strings match like ocicrypt (exact
 * e-mail address or exact display name of a user ID) or, in addition, a key
 * ID / fingerprint (hex, optional 0x).  The result is checked to be PKESK
 * packets followed by a SEIPD v1 packet: a GnuPG >= 2.3 that picked an
 * OCB/AEAD packet (unreadable by every ocicrypt) is refused.
 *
 * unwrap: gpgme_op_decrypt with the secret keys of that keyring.  No
 * pinentry ever: loopback mode with a passphrase callback that refuses, so a
 * protected key fails with a clear error instead of prompting.  The output is
 * collected in a bounded, wiped buffer (a compressed message cannot blow it
 * up).
 *
 * describe: the PKESK key IDs, read by the small bounded packet parser below
 * (no keys, no gpg needed).
 *
 * Every call uses its own gpgme context (gpg/) bound to the configured home
 * directory.  Keyrings given as keys go into a private home of gpg/ whose
 * agent is stopped and which is removed with the state.
 */
#include <errno.h>
#include <gpgme.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypt/keys.h"
#include "crypt/keywrap.h"
#include "gpg/gpg.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/secret.h"

#define PGP_MAX_BLOB (1u << 20)
#define PGP_MAX_PKESK 256
/* privopts are ~200 bytes; anything near this is not ours */
#define PGP_MAX_PLAINTEXT (64u * 1024)
#define PGP_MAX_RECIPIENT_KEYS 256

/* ------------------------------------------------------------------------ */
/* packet scanner                                                            */

struct pgp_pkesk {
    unsigned version;
    uint64_t keyid; /* v3 only */
    unsigned algo;
};

struct pgp_scan {
    struct pgp_pkesk pkesk[PGP_MAX_PKESK];
    size_t n_pkesk;
    size_t n_skesk;
    unsigned data_tag; /* first packet that is not a session key (0: none) */
};

static bool
is_data_tag(unsigned tag)
{
    /* SED, SEIPD, AEAD (LibrePGP OCB), compressed, literal */
    return tag == 9 || tag == 18 || tag == 20 || tag == 8 || tag == 11;
}

/*
 * Walk the packets up to the first data packet.  Only the session key
 * packets are decoded; everything is bounds-checked against @p len.
 */
static int
pgp_scan(struct pgp_scan *s, const uint8_t *p, size_t len, cocoimg_error **err)
{
    memset(s, 0, sizeof(*s));
    if (len > PGP_MAX_BLOB)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pgp: message of %zu bytes is too large",
                                  len);
    size_t off = 0;
    while (off < len) {
        uint8_t b = p[off];
        unsigned tag;
        size_t hlen, blen;
        bool partial = false;
        size_t rem = len - off;
        if (!(b & 0x80))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "pgp: not an OpenPGP packet at offset %zu", off);
        if (b & 0x40) {
            tag = b & 0x3f;
            if (rem < 2)
                goto truncated;
            uint8_t l0 = p[off + 1];
            if (l0 < 192) {
                hlen = 2;
                blen = l0;
            } else if (l0 < 224) {
                if (rem < 3)
                    goto truncated;
                hlen = 3;
                blen = ((size_t)(l0 - 192) << 8) + p[off + 2] + 192;
            } else if (l0 == 255) {
                if (rem < 6)
                    goto truncated;
                hlen = 6;
                blen = ((size_t)p[off + 2] << 24) | ((size_t)p[off + 3] << 16) |
                       ((size_t)p[off + 4] << 8) | p[off + 5];
            } else {
                hlen = 2;
                blen = 0;
                partial = true;
            }
        } else {
            tag = (b >> 2) & 0x0f;
            switch (b & 3) {
            case 0:
                hlen = 2;
                break;
            case 1:
                hlen = 3;
                break;
            case 2:
                hlen = 5;
                break;
            default:
                hlen = 1;
                break;
            }
            if (rem < hlen)
                goto truncated;
            if ((b & 3) == 3) {
                blen = rem - 1; /* indeterminate: to the end */
            } else {
                blen = 0;
                for (size_t i = 1; i < hlen; i++)
                    blen = (blen << 8) | p[off + i];
            }
        }
        if (tag == 0)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "pgp: reserved packet tag 0");
        if (is_data_tag(tag)) {
            s->data_tag = tag;
            return 0; /* the rest is gpg's business */
        }
        if (partial)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "pgp: partial length on packet tag %u", tag);
        if (blen > rem - hlen)
            goto truncated;
        const uint8_t *body = p + off + hlen;
        if (tag == 1) {
            if (s->n_pkesk == PGP_MAX_PKESK)
                return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pgp: more than %d recipients",
                                          PGP_MAX_PKESK);
            struct pgp_pkesk *k = &s->pkesk[s->n_pkesk];
            if (blen < 1)
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "pgp: empty PKESK packet");
            k->version = body[0];
            if (k->version == 3) {
                if (blen < 10)
                    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                              "pgp: short PKESK v3 packet");
                for (size_t i = 0; i < 8; i++)
                    k->keyid = (k->keyid << 8) | body[1 + i];
                k->algo = body[9];
            }
            s->n_pkesk++;
        } else if (tag == 3) {
            s->n_skesk++;
        }
        off += hlen + blen;
    }
    return 0;
truncated:
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "pgp: truncated packet at offset %zu", off);
}

static int
pgp_describe(const uint8_t *blob, size_t len, json_t **out, cocoimg_error **err)
{
    _cleanup_free_ struct pgp_scan *s = malloc(sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    int r = pgp_scan(s, blob, len, err);
    if (r < 0)
        return r;
    json_t *arr = json_array();
    if (!arr)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < s->n_pkesk + s->n_skesk; i++) {
        char buf[64];
        if (i >= s->n_pkesk)
            snprintf(buf, sizeof(buf), "passphrase (SKESK)");
        else if (s->pkesk[i].version != 3)
            snprintf(buf, sizeof(buf), "PKESK v%u (unsupported)", s->pkesk[i].version);
        else if (s->pkesk[i].keyid == 0)
            snprintf(buf, sizeof(buf), "kid 0000000000000000 (anonymous recipient)");
        else
            snprintf(buf, sizeof(buf), "kid %016llX", (unsigned long long)s->pkesk[i].keyid);
        if (json_array_append_new(arr, json_string(buf)) < 0) {
            json_decref(arr);
            return cocoimg__error_oom(err);
        }
    }
    *out = arr;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* GnuPG homes (gpg/)                                                        */

static int
gpg_fail(cocoimg_error **err, int code, gpgme_error_t e, const char *what)
{
    return cocoimg__error_set(err, code, 0, "pgp: %s: %s", what, gpgme_strerror(e));
}

static int
pgp_import_keyring(struct cocoimg__pgp_state *cfg, const uint8_t *buf, size_t len, const char *name,
                   cocoimg_error **err)
{
    int r;
    if (!cfg->keyring_home && (r = cocoimg__gpg_home_new(&cfg->keyring_home, NULL, err)) < 0)
        return r;
    size_t n_secret = 0;
    if ((r = cocoimg__gpg_home_import(cfg->keyring_home, buf, len, NULL, &n_secret, err)) < 0)
        return r;
    if (n_secret == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "pgp: '%s' holds no OpenPGP secret key",
                                  name);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* wrap                                                                      */

/* "0x"-optional hex of 8, 16 or 40 digits */
static bool
looks_like_keyid(const char *s, const char **hex)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strlen(s);
    if (n != 8 && n != 16 && n != 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    *hex = s;
    return true;
}

static bool
hex_suffix(const char *full, const char *hex)
{
    if (!full)
        return false;
    size_t a = strlen(full), b = strlen(hex);
    return a >= b && strcasecmp(full + a - b, hex) == 0;
}

static bool
key_matches(gpgme_key_t key, const char *want)
{
    const char *hex;
    if (looks_like_keyid(want, &hex)) {
        for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
            if (hex_suffix(sk->fpr, hex) || hex_suffix(sk->keyid, hex))
                return true;
    }
    /* ocicrypt: exact (case-sensitive) e-mail address or display name */
    for (gpgme_user_id_t u = key->uids; u; u = u->next) {
        if (u->revoked || u->invalid)
            continue;
        if ((u->email && strcmp(u->email, want) == 0) || (u->name && strcmp(u->name, want) == 0))
            return true;
    }
    return false;
}

struct keylist {
    gpgme_key_t keys[PGP_MAX_RECIPIENT_KEYS + 1]; /* NULL-terminated */
    size_t n;
};

static void
keylist_free(struct keylist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        gpgme_key_unref(l->keys[i]);
    free(l);
}
COCOIMG_DEFINE_CLEANUP(struct keylist, keylist_free)

static int
find_recipient(gpgme_ctx_t ctx, struct keylist *l, const char *want, cocoimg_error **err)
{
    gpgme_error_t e = gpgme_op_keylist_start(ctx, want, 0);
    if (e)
        return gpg_fail(err, COCOIMG_ERROR, e, "key listing failed");
    size_t found = 0;
    int r = 0;
    gpgme_key_t key;
    while (!(e = gpgme_op_keylist_next(ctx, &key))) {
        bool usable =
            !key->revoked && !key->expired && !key->disabled && !key->invalid && key->can_encrypt;
        bool dup = false;
        for (size_t i = 0; i < l->n && !dup; i++)
            dup = l->keys[i]->fpr && key->fpr && strcmp(l->keys[i]->fpr, key->fpr) == 0;
        if (!usable || !key_matches(key, want)) {
            gpgme_key_unref(key);
            continue;
        }
        found++;
        if (dup) {
            gpgme_key_unref(key);
        } else if (l->n == PGP_MAX_RECIPIENT_KEYS) {
            gpgme_key_unref(key);
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pgp: too many recipient keys");
        } else {
            l->keys[l->n++] = key;
        }
    }
    gpgme_op_keylist_end(ctx);
    if (r < 0)
        return r;
    if (gpg_err_code(e) != GPG_ERR_EOF)
        return gpg_fail(err, COCOIMG_ERROR, e, "key listing failed");
    if (!found)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0,
                                  "pgp: no usable encryption key found for recipient '%s'", want);
    return 0;
}

static int
pgp_wrap_blob(const struct cocoimg__pgp_state *cfg, const cocoimg__secret *opts, uint8_t **out,
              size_t *out_len, cocoimg_error **err)
{
    if (!cfg || cfg->n_recipients == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "pgp: no recipients");
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    int r = cocoimg__gpg_ctx_new(&ctx, cfg->homedir, NULL, err);
    if (r < 0)
        return r;
    _cleanup_(keylist_freep) struct keylist *l = calloc(1, sizeof(*l));
    if (!l)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        r = find_recipient(ctx, l, cfg->recipients[i], err);
        if (r < 0)
            return r;
    }

    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t plain = NULL;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t cipher = NULL;
    gpgme_error_t e;
    if ((e = gpgme_data_new_from_mem(&plain, (const char *)opts->ptr, opts->len, 0)) ||
        (e = gpgme_data_new(&cipher)))
        return gpg_fail(err, COCOIMG_ENOMEM, e, "cannot create data buffers");
    e = gpgme_op_encrypt(ctx, l->keys,
                         GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_ENCRYPT_TO |
                             GPGME_ENCRYPT_NO_COMPRESS,
                         plain, cipher);
    gpgme_encrypt_result_t res = gpgme_op_encrypt_result(ctx);
    if (res && res->invalid_recipients)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "pgp: invalid recipient key %s: %s",
                                  res->invalid_recipients->fpr ? res->invalid_recipients->fpr : "?",
                                  gpgme_strerror(res->invalid_recipients->reason));
    if (e)
        return gpg_fail(err, COCOIMG_ERROR, e, "encryption failed");

    size_t n = 0;
    char *mem = gpgme_data_release_and_get_mem(TAKE_PTR(cipher), &n);
    if (!mem)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "pgp: encryption produced no output");
    _cleanup_free_ struct pgp_scan *s = malloc(sizeof(*s));
    uint8_t *buf = s && n ? malloc(n) : NULL;
    if (buf)
        memcpy(buf, mem, n);
    gpgme_free(mem);
    if (!buf)
        return s && !n ? cocoimg__error_set(err, COCOIMG_ERROR, 0, "pgp: empty output")
                       : cocoimg__error_oom(err);
    r = pgp_scan(s, buf, n, err);
    if (r == 0 && (s->data_tag != 18 || s->n_pkesk == 0))
        r = cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                               "pgp: gpg wrote packet tag %u, not PKESK + SEIPD v1 (an AEAD/OCB "
                               "message cannot be read by ocicrypt)",
                               s->data_tag);
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* unwrap                                                                    */

/* A write-only, bounded, wiped-on-grow sink for the decrypted privopts. */
struct sink {
    uint8_t *buf;
    size_t len, cap;
    bool overflow;
};

static gpgme_ssize_t
sink_write(void *handle, const void *data, size_t size)
{
    struct sink *s = handle;
    if (size > PGP_MAX_PLAINTEXT - s->len) {
        s->overflow = true;
        errno = EFBIG;
        return -1;
    }
    if (s->len + size > s->cap) {
        size_t cap = s->cap ? s->cap : 512;
        while (cap < s->len + size)
            cap *= 2;
        uint8_t *nb = malloc(cap);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        if (s->len)
            memcpy(nb, s->buf, s->len);
        if (s->buf) {
            OPENSSL_cleanse(s->buf, s->cap);
            free(s->buf);
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, size);
    s->len += size;
    return (gpgme_ssize_t)size;
}

static int unwrap_home(const char *homedir, const struct pgp_scan *scan, const uint8_t *blob,
                       size_t len, cocoimg__secret **out, cocoimg_error **err);

static int
pgp_wrap(const void *state, const cocoimg__secret *opts, json_t *annotations, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    int r = pgp_wrap_blob(state, opts, &blob, &len, err);
    if (r < 0)
        return r;
    return cocoimg__keywrap_append(annotations, cocoimg__keywrap_pgp.annotation, blob, len, err);
}

static int
pgp_unwrap(const cocoimg__crypt_config *c, const void *state, const char *annotation,
           const uint8_t *blob, size_t len, cocoimg__secret **out, cocoimg_error **err)
{
    (void)c;
    (void)annotation;
    static const struct cocoimg__pgp_state none = {0};
    const struct cocoimg__pgp_state *cfg = state ? state : &none;
    _cleanup_free_ struct pgp_scan *scan = malloc(sizeof(*scan));
    if (!scan)
        return cocoimg__error_oom(err);
    int r = pgp_scan(scan, blob, len, err);
    if (r < 0)
        return r;
    if (scan->data_tag != 9 && scan->data_tag != 18 && scan->data_tag != 20)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "pgp: not an encrypted message");
    if (scan->n_pkesk == 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "pgp: message has no public-key recipients");
    if (!cfg->decrypt && !cfg->keyring_home)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0, "pgp: GnuPG decryption not enabled");
    /* keyrings given as keys first, then the user's GnuPG home */
    if (cfg->keyring_home) {
        cocoimg_error *e1 = NULL;
        r = unwrap_home(cocoimg__gpg_home_dir(cfg->keyring_home), scan, blob, len, out, &e1);
        if (r != COCOIMG_ENOKEY || !cfg->decrypt) {
            if (r < 0 && err && !*err)
                *err = e1;
            else
                cocoimg_error_free(e1);
            return r;
        }
        cocoimg_error_free(e1);
    }
    return unwrap_home(cfg->homedir, scan, blob, len, out, err);
}

static int
unwrap_home(const char *homedir, const struct pgp_scan *scan, const uint8_t *blob, size_t len,
            cocoimg__secret **out, cocoimg_error **err)
{
    int r;
    bool asked = false;
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    r = cocoimg__gpg_ctx_new(&ctx, homedir, &asked, err);
    if (r < 0)
        return r;
    struct sink sink = {0};
    struct gpgme_data_cbs cbs = {.write = sink_write};
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t cipher = NULL;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t plain = NULL;
    gpgme_error_t e;
    if ((e = gpgme_data_new_from_mem(&cipher, (const char *)blob, len, 0)) ||
        (e = gpgme_data_new_from_cbs(&plain, &cbs, &sink)))
        return gpg_fail(err, COCOIMG_ENOMEM, e, "cannot create data buffers");

    e = gpgme_op_decrypt(ctx, cipher, plain);
    gpgme_decrypt_result_t res = gpgme_op_decrypt_result(ctx);
    bool any_seckey = false;
    for (gpgme_recipient_t rc = res ? res->recipients : NULL; rc; rc = rc->next)
        if (gpg_err_code(rc->status) != GPG_ERR_NO_SECKEY)
            any_seckey = true;
    gpgme_err_code_t code = gpg_err_code(e);
    if (sink.overflow)
        r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pgp: decrypted options exceed %u bytes",
                               PGP_MAX_PLAINTEXT);
    else if (asked)
        r = cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                               "pgp: the secret key needs a passphrase (not supported; remove "
                               "the protection or use gpg-agent's cache)");
    else if (code == GPG_ERR_NO_ERROR && res && res->unsupported_algorithm)
        r = cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "pgp: unsupported algorithm %s",
                               res->unsupported_algorithm);
    else if (code == GPG_ERR_NO_ERROR && res && res->legacy_cipher_nomdc)
        r = cocoimg__error_set(err, COCOIMG_EAUTH, 0, "pgp: message is not integrity protected");
    else if (code == GPG_ERR_NO_ERROR)
        r = cocoimg__secret_dup(out, sink.buf, sink.len, err);
    else if (code == GPG_ERR_NO_SECKEY || (code == GPG_ERR_DECRYPT_FAILED && !any_seckey))
        r = cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                               "pgp: no secret key for any of the %zu recipients", scan->n_pkesk);
    else if (code == GPG_ERR_DECRYPT_FAILED || code == GPG_ERR_BAD_SIGNATURE ||
             code == GPG_ERR_CHECKSUM || code == GPG_ERR_BAD_KEY)
        r = gpg_fail(err, COCOIMG_EAUTH, e, "decryption failed");
    else if (code == GPG_ERR_UNSUPPORTED_ALGORITHM || code == GPG_ERR_CIPHER_ALGO ||
             code == GPG_ERR_PUBKEY_ALGO)
        r = gpg_fail(err, COCOIMG_ENOTSUP, e, "decryption failed");
    else if (code == GPG_ERR_NO_DATA || code == GPG_ERR_BAD_DATA || code == GPG_ERR_INV_PACKET ||
             code == GPG_ERR_INV_DATA)
        r = gpg_fail(err, COCOIMG_EFORMAT, e, "decryption failed");
    else
        r = gpg_fail(err, COCOIMG_ERROR, e, "decryption failed");
    if (sink.buf) {
        OPENSSL_cleanse(sink.buf, sink.cap);
        free(sink.buf);
    }
    return r;
}

/* ------------------------------------------------------------------------ */

static int
pgp_state_new(void **out, cocoimg_error **err)
{
    *out = calloc(1, sizeof(struct cocoimg__pgp_state));
    return *out ? 0 : cocoimg__error_oom(err);
}

static void
pgp_state_free(void *state)
{
    struct cocoimg__pgp_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_recipients; i++)
        free(st->recipients[i]);
    free(st->recipients);
    free(st->homedir);
    cocoimg__gpg_home_free(st->keyring_home);
    free(st);
}

int
cocoimg__pgp_state_configure(void *state, const char *homedir, bool decrypt, cocoimg_error **err)
{
    struct cocoimg__pgp_state *st = state;
    free(st->homedir);
    st->homedir = NULL;
    if (homedir && !(st->homedir = strdup(homedir)))
        return cocoimg__error_oom(err);
    st->decrypt = decrypt;
    return 0;
}

/* "pgp:EMAIL-OR-KEYID" */
static int
pgp_add_recipient(void *state, const char *value, cocoimg_error **err)
{
    struct cocoimg__pgp_state *st = state;
    char **np = realloc(st->recipients, (st->n_recipients + 1) * sizeof(*np));
    if (!np)
        return cocoimg__error_oom(err);
    st->recipients = np;
    if (!(np[st->n_recipients] = strdup(value)))
        return cocoimg__error_oom(err);
    st->n_recipients++;
    return 0;
}

/* skopeo takes OpenPGP secret keyrings as decryption keys */
static int
pgp_accept_key(void *state, const uint8_t *buf, size_t len, const char *name, cocoimg_error **err)
{
    if (!cocoimg__key_is_openpgp(buf, len))
        return 0;
    int r = pgp_import_keyring(state, buf, len, name, err);
    return r < 0 ? r : 1;
}

static bool
pgp_has_recipients(const void *state)
{
    const struct cocoimg__pgp_state *st = state;
    return st && st->n_recipients > 0;
}

static bool
pgp_has_keys(const cocoimg__crypt_config *cfg, const void *state)
{
    (void)cfg;
    const struct cocoimg__pgp_state *st = state;
    return st && (st->decrypt || st->keyring_home);
}

const struct cocoimg__keywrapper cocoimg__keywrap_pgp = {
    .id = COCOIMG__KW_pgp,
    .scheme = "pgp",
    .annotation = COCOIMG_ENC_KEYS_PREFIX "pgp",
    .state_new = pgp_state_new,
    .state_free = pgp_state_free,
    .add_recipient = pgp_add_recipient,
    .accept_key = pgp_accept_key,
    .has_recipients = pgp_has_recipients,
    .has_keys = pgp_has_keys,
    .wrap = pgp_wrap,
    .unwrap = pgp_unwrap,
    .describe = pgp_describe,
};
