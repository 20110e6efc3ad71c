/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Simple signing verification (containers-signature(5); containers/image
 * signature/simple.go and mechanism_gpgme.go semantics, written from the
 * documentation).
 *
 * GPGME verifies the OpenPGP message in a home that holds exactly the keys
 * of the requirement; the signature is accepted only if GPGME reports one
 * signature, fully good (no error status, not expired or revoked, usable
 * key, validity not "never"), made by one of the imported primary keys or
 * by a signing subkey of one (upstream containers/image accepts subkeys
 * since 2025).  Then the payload is parsed strictly and its digest and
 * identity checked.  The payload output is bounded.
 */
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>
#include <fcntl.h>
#include <gpgme.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpg/gpg.h"
#include "oci/digest.h"
#include "signatures/simple.h"
#include "util/fs.h"
#include "util/json.h"

#define SIMPLE_MAX_PAYLOAD (1u << 20)
#define SIMPLE_MAX_KEYS 256

/* ------------------------------------------------------------------------ */
/* payload                                                                   */

void
cocoimg__simple_payload_clear(cocoimg__simple_payload *p)
{
    free(p->manifest_digest);
    free(p->docker_reference);
    free(p->creator);
    memset(p, 0, sizeof(*p));
}

/* One parser for both payload formats; they differ only in the type and the optional part. */
static const struct payload_kind {
    const char *prefix;    /* for messages */
    const char *type;      /* critical.type */
    bool optional_null_ok; /* cosign writes "optional": null */
    bool check_optional;   /* creator / timestamp typed (simple signing) */
} payload_kinds[] = {
    [COCOIMG__PAYLOAD_SIMPLE] = {"signature payload", "atomic container signature", false, true},
    [COCOIMG__PAYLOAD_COSIGN] = {"cosign payload", "cosign container image signature", true, false},
};

/* @p obj has exactly the members @p names (NULL-terminated), all present */
static bool
exact_members(const json_t *obj, const char *const *names)
{
    if (!json_is_object(obj))
        return false;
    size_t n = 0;
    for (; names[n]; n++)
        if (!json_object_get(obj, names[n]))
            return false;
    return json_object_size(obj) == n;
}

