/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sigstore bundle v0.3 parsing and key-based verification of the DSSE
 * image signatures cosign 3 writes (see bundle.h), written from
 * sigstore/protobuf-specs (sigstore_bundle.proto, envelope.proto), the
 * DSSE protocol (PAE) and the in-toto Statement v1 specification.
 */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "signatures/bundle.h"
#include "signatures/cosign.h"
#include "signatures/sigstore.h"
#include "util/base64.h"
#include "util/json.h"

#define B64_MAX (2u * COCOIMG__BUNDLE_MAX)
#define MAX_SUBJECTS 256

void
cocoimg__bundle_clear(cocoimg__bundle *b)
{
    free(b->cert_der);
    free(b->payload_type);
    free(b->payload);
    free(b->sig);
    free(b->rekor_bundle);
    memset(b, 0, sizeof(*b));
}

static int
bad(cocoimg_error **err, const char *field, const char *why)
{
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "sigstore bundle: %s: %s", field, why);
}

/* only the members in @p allowed (NULL-terminated) */
static int
only_members(const json_t *o, const char *const *allowed, const char *what, cocoimg_error **err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "sigstore bundle: %s: unknown field '%.64s'", what, k);
    }
    return 0;
}

static int
b64_member(uint8_t **out, size_t *len, const json_t *o, const char *key, const char *what,
           cocoimg_error **err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return bad(err, what, "missing or not a string");
    size_t n = json_string_length(v);
    if (n == 0 || n > B64_MAX)
        return bad(err, what, "empty or too long");
    if (cocoimg__b64_decode(out, len, json_string_value(v), n, COCOIMG_B64_STD, what, NULL) < 0)
        return bad(err, what, "not valid base64");
    return 0;
}

/* a protobuf-JSON int64: a string of digits (or a JSON integer), >= 0 */
static int
int64_member(json_int_t *out, const json_t *o, const char *key, const char *what,
             cocoimg_error **err)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return bad(err, what, "not a non-negative integer");
    *out = (json_int_t)strtoll(s, NULL, 10);
    return 0;
}

/*
 * tlogEntries[0] into the cosign annotation form of its Rekor SET (see
 * bundle.h); entries without an inclusion promise give none.
 */
