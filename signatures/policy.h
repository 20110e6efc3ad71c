/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_POLICY_H
#define COCOIMG_SIGNATURES_POLICY_H

/*
 * containers-policy.json(5), parsed as strictly as containers/image does
 * (internal).
 *
 *   { "default": [REQ...],
 *     "transports": { "docker": { SCOPE: [REQ...], ... }, "oci": ..., "oci-archive": ... } }
 *
 * Unknown members, duplicate keys, empty requirement lists, contradictory
 * or missing fields and a missing "default" are errors
 * "invalid policy FILE: JSON.PATH: reason" (COCOIMG_EFORMAT); a missing file
 * is COCOIMG_ENOTFOUND.  Transports other than the three we implement are
 * ignored (containers/image ignores transports it does not know, too).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/reference.h>

#include "util/context.h"
#include "util/error.h"

typedef enum {
    COCOIMG__REQ_ACCEPT = 1, /* insecureAcceptAnything */
    COCOIMG__REQ_REJECT,     /* reject */
    COCOIMG__REQ_SIGNED_BY,  /* signedBy, keyType GPGKeys (simple signing) */
    COCOIMG__REQ_SIGSTORE,   /* sigstoreSigned (cosign) */
} cocoimg__req_type;

typedef enum {
    COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT = 0, /* the default */
    COCOIMG__ID_MATCH_EXACT,
    COCOIMG__ID_MATCH_REPOSITORY,
    COCOIMG__ID_EXACT_REFERENCE,
    COCOIMG__ID_EXACT_REPOSITORY,
    COCOIMG__ID_REMAP,
} cocoimg__id_type;

typedef struct cocoimg__identity {
    cocoimg__id_type type;
    char *reference;     /* exactReference: "host/repo:tag" or "host/repo@digest" */
    char *repository;    /* exactRepository: "host/repo" */
    char *prefix;        /* remapIdentity */
    char *signed_prefix; /* remapIdentity */
} cocoimg__identity;

/* keyPath / keyPaths / keyData (decoded) / caPath / caData ...: exactly one form, or none */
typedef struct cocoimg__key_source {
    char **paths; /* resolved as given (relative to the working directory) */
    size_t n_paths;
    /* the content of the kbs:// paths, fetched when the policy was loaded
     * (NULL entries: read the file at verification time) */
    uint8_t **blobs;
    size_t *blob_lens;
    uint8_t *data;
    size_t data_len;
    bool set;
} cocoimg__key_source;

typedef struct cocoimg__requirement {
    cocoimg__req_type type;
    cocoimg__identity identity;
    /* signedBy: the GPG keys; sigstoreSigned: the public keys (key-based) */
    cocoimg__key_source keys;
    /* sigstoreSigned */
    bool has_fulcio;
    cocoimg__key_source fulcio_ca;
    char *fulcio_oidc_issuer;
    char *fulcio_subject_email;
    cocoimg__key_source rekor_keys;
    bool has_pki;
    cocoimg__key_source pki_roots;
    cocoimg__key_source pki_intermediates;
    char *pki_subject_email;
    char *pki_subject_hostname;
    char *path; /* JSON path of this requirement, for messages */
} cocoimg__requirement;

typedef struct cocoimg__policy_reqs {
    cocoimg__requirement *v;
    size_t n;
    char *scope; /* NULL for "default" */
} cocoimg__policy_reqs;

typedef struct cocoimg__policy cocoimg__policy;

/*
 * Parse the policy file @p path (at most 4 MiB).  With @p ctx, @p path and
 * the key paths in the policy may be kbs:// resources, fetched through the
 * context's KBS (cocoimg__context_read()).
 */
int cocoimg__policy_load(cocoimg__policy **out, const cocoimg_context *ctx, const char *path,
                         cocoimg_error **err);
/* Parse @p len bytes; @p name is used in messages ("invalid policy NAME: ..."). */
int cocoimg__policy_parse(cocoimg__policy **out, const void *buf, size_t len, const char *name,
                          cocoimg_error **err);
void cocoimg__policy_free(cocoimg__policy *p);
COCOIMG_DEFINE_CLEANUP(cocoimg__policy, cocoimg__policy_free)

/*
 * The scopes a reference is looked up under, most specific first
 * (containers/image's PolicyConfigurationIdentity and ...Namespaces), as a
 * NULL-terminated malloc'd array of malloc'd strings:
 *   docker:  host/repo:tag (or @digest), host/repo, host/parent..., host[:port],
 *            *.parent.domain..., for the host without its port
 *   oci, oci-archive: REALPATH:REF, REALPATH, its parent directories (not "/")
 */
int cocoimg__policy_scopes(char ***out, const cocoimg_reference *ref, cocoimg_error **err);
void cocoimg__policy_scopes_free(char **scopes);

/*
 * The requirements for @p ref: the first scope of cocoimg__policy_scopes()
 * that the transport's section has, else its "" scope, else "default".
 * Borrowed from @p p.
 */
int cocoimg__policy_for(const cocoimg__policy_reqs **out, const cocoimg__policy *p,
                        const cocoimg_reference *ref, cocoimg_error **err);

/*
 * "host/repo[:tag][@digest]" of a docker reference (malloc'd), NULL for
 * other transports (they have no docker identity).
 */
char *cocoimg__docker_identity(const cocoimg_reference *ref);

/*
 * Does the signed identity @p signed_ref (the signature's
 * docker-reference, normalised like docker: "busybox" is
 * docker.io/library/busybox) match the image the user asked for,
 * @p intended, under @p id?  @p intended may be a non-docker reference:
 * then only exactReference/exactRepository can match.  A reason for a
 * mismatch goes to *why (static or NULL).
 */
bool cocoimg__identity_match(const cocoimg__identity *id, const cocoimg_reference *intended,
                             const char *signed_ref, const char **why);

#endif