static const char *
exact_string(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

int
cocoimg__payload_parse(cocoimg__simple_payload *out, const void *buf, size_t len,
                       cocoimg__payload_kind kind, cocoimg_error **err)
{
    const struct payload_kind *k = &payload_kinds[kind];
    memset(out, 0, sizeof(*out));
#define BAD(msg) cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: %s", k->prefix, msg)
    _cleanup_json_ json_t *root = NULL;
    _cleanup_error_ cocoimg_error *jerr = NULL;
    if (cocoimg__json_loadb(&root, buf, len, SIMPLE_MAX_PAYLOAD, true, "payload", &jerr) < 0)
        return BAD("not a JSON object");
    static const char *const top[] = {"critical", "optional", NULL};
    static const char *const crit[] = {"type", "image", "identity", NULL};
    static const char *const img[] = {"docker-manifest-digest", NULL};
    static const char *const idn[] = {"docker-reference", NULL};
    if (!exact_members(root, top))
        return BAD("must have exactly the members critical and optional");
    json_t *c = json_object_get(root, "critical");
    if (!exact_members(c, crit))
        return BAD("critical must have exactly the members type, image and identity");
    const char *type = exact_string(c, "type");
    if (!type || strcmp(type, k->type) != 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: critical.type is not \"%s\"",
                                  k->prefix, k->type);
    json_t *im = json_object_get(c, "image"), *id = json_object_get(c, "identity");
    if (!exact_members(im, img))
        return BAD("critical.image must have exactly the member docker-manifest-digest");
    if (!exact_members(id, idn))
        return BAD("critical.identity must have exactly the member docker-reference");
    const char *dg = exact_string(im, "docker-manifest-digest");
    const char *ref = exact_string(id, "docker-reference");
    if (!dg || !ref)
        return BAD("critical.image / critical.identity values must be strings");
    cocoimg__digest d;
    if (cocoimg__digest_parse(&d, dg, NULL) < 0)
        return BAD("critical.image.docker-manifest-digest is not a valid digest");
    json_t *o = json_object_get(root, "optional");
    if (!json_is_object(o) && !(k->optional_null_ok && json_is_null(o)))
        return BAD("optional is not an object");
    json_t *cr = NULL, *ts = NULL;
    if (k->check_optional) {
        cr = json_object_get(o, "creator");
        ts = json_object_get(o, "timestamp");
        if (cr && !exact_string(o, "creator"))
            return BAD("optional.creator is not a string");
        if (ts && !json_is_integer(ts))
            return BAD("optional.timestamp is not an integer");
    }
#undef BAD
    if (!(out->manifest_digest = strdup(dg)) || !(out->docker_reference = strdup(ref)) ||
        (cr && !(out->creator = strdup(json_string_value(cr))))) {
        cocoimg__simple_payload_clear(out);
        return cocoimg__error_oom(err);
    }
    out->timestamp = ts ? (int64_t)json_integer_value(ts) : 0;
    return 0;
}

int
cocoimg__simple_payload_parse(cocoimg__simple_payload *out, const void *buf, size_t len,
                              cocoimg_error **err)
{
    return cocoimg__payload_parse(out, buf, len, COCOIMG__PAYLOAD_SIMPLE, err);
}

int
cocoimg__simple_payload_make(char **out, size_t *len, const char *manifest_digest,
                             const char *docker_reference, cocoimg_error **err)
{
    json_t *p =
        json_pack("{s:{s:s,s:{s:s},s:{s:s}},s:{s:s,s:I}}", "critical", "type",
                  "atomic container signature", "image", "docker-manifest-digest", manifest_digest,
                  "identity", "docker-reference", docker_reference, "optional", "creator",
                  "coco-img " PACKAGE_VERSION, "timestamp", (json_int_t)time(NULL));
    if (!p)
        return cocoimg__error_oom(err);
    int r = cocoimg__json_dump(out, len, p, err);
    json_decref(p);
    return r;
}

/* ------------------------------------------------------------------------ */
/* keys                                                                      */

struct cocoimg__simple_keys {
    struct cocoimg__gpg_home *home;
    char **fprs; /* primary fingerprints imported */
    size_t n_fprs;
};

void
cocoimg__simple_keys_free(cocoimg__simple_keys *k)
{
    if (!k)
        return;
    cocoimg__gpg_home_free(k->home);
    for (size_t i = 0; i < k->n_fprs; i++)
        free(k->fprs[i]);
    free(k->fprs);
    free(k);
}

static int
import_one(cocoimg__simple_keys *k, const void *buf, size_t len, const char *name,
           cocoimg_error **err)
{
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    int r = cocoimg__gpg_home_ctx(&ctx, k->home, err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t data = NULL;
    if (gpgme_data_new_from_mem(&data, buf, len, 0))
        return cocoimg__error_oom(err);
    gpgme_error_t e = gpgme_op_import(ctx, data);
    gpgme_import_result_t res = e ? NULL : gpgme_op_import_result(ctx);
    size_t found = 0;
    for (gpgme_import_status_t s = res ? res->imports : NULL; s; s = s->next) {
        if (s->result || !s->fpr)
            continue;
        found++;
        bool dup = false;
        for (size_t i = 0; i < k->n_fprs; i++)
            if (strcmp(k->fprs[i], s->fpr) == 0)
                dup = true;
        if (dup)
            continue;
        if (k->n_fprs >= SIMPLE_MAX_KEYS)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "signedBy keys: too many keys");
        char **nv = realloc(k->fprs, (k->n_fprs + 1) * sizeof(char *));
        if (!nv)
            return cocoimg__error_oom(err);
        k->fprs = nv;
        if (!(k->fprs[k->n_fprs] = strdup(s->fpr)))
            return cocoimg__error_oom(err);
        k->n_fprs++;
    }
    if (!found || !res || res->secret_imported || res->secret_read)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "signedBy key %s: no OpenPGP public key in it", name);
    return 0;
}

int
cocoimg__simple_keys_new(cocoimg__simple_keys **out, const cocoimg__key_source *src,
                         const char *tmpdir, cocoimg_error **err)
{
    _cleanup_(cocoimg__simple_keys_freep) cocoimg__simple_keys *k = calloc(1, sizeof(*k));
    if (!k)
        return cocoimg__error_oom(err);
    int r = cocoimg__gpg_home_new(&k->home, tmpdir, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < src->n_paths; i++) {
        if (src->blobs && src->blobs[i]) { /* a kbs:// key, fetched with the policy */
            if ((r = import_one(k, src->blobs[i], src->blob_lens[i], src->paths[i], err)) < 0)
                return r;
            continue;
        }
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        if ((r = cocoimg__read_file(&buf, &len, AT_FDCWD, src->paths[i], 16u << 20, err)) < 0)
            return cocoimg__error_wrap(err, r, "signedBy key %s", src->paths[i]);
        if ((r = import_one(k, buf, len, src->paths[i], err)) < 0)
            return r;
    }
    if (src->data && (r = import_one(k, src->data, src->data_len, "keyData", err)) < 0)
        return r;
    *out = TAKE_PTR(k);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* verification                                                              */

struct bounded {
    char *buf;
    size_t len, cap;
};

static gpgme_ssize_t
bounded_write(void *h, const void *buf, size_t size)
{
    struct bounded *b = h;
    if (size > SIMPLE_MAX_PAYLOAD - b->len) {
        errno = EFBIG;
        return -1;
    }
    if (b->len + size > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + size)
            cap *= 2;
        char *nb = realloc(b->buf, cap + 1);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, buf, size);
    b->len += size;
    return (gpgme_ssize_t)size;
}

static int __attribute__((format(printf, 2, 3))) reject(cocoimg_error **err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", msg);
}