static int
parse_tlog(cocoimg__bundle *b, const json_t *entries, cocoimg_error **err)
{
    if (!entries)
        return 0;
    if (!json_is_array(entries) || json_array_size(entries) > 16)
        return bad(err, "verificationMaterial.tlogEntries", "not an array of at most 16 entries");
    if (json_array_size(entries) == 0)
        return 0;
    const json_t *e = json_array_get(entries, 0);
    static const char *const allowed[] = {
        "logIndex",         "logId",          "kindVersion",       "integratedTime",
        "inclusionPromise", "inclusionProof", "canonicalizedBody", NULL};
    if (!json_is_object(e))
        return bad(err, "tlogEntries[0]", "not an object");
    int r = only_members(e, allowed, "tlogEntries[0]", err);
    if (r < 0)
        return r;
    const json_t *ip = json_object_get(e, "inclusionPromise");
    if (!ip)
        return 0;
    json_int_t li = 0, it = 0;
    if ((r = int64_member(&li, e, "logIndex", "tlogEntries[0].logIndex", err)) < 0 ||
        (r = int64_member(&it, e, "integratedTime", "tlogEntries[0].integratedTime", err)) < 0)
        return r;
    const char *set = json_is_object(ip) ? cocoimg__json_str(ip, "signedEntryTimestamp") : NULL;
    const char *body = cocoimg__json_str(e, "canonicalizedBody");
    const json_t *lid = json_object_get(e, "logId");
    if (!set || !body || !json_is_object(lid))
        return bad(err, "tlogEntries[0]",
                   "needs inclusionPromise.signedEntryTimestamp, canonicalizedBody and logId");
    _cleanup_free_ uint8_t *kid = NULL;
    size_t kid_len = 0;
    if ((r = b64_member(&kid, &kid_len, lid, "keyId", "tlogEntries[0].logId.keyId", err)) < 0)
        return r;
    if (kid_len > 64)
        return bad(err, "tlogEntries[0].logId.keyId", "too long");
    char hex[129];
    for (size_t i = 0; i < kid_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", kid[i]);
    hex[2 * kid_len] = '\0';
    json_t *j = json_pack("{s:s, s:{s:s, s:I, s:I, s:s}}", "SignedEntryTimestamp", set, "Payload",
                          "body", body, "integratedTime", it, "logIndex", li, "logID", hex);
    if (!j)
        return cocoimg__error_oom(err);
    b->rekor_bundle = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return b->rekor_bundle ? 0 : cocoimg__error_oom(err);
}

static int
parse_material(cocoimg__bundle *b, const json_t *vm, cocoimg_error **err)
{
    static const char *const allowed[] = {"publicKey",
                                          "certificate",
                                          "x509CertificateChain",
                                          "tlogEntries",
                                          "timestampVerificationData",
                                          NULL};
    if (!json_is_object(vm))
        return bad(err, "verificationMaterial", "missing or not an object");
    int r = only_members(vm, allowed, "verificationMaterial", err);
    if (r < 0)
        return r;
    if ((r = parse_tlog(b, json_object_get(vm, "tlogEntries"), err)) < 0)
        return r;
    json_t *pk = json_object_get(vm, "publicKey");
    json_t *cert = json_object_get(vm, "certificate");
    json_t *chain = json_object_get(vm, "x509CertificateChain");
    if (!!pk + !!cert + !!chain != 1)
        return bad(err, "verificationMaterial",
                   "exactly one of publicKey, certificate, x509CertificateChain is required");
    if (pk) {
        if (!json_is_object(pk))
            return bad(err, "verificationMaterial.publicKey", "not an object");
        json_t *hint = json_object_get(pk, "hint");
        if (hint && !json_is_string(hint))
            return bad(err, "verificationMaterial.publicKey.hint", "not a string");
        return 0;
    }
    b->keyless = true;
    json_t *leaf = cert;
    if (chain) {
        json_t *certs = json_is_object(chain) ? json_object_get(chain, "certificates") : NULL;
        if (!json_is_array(certs) || json_array_size(certs) == 0)
            return bad(err, "verificationMaterial.x509CertificateChain.certificates",
                       "missing or empty");
        leaf = json_array_get(certs, 0);
    }
    if (!json_is_object(leaf))
        return bad(err, "verificationMaterial certificate", "not an object");
    return b64_member(&b->cert_der, &b->cert_len, leaf, "rawBytes",
                      "verificationMaterial certificate rawBytes", err);
}

static int
parse_dsse(cocoimg__bundle *b, const json_t *env, cocoimg_error **err)
{
    static const char *const allowed[] = {"payload", "payloadType", "signatures", NULL};
    if (!json_is_object(env))
        return bad(err, "dsseEnvelope", "not an object");
    int r = only_members(env, allowed, "dsseEnvelope", err);
    if (r < 0)
        return r;
    const char *pt = cocoimg__json_str(env, "payloadType");
    if (!pt || !*pt)
        return bad(err, "dsseEnvelope.payloadType", "missing or not a string");
    if (!(b->payload_type = strdup(pt)))
        return cocoimg__error_oom(err);
    if ((r = b64_member(&b->payload, &b->payload_len, env, "payload", "dsseEnvelope.payload",
                        err)) < 0)
        return r;
    json_t *sigs = json_object_get(env, "signatures");
    /* a bundle's envelope carries exactly one signature (protobuf-specs) */
    if (!json_is_array(sigs) || json_array_size(sigs) != 1)
        return bad(err, "dsseEnvelope.signatures", "exactly one signature is required");
    json_t *s = json_array_get(sigs, 0);
    static const char *const sallowed[] = {"sig", "keyid", NULL};
    if (!json_is_object(s))
        return bad(err, "dsseEnvelope.signatures[0]", "not an object");
    if ((r = only_members(s, sallowed, "dsseEnvelope.signatures[0]", err)) < 0)
        return r;
    json_t *kid = json_object_get(s, "keyid");
    if (kid && !json_is_string(kid))
        return bad(err, "dsseEnvelope.signatures[0].keyid", "not a string");
    return b64_member(&b->sig, &b->sig_len, s, "sig", "dsseEnvelope.signatures[0].sig", err);
}

int
cocoimg__bundle_parse(cocoimg__bundle *out, const void *buf, size_t len, cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, buf, len, COCOIMG__BUNDLE_MAX, true, "sigstore bundle", err);
    if (r < 0)
        return r;
    static const char *const allowed[] = {"mediaType", "verificationMaterial", "messageSignature",
                                          "dsseEnvelope", NULL};
    if ((r = only_members(j, allowed, "the bundle", err)) < 0)
        return r;
    const char *mt = cocoimg__json_str(j, "mediaType");
    if (!mt)
        return bad(err, "mediaType", "missing or not a string");
    if (strcmp(mt, COCOIMG__BUNDLE_MEDIA_TYPE) != 0)
        return cocoimg__error_set(
            err, COCOIMG_EFORMAT, 0,
            "sigstore bundle: media type '%.100s' is not " COCOIMG__BUNDLE_MEDIA_TYPE, mt);
    json_t *ms = json_object_get(j, "messageSignature");
    json_t *env = json_object_get(j, "dsseEnvelope");
    if (!!ms + !!env != 1)
        return bad(err, "content", "exactly one of messageSignature, dsseEnvelope is required");
    if ((r = parse_material(out, json_object_get(j, "verificationMaterial"), err)) == 0) {
        if (env) {
            out->kind = COCOIMG__BUNDLE_DSSE;
            r = parse_dsse(out, env, err);
        } else {
            out->kind = COCOIMG__BUNDLE_MESSAGE;
            if (!json_is_object(ms))
                r = bad(err, "messageSignature", "not an object");
            else
                r = b64_member(&out->sig, &out->sig_len, ms, "signature",
                               "messageSignature.signature", err);
        }
    }
    if (r < 0)
        cocoimg__bundle_clear(out);
    return r;
}

int
cocoimg__dsse_pae(uint8_t **out, size_t *out_len, const char *type, const uint8_t *payload,
                  size_t payload_len, cocoimg_error **err)
{
    size_t tl = strlen(type);
    char head[128];
    int hn = snprintf(head, sizeof(head), "DSSEv1 %zu ", tl);
    char mid[64];
    int mn = snprintf(mid, sizeof(mid), " %zu ", payload_len);
    if (hn < 0 || mn < 0 || tl > COCOIMG__BUNDLE_MAX || payload_len > B64_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "DSSE: payload too large");
    size_t n = (size_t)hn + tl + (size_t)mn + payload_len;
    uint8_t *b = malloc(n + 1);
    if (!b)
        return cocoimg__error_oom(err);
    size_t o = 0;
    memcpy(b + o, head, (size_t)hn), o += (size_t)hn;
    memcpy(b + o, type, tl), o += tl;
    memcpy(b + o, mid, (size_t)mn), o += (size_t)mn;
    if (payload_len)
        memcpy(b + o, payload, payload_len), o += payload_len;
    b[o] = '\0';
    *out = b;
    *out_len = o;
    return 0;
}

int
cocoimg__intoto_subject_match(const void *buf, size_t len, const char *want_digest,
                              cocoimg_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, buf, len, COCOIMG__BUNDLE_MAX, true, "in-toto statement", err);
    if (r < 0)
        return r;
    const char *type = cocoimg__json_str(j, "_type");
    if (!type || (strcmp(type, "https://in-toto.io/Statement/v1") != 0 &&
                  strcmp(type, "https://in-toto.io/Statement/v0.1") != 0))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "in-toto statement: _type is not an in-toto Statement v1");
    const char *pt = cocoimg__json_str(j, "predicateType");
    if (!pt || strcmp(pt, COCOIMG__COSIGN_SIGN_PREDICATE) != 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "in-toto statement: predicate type '%.100s' is not cosign's "
                                  "image signature (" COCOIMG__COSIGN_SIGN_PREDICATE ")",
                                  pt ? pt : "(none)");
    json_t *subj = json_object_get(j, "subject");
    if (!json_is_array(subj) || json_array_size(subj) == 0 || json_array_size(subj) > MAX_SUBJECTS)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "in-toto statement: subject must be a non-empty array");
    const char *colon = strchr(want_digest, ':');
    if (!colon)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "in-toto: bad digest");
    size_t al = (size_t)(colon - want_digest);
    int found = 0;
    size_t i;
    json_t *s;
    json_array_foreach(subj, i, s)
    {
        json_t *dg = json_is_object(s) ? json_object_get(s, "digest") : NULL;
        if (!json_is_object(dg))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "in-toto statement: subject[%zu].digest is not an object", i);
        const char *k;
        json_t *v;
        json_object_foreach(dg, k, v)
        {
            if (!json_is_string(v))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "in-toto statement: subject[%zu].digest.%.32s is not a "
                                          "string",
                                          i, k);
            if (strlen(k) == al && memcmp(k, want_digest, al) == 0 &&
                strcmp(json_string_value(v), colon + 1) == 0)
                found = 1;
        }
    }
    return found;
}

static int
reject(cocoimg_error **err, const char *what)
{
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", what);
}

/*
 * A keyless (or PKI) bundle: the certificate, its Rekor entry and the DSSE
 * signature over the PAE, with the fulcio or pki part of the requirement
 * (signatures/sigstore.c, as for cosign's .sig with a certificate).
 */