static bool
key_accepted(const cocoimg__simple_keys *k, gpgme_ctx_t ctx, const char *sig_fpr)
{
    for (size_t i = 0; i < k->n_fprs; i++)
        if (strcasecmp(k->fprs[i], sig_fpr) == 0)
            return true;
    /* a subkey of an accepted primary key */
    gpgme_key_t key = NULL;
    if (gpgme_get_key(ctx, sig_fpr, &key, 0) || !key)
        return false;
    bool ok = false;
    if (key->subkeys && key->subkeys->fpr)
        for (size_t i = 0; i < k->n_fprs; i++)
            if (strcasecmp(k->fprs[i], key->subkeys->fpr) == 0)
                ok = true;
    if (ok) {
        /* and the signing subkey is one of this key's subkeys, usable for signing */
        ok = false;
        for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
            if (sk->fpr && strcasecmp(sk->fpr, sig_fpr) == 0 && sk->can_sign && !sk->revoked &&
                !sk->expired && !sk->disabled && !sk->invalid)
                ok = true;
    }
    gpgme_key_unref(key);
    return ok;
}

int
cocoimg__simple_verify(const cocoimg__simple_keys *keys, const cocoimg__requirement *req,
                       const cocoimg_reference *intended, const void *sig, size_t sig_len,
                       const uint8_t *manifest, size_t manifest_len, char fpr_out[41],
                       cocoimg_error **err)
{
    if (sig_len == 0 || sig_len > COCOIMG__SIMPLE_MAX_SIGNATURE)
        return reject(err, "the signature is empty or too large");
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    int r = cocoimg__gpg_home_ctx(&ctx, keys->home, err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t in = NULL;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t plain = NULL;
    struct bounded b = {0};
    struct gpgme_data_cbs cbs = {.write = bounded_write};
    if (gpgme_data_new_from_mem(&in, sig, sig_len, 0) ||
        gpgme_data_new_from_cbs(&plain, &cbs, &b)) {
        free(b.buf);
        return cocoimg__error_oom(err);
    }
    gpgme_error_t e = gpgme_op_verify(ctx, in, NULL, plain);
    gpgme_verify_result_t res = e ? NULL : gpgme_op_verify_result(ctx);
    _cleanup_free_ char *payload = b.buf;
    if (e || !res)
        return reject(err, "the signature is not a valid OpenPGP signed message");
    gpgme_signature_t s = res->signatures;
    if (!s)
        return reject(err, "the OpenPGP message is not signed");
    if (s->next)
        return reject(err, "the OpenPGP message has more than one signature");
    if (gpgme_err_code(s->status) == GPG_ERR_NO_PUBKEY)
        return reject(err, "not signed by a key of the policy");
    if (gpgme_err_code(s->status) == GPG_ERR_KEY_EXPIRED || (s->summary & GPGME_SIGSUM_KEY_EXPIRED))
        return reject(err, "signed by an expired key %s", s->fpr);
    if (gpgme_err_code(s->status) == GPG_ERR_CERT_REVOKED ||
        (s->summary & GPGME_SIGSUM_KEY_REVOKED))
        return reject(err, "signed by a revoked key %s", s->fpr);
    if (gpgme_err_code(s->status) == GPG_ERR_SIG_EXPIRED || (s->summary & GPGME_SIGSUM_SIG_EXPIRED))
        return reject(err, "the signature has expired");
    if (s->status || s->validity == GPGME_VALIDITY_NEVER || s->validity_reason ||
        s->wrong_key_usage || (s->summary & (GPGME_SIGSUM_RED | GPGME_SIGSUM_KEY_MISSING)) ||
        !s->fpr)
        return reject(err, "the OpenPGP signature is not valid");
    if (!key_accepted(keys, ctx, s->fpr))
        return reject(err, "signed by key %s, which the policy does not trust", s->fpr);
    if (!payload)
        return reject(err, "the signature has an empty payload");
    payload[b.len] = '\0';
    cocoimg__simple_payload p;
    _cleanup_error_ cocoimg_error *perr = NULL;
    if (cocoimg__simple_payload_parse(&p, payload, b.len, &perr) < 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", cocoimg_error_message(perr));
    cocoimg__digest want, have;
    r = cocoimg__digest_parse(&want, p.manifest_digest, NULL);
    if (r == 0)
        r = cocoimg__digest_buffer(&have, want.alg, manifest, manifest_len, err);
    if (r < 0) {
        cocoimg__simple_payload_clear(&p);
        return r;
    }
    if (!cocoimg__digest_equal(&want, &have)) {
        r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                               "the signature is for manifest %s, not for this one",
                               p.manifest_digest);
        cocoimg__simple_payload_clear(&p);
        return r;
    }
    const char *why = NULL;
    if (!cocoimg__identity_match(&req->identity, intended, p.docker_reference, &why)) {
        r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "signed identity %.300s: %s",
                               p.docker_reference, why ? why : "does not match");
        cocoimg__simple_payload_clear(&p);
        return r;
    }
    cocoimg__simple_payload_clear(&p);
    if (fpr_out)
        snprintf(fpr_out, 41, "%s", s->fpr);
    return 0;
}