static int
verify_keyless(const cocoimg__requirement *rq, const cocoimg__bundle *b, cocoimg_error **err)
{
    if (!rq->has_fulcio && !rq->has_pki)
        return reject(err, "the bundle is signed with a certificate (keyless), the requirement "
                           "has only keys (keyPath, keyPaths, keyData)");
    if (b->kind != COCOIMG__BUNDLE_DSSE)
        return reject(err, "a messageSignature bundle (cosign sign-blob) signs no image statement");
    if (strcmp(b->payload_type, COCOIMG__INTOTO_PAYLOAD_TYPE) != 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "DSSE payload type '%.100s' is not " COCOIMG__INTOTO_PAYLOAD_TYPE,
                                  b->payload_type);
    const unsigned char *p = b->cert_der;
    X509 *leaf = d2i_X509(NULL, &p, (long)b->cert_len);
    if (!leaf || p != b->cert_der + b->cert_len) {
        X509_free(leaf);
        ERR_clear_error();
        return reject(err, "the bundle's certificate is not one DER X.509 certificate");
    }
    _cleanup_free_ uint8_t *pae = NULL;
    size_t pae_len = 0;
    int r = cocoimg__dsse_pae(&pae, &pae_len, b->payload_type, b->payload, b->payload_len, err);
    if (r == 0)
        r = cocoimg__sigstore_verify_cert_signature(rq, leaf, NULL, b->rekor_bundle, b->sig,
                                                    b->sig_len, pae, pae_len, b->payload,
                                                    b->payload_len, err);
    X509_free(leaf);
    return r;
}

int
cocoimg__bundle_verify(const cocoimg__requirement *rq, const cocoimg_reference *intended,
                       const uint8_t *buf, size_t len, const uint8_t *manifest, size_t manifest_len,
                       cocoimg_error **err)
{
    (void)intended;
    _cleanup_error_ cocoimg_error *perr = NULL;
    _cleanup_free_ uint8_t *pae = NULL;
    size_t pae_len = 0;
    cocoimg__bundle b;
    if (cocoimg__bundle_parse(&b, buf, len, &perr) < 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", cocoimg_error_message(perr));
    int r;
    if (b.keyless) {
        r = verify_keyless(rq, &b, err);
        if (r < 0)
            goto out;
        goto statement;
    }
    if (!rq->keys.set) {
        r = reject(err, "the bundle is signed by a public key, the requirement has no keys "
                        "(keyPath, keyPaths, keyData)");
        goto out;
    }
    if (rq->rekor_keys.set) {
        r = reject(err, "Rekor verification (rekorPublicKey*) is not supported yet");
        goto out;
    }
    if (b.kind != COCOIMG__BUNDLE_DSSE) {
        r = reject(err, "a messageSignature bundle (cosign sign-blob) signs no image statement");
        goto out;
    }
    if (strcmp(b.payload_type, COCOIMG__INTOTO_PAYLOAD_TYPE) != 0) {
        r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                               "DSSE payload type '%.100s' is not " COCOIMG__INTOTO_PAYLOAD_TYPE,
                               b.payload_type);
        goto out;
    }
    if ((r = cocoimg__dsse_pae(&pae, &pae_len, b.payload_type, b.payload, b.payload_len, err)) < 0)
        goto out;
    bool ok = false;
    if ((r = cocoimg__cosign_verify_keys(&ok, rq, pae, pae_len, b.sig, b.sig_len, err)) < 0)
        goto out;
    if (!ok) {
        r = reject(err, "the DSSE signature does not verify with the policy's keys");
        goto out;
    }
statement:; /* a label names a statement, not a declaration (C11) */
    /* signed: now the statement is trusted input, but still checked strictly */
    cocoimg__digest have;
    char hs[COCOIMG_DIGEST_STRMAX];
    if ((r = cocoimg__digest_buffer(&have, COCOIMG_DIGEST_SHA256, manifest, manifest_len, err)) < 0)
        goto out;
    cocoimg__digest_format(&have, hs);
    r = cocoimg__intoto_subject_match(b.payload, b.payload_len, hs, &perr);
    if (r < 0) {
        r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", cocoimg_error_message(perr));
        goto out;
    }
    if (r == 0) {
        r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                               "the signed statement's subject is not manifest %s", hs);
        goto out;
    }
    switch (rq->identity.type) {
    case COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT:
    case COCOIMG__ID_MATCH_EXACT:
    case COCOIMG__ID_MATCH_REPOSITORY:
        r = 0;
        break;
    default:
        r = reject(err, "the bundle signs no docker reference, so signedIdentity exactReference, "
                        "exactRepository and remapIdentity cannot be satisfied");
        break;
    }
out:
    cocoimg__bundle_clear(&b);
    return r;
}
