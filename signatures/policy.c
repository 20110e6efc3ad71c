/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containers-policy.json(5): parser, scope lookup and signed-identity
 * matching, with containers/image's semantics (signature/policy_config.go,
 * policy_reference_match.go; docker and oci transports' policy scopes).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signatures/policy.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

#define POLICY_MAX_SIZE (4u * 1024 * 1024)

struct scope_entry {
    char *scope;
    cocoimg__policy_reqs reqs;
};

struct transport_section {
    bool present;
    struct scope_entry *v;
    size_t n;
};

enum { T_DOCKER, T_OCI, T_OCI_ARCHIVE, T_COUNT };
static const char *const transport_names[T_COUNT] = {"docker", "oci", "oci-archive"};

struct cocoimg__policy {
    cocoimg__policy_reqs def;
    struct transport_section t[T_COUNT];
};

/* ------------------------------------------------------------------------ */
/* freeing                                                                   */

static void
key_source_clear(cocoimg__key_source *k)
{
    for (size_t i = 0; i < k->n_paths; i++) {
        free(k->paths[i]);
        if (k->blobs)
            free(k->blobs[i]);
    }
    free(k->paths);
    free(k->blobs);
    free(k->blob_lens);
    free(k->data);
    memset(k, 0, sizeof(*k));
}

static void
requirement_clear(cocoimg__requirement *r)
{
    free(r->identity.reference);
    free(r->identity.repository);
    free(r->identity.prefix);
    free(r->identity.signed_prefix);
    key_source_clear(&r->keys);
    key_source_clear(&r->fulcio_ca);
    free(r->fulcio_oidc_issuer);
    free(r->fulcio_subject_email);
    key_source_clear(&r->rekor_keys);
    key_source_clear(&r->pki_roots);
    key_source_clear(&r->pki_intermediates);
    free(r->pki_subject_email);
    free(r->pki_subject_hostname);
    free(r->path);
}

static void
reqs_clear(cocoimg__policy_reqs *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        requirement_clear(&rs->v[i]);
    free(rs->v);
    free(rs->scope);
    memset(rs, 0, sizeof(*rs));
}

void
cocoimg__policy_free(cocoimg__policy *p)
{
    if (!p)
        return;
    reqs_clear(&p->def);
    for (int t = 0; t < T_COUNT; t++) {
        for (size_t i = 0; i < p->t[t].n; i++) {
            free(p->t[t].v[i].scope);
            reqs_clear(&p->t[t].v[i].reqs);
        }
        free(p->t[t].v);
    }
    free(p);
}

/* ------------------------------------------------------------------------ */
/* parsing helpers                                                           */

struct pctx {
    const cocoimg_context *ctx; /* NULL: kbs:// key paths stay paths */
    const char *name;           /* file name for messages */
    cocoimg_error **err;
};

static int __attribute__((format(printf, 3, 4)))
invalid(struct pctx *c, const char *path, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return cocoimg__error_set(c->err, COCOIMG_EFORMAT, 0, "invalid policy %s: %s%s%s", c->name,
                              path ? path : "", path && *path ? ": " : "", reason);
}

static char *__attribute__((format(printf, 1, 2))) mkpath(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Every member of @p obj must be one of @p allowed (NULL-terminated). */
static int
only_members(struct pctx *c, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            _cleanup_free_ char *p = mkpath("%s.%s", path, k);
            return invalid(c, p ? p : path, "unknown field");
        }
    }
    return 0;
}

static int
get_string(struct pctx *c, const json_t *obj, const char *path, const char *key, bool required,
           char **out)
{
    json_t *v = json_object_get(obj, key);
    _cleanup_free_ char *p = mkpath("%s.%s", path, key);
    if (!p)
        return cocoimg__error_oom(c->err);
    if (!v) {
        if (required)
            return invalid(c, p, "missing");
        return 0;
    }
    if (!json_is_string(v))
        return invalid(c, p, "not a string");
    if (json_string_length(v) != strlen(json_string_value(v)))
        return invalid(c, p, "contains a NUL byte");
    if (required && json_string_length(v) == 0)
        return invalid(c, p, "empty");
    if (!(*out = strdup(json_string_value(v))))
        return cocoimg__error_oom(c->err);
    return 0;
}

/*
 * One of FOOPath, FOOPaths, FOOData (@p names: path, paths, data; a NULL
 * name is not allowed for this requirement).  At most one may be present;
 * @p k->set tells whether one was.
 */
/* kbs:// key paths are fetched now, while the policy is loaded */
static int
fetch_kbs_paths(struct pctx *c, const char *path, cocoimg__key_source *k)
{
    if (!c->ctx)
        return 0;
    for (size_t i = 0; i < k->n_paths; i++) {
        if (!cocoimg__is_kbs_uri(k->paths[i]))
            continue;
        if (!k->blobs && (!(k->blobs = calloc(k->n_paths, sizeof(*k->blobs))) ||
                          !(k->blob_lens = calloc(k->n_paths, sizeof(*k->blob_lens)))))
            return cocoimg__error_oom(c->err);
        int r = cocoimg__context_read(c->ctx, k->paths[i], &k->blobs[i], &k->blob_lens[i],
                                      16u << 20, c->err);
        if (r < 0)
            return cocoimg__error_wrap(c->err, r, "policy %s: %s: key %s", c->name, path,
                                       k->paths[i]);
    }
    return 0;
}

static int
get_key_source(struct pctx *c, const json_t *obj, const char *path, const char *path_key,
               const char *paths_key, const char *data_key, cocoimg__key_source *k)
{
    int present = 0;
    const char *first = NULL;
    const char *keys[3] = {path_key, paths_key, data_key};
    for (int i = 0; i < 3; i++)
        if (keys[i] && json_object_get(obj, keys[i])) {
            if (present++) {
                _cleanup_free_ char *p = mkpath("%s.%s", path, keys[i]);
                return invalid(c, p, "cannot be used together with %s", first);
            }
            first = keys[i];
        }
    if (!present)
        return 0;
    k->set = true;
    int r;
    if (path_key && json_object_get(obj, path_key)) {
        k->paths = calloc(1, sizeof(char *));
        if (!k->paths)
            return cocoimg__error_oom(c->err);
        k->n_paths = 1;
        if ((r = get_string(c, obj, path, path_key, true, &k->paths[0])) < 0)
            return r;
    } else if (paths_key && json_object_get(obj, paths_key)) {
        json_t *a = json_object_get(obj, paths_key);
        _cleanup_free_ char *p = mkpath("%s.%s", path, paths_key);
        if (!p)
            return cocoimg__error_oom(c->err);
        if (!json_is_array(a))
            return invalid(c, p, "not an array");
        if (json_array_size(a) == 0)
            return invalid(c, p, "empty");
        if (json_array_size(a) > 1024)
            return invalid(c, p, "too many entries");
        k->paths = calloc(json_array_size(a), sizeof(char *));
        if (!k->paths)
            return cocoimg__error_oom(c->err);
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e)
        {
            if (!json_is_string(e) || json_string_length(e) == 0 ||
                json_string_length(e) != strlen(json_string_value(e)))
                return invalid(c, p, "entry %zu is not a non-empty string", i);
            if (!(k->paths[i] = strdup(json_string_value(e))))
                return cocoimg__error_oom(c->err);
            k->n_paths++;
        }
    } else {
        json_t *d = json_object_get(obj, data_key);
        _cleanup_free_ char *p = mkpath("%s.%s", path, data_key);
        if (!p)
            return cocoimg__error_oom(c->err);
        if (!json_is_string(d) || json_string_length(d) == 0)
            return invalid(c, p, "not a non-empty string");
        _cleanup_error_ cocoimg_error *e = NULL;
        if (cocoimg__b64_decode(&k->data, &k->data_len, json_string_value(d), json_string_length(d),
                                COCOIMG_B64_STD, "data", &e) < 0)
            return invalid(c, p, "not valid base64");
        if (k->data_len == 0)
            return invalid(c, p, "empty");
    }
    return fetch_kbs_paths(c, path, k);
}

/* ------------------------------------------------------------------------ */
/* docker reference syntax (for scopes and identities)                       */

static bool
is_host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.';
}

/* host[:port], where host is a domain name, "localhost" or [IPv6] */
static bool
valid_host(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    size_t i = 0;
    if (s[0] == '[') {
        while (i < n && s[i] != ']')
            i++;
        if (i == n)
            return false;
        i++;
    } else {
        while (i < n && is_host_char(s[i]))
            i++;
        if (i == 0 || s[0] == '-' || s[0] == '.' || s[i - 1] == '-' || s[i - 1] == '.')
            return false;
    }
    if (i == n)
        return true;
    if (s[i] != ':' || i + 1 == n)
        return false;
    for (i++; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* repository path components: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool
valid_path_component(const char *s, size_t n)
{
    size_t i = 0;
#define ALNUM(ch) (((ch) >= 'a' && (ch) <= 'z') || ((ch) >= '0' && (ch) <= '9'))
    if (n == 0 || !ALNUM(s[0]) || !ALNUM(s[n - 1]))
        return false;
    while (i < n) {
        if (ALNUM(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.') {
            j++;
        } else if (s[i] == '_') {
            j++;
            if (j < n && s[j] == '_')
                j++;
        } else if (s[i] == '-') {
            while (j < n && s[j] == '-')
                j++;
        } else {
            return false;
        }
        if (j >= n || !ALNUM(s[j]))
            return false;
        i = j;
    }
#undef ALNUM
    return true;
}

/*
 * A fully explicit docker name "host/path" (host has a '.' or ':' or is
 * "localhost", as distribution/reference decides what a domain is).
 */
static bool
valid_docker_name(const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    size_t hl = slash ? (size_t)(slash - s) : n;
    if (!valid_host(s, hl))
        return false;
    bool domain =
        memchr(s, '.', hl) || memchr(s, ':', hl) || (hl == 9 && !memcmp(s, "localhost", 9));
    if (!domain)
        return false;
    if (!slash)
        return true; /* a host alone: valid as a scope or prefix, not as an image name */
    const char *p = slash + 1, *end = s + n;
    while (p <= end) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            q = end;
        if (!valid_path_component(p, (size_t)(q - p)))
            return false;
        p = q + 1;
    }
    return n <= 255;
}

static bool
valid_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || (i > 0 && (ch == '.' || ch == '-'));
        if (!ok)
            return false;
    }
    return true;
}

static bool
valid_digest(const char *s)
{
    if (strncmp(s, "sha256:", 7) == 0 && strlen(s) == 71) {
        for (const char *p = s + 7; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                return false;
        return true;
    }
    if (strncmp(s, "sha512:", 7) == 0 && strlen(s) == 135) {
        for (const char *p = s + 7; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                return false;
        return true;
    }
    return false;
}

/*
 * A fully explicit docker reference: NAME, NAME:TAG, NAME@DIGEST or
 * NAME:TAG@DIGEST.  The parts go to the out pointers (lengths into @p s).
 */
typedef struct dref {
    size_t name_len; /* s[0..name_len) */
    const char *tag; /* NUL-terminated copies; NULL if none */
    const char *digest;
    char *buf;
} dref;

static void
dref_clear(dref *d)
{
    free(d->buf);
    memset(d, 0, sizeof(*d));
}

static bool
dref_parse(dref *d, const char *s)
{
    memset(d, 0, sizeof(*d));
    if (!(d->buf = strdup(s)))
        return false;
    char *at = strchr(d->buf, '@');
    if (at) {
        *at = '\0';
        d->digest = at + 1;
        if (!valid_digest(d->digest))
            goto bad;
    }
    /* a ':' after the last '/' starts the tag */
    char *slash = strrchr(d->buf, '/');
    char *colon = strrchr(slash ? slash : d->buf, ':');
    if (colon && slash) {
        *colon = '\0';
        d->tag = colon + 1;
        if (!valid_tag(d->tag))
            goto bad;
    }
    d->name_len = strlen(d->buf);
    if (!slash || !valid_docker_name(d->buf, d->name_len))
        goto bad;
    return true;
bad:
    dref_clear(d);
    return false;
}

/* ------------------------------------------------------------------------ */
/* signedIdentity                                                            */

static int
parse_identity(struct pctx *c, const json_t *obj, const char *path, cocoimg__identity *id)
{
    if (!json_is_object(obj))
        return invalid(c, path, "not an object");
    const char *type = cocoimg__json_str(obj, "type");
    _cleanup_free_ char *tpath = mkpath("%s.type", path);
    if (!tpath)
        return cocoimg__error_oom(c->err);
    if (!json_object_get(obj, "type"))
        return invalid(c, tpath, "missing");
    if (!type)
        return invalid(c, tpath, "not a string");
    static const char *const only_type[] = {"type", NULL};
    int r;
    if (strcmp(type, "matchExact") == 0 || strcmp(type, "matchRepoDigestOrExact") == 0 ||
        strcmp(type, "matchRepository") == 0) {
        id->type = strcmp(type, "matchExact") == 0        ? COCOIMG__ID_MATCH_EXACT
                   : strcmp(type, "matchRepository") == 0 ? COCOIMG__ID_MATCH_REPOSITORY
                                                          : COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT;
        return only_members(c, obj, path, only_type);
    }
    if (strcmp(type, "exactReference") == 0) {
        static const char *const m[] = {"type", "dockerReference", NULL};
        if ((r = only_members(c, obj, path, m)) < 0 ||
            (r = get_string(c, obj, path, "dockerReference", true, &id->reference)) < 0)
            return r;
        dref d;
        bool ok = dref_parse(&d, id->reference);
        bool name_only = ok && !d.tag && !d.digest;
        dref_clear(&d);
        _cleanup_free_ char *p = mkpath("%s.dockerReference", path);
        if (!ok)
            return invalid(c, p, "not a fully explicit docker reference");
        if (name_only)
            return invalid(c, p, "a repository name without a tag or digest");
        id->type = COCOIMG__ID_EXACT_REFERENCE;
        return 0;
    }
    if (strcmp(type, "exactRepository") == 0) {
        static const char *const m[] = {"type", "dockerRepository", NULL};
        if ((r = only_members(c, obj, path, m)) < 0 ||
            (r = get_string(c, obj, path, "dockerRepository", true, &id->repository)) < 0)
            return r;
        dref d;
        bool ok = dref_parse(&d, id->repository);
        bool name_only = ok && !d.tag && !d.digest;
        dref_clear(&d);
        if (!ok || !name_only) {
            _cleanup_free_ char *p = mkpath("%s.dockerRepository", path);
            return invalid(c, p, "not a fully explicit docker repository name");
        }
        id->type = COCOIMG__ID_EXACT_REPOSITORY;
        return 0;
    }
    if (strcmp(type, "remapIdentity") == 0) {
        static const char *const m[] = {"type", "prefix", "signedPrefix", NULL};
        if ((r = only_members(c, obj, path, m)) < 0 ||
            (r = get_string(c, obj, path, "prefix", true, &id->prefix)) < 0 ||
            (r = get_string(c, obj, path, "signedPrefix", true, &id->signed_prefix)) < 0)
            return r;
        /* host, host/namespace or host/repo: a name without tag or digest */
        const char *which[2] = {"prefix", "signedPrefix"};
        const char *vals[2] = {id->prefix, id->signed_prefix};
        for (int i = 0; i < 2; i++)
            if (!valid_docker_name(vals[i], strlen(vals[i]))) {
                _cleanup_free_ char *p = mkpath("%s.%s", path, which[i]);
                return invalid(c, p, "not a host[:port], host/namespace or host/repository");
            }
        id->type = COCOIMG__ID_REMAP;
        return 0;
    }
    return invalid(c, tpath, "unknown identity type");
}

/* ------------------------------------------------------------------------ */
/* requirements                                                              */

static int
parse_fulcio(struct pctx *c, const json_t *obj, const char *path, cocoimg__requirement *rq)
{
    if (!json_is_object(obj))
        return invalid(c, path, "not an object");
    static const char *const m[] = {"caPath", "caData", "oidcIssuer", "subjectEmail", NULL};
    int r;
    if ((r = only_members(c, obj, path, m)) < 0 ||
        (r = get_key_source(c, obj, path, "caPath", NULL, "caData", &rq->fulcio_ca)) < 0 ||
        (r = get_string(c, obj, path, "oidcIssuer", true, &rq->fulcio_oidc_issuer)) < 0 ||
        (r = get_string(c, obj, path, "subjectEmail", true, &rq->fulcio_subject_email)) < 0)
        return r;
    if (!rq->fulcio_ca.set)
        return invalid(c, path, "one of caPath and caData is required");
    rq->has_fulcio = true;
    return 0;
}

static int
parse_pki(struct pctx *c, const json_t *obj, const char *path, cocoimg__requirement *rq)
{
    if (!json_is_object(obj))
        return invalid(c, path, "not an object");
    static const char *const m[] = {"caRootsPath",
                                    "caRootsData",
                                    "caIntermediatesPath",
                                    "caIntermediatesData",
                                    "subjectEmail",
                                    "subjectHostname",
                                    NULL};
    int r;
    if ((r = only_members(c, obj, path, m)) < 0 ||
        (r = get_key_source(c, obj, path, "caRootsPath", NULL, "caRootsData", &rq->pki_roots)) <
            0 ||
        (r = get_key_source(c, obj, path, "caIntermediatesPath", NULL, "caIntermediatesData",
                            &rq->pki_intermediates)) < 0 ||
        (r = get_string(c, obj, path, "subjectEmail", false, &rq->pki_subject_email)) < 0 ||
        (r = get_string(c, obj, path, "subjectHostname", false, &rq->pki_subject_hostname)) < 0)
        return r;
    if (!rq->pki_roots.set)
        return invalid(c, path, "one of caRootsPath and caRootsData is required");
    if (!rq->pki_subject_email && !rq->pki_subject_hostname)
        return invalid(c, path, "at least one of subjectEmail and subjectHostname is required");
    rq->has_pki = true;
    return 0;
}

static int
parse_requirement(struct pctx *c, const json_t *obj, const char *path, cocoimg__requirement *rq)
{
    if (!(rq->path = strdup(path)))
        return cocoimg__error_oom(c->err);
    if (!json_is_object(obj))
        return invalid(c, path, "not an object");
    _cleanup_free_ char *tpath = mkpath("%s.type", path);
    if (!tpath)
        return cocoimg__error_oom(c->err);
    json_t *t = json_object_get(obj, "type");
    if (!t)
        return invalid(c, tpath, "missing");
    if (!json_is_string(t))
        return invalid(c, tpath, "not a string");
    const char *type = json_string_value(t);
    int r;
    if (strcmp(type, "insecureAcceptAnything") == 0 || strcmp(type, "reject") == 0) {
        static const char *const m[] = {"type", NULL};
        rq->type = type[0] == 'i' ? COCOIMG__REQ_ACCEPT : COCOIMG__REQ_REJECT;
        return only_members(c, obj, path, m);
    }
    _cleanup_free_ char *ipath = mkpath("%s.signedIdentity", path);
    if (!ipath)
        return cocoimg__error_oom(c->err);
    if (strcmp(type, "signedBy") == 0) {
        static const char *const m[] = {"type",    "keyType",        "keyPath", "keyPaths",
                                        "keyData", "signedIdentity", NULL};
        if ((r = only_members(c, obj, path, m)) < 0)
            return r;
        rq->type = COCOIMG__REQ_SIGNED_BY;
        _cleanup_free_ char *kt = NULL;
        if ((r = get_string(c, obj, path, "keyType", true, &kt)) < 0)
            return r;
        if (strcmp(kt, "GPGKeys") != 0) {
            _cleanup_free_ char *p = mkpath("%s.keyType", path);
            if (strcmp(kt, "signedByGPGKeys") == 0 || strcmp(kt, "X509Certificates") == 0 ||
                strcmp(kt, "signedByX509CAs") == 0)
                return invalid(c, p, "key type not supported (only GPGKeys is)");
            return invalid(c, p, "unknown key type");
        }
        if ((r = get_key_source(c, obj, path, "keyPath", "keyPaths", "keyData", &rq->keys)) < 0)
            return r;
        if (!rq->keys.set)
            return invalid(c, path, "exactly one of keyPath, keyPaths and keyData is required");
    } else if (strcmp(type, "sigstoreSigned") == 0) {
        static const char *const m[] = {"type",
                                        "keyPath",
                                        "keyPaths",
                                        "keyData",
                                        "fulcio",
                                        "pki",
                                        "rekorPublicKeyPath",
                                        "rekorPublicKeyPaths",
                                        "rekorPublicKeyData",
                                        "signedIdentity",
                                        NULL};
        if ((r = only_members(c, obj, path, m)) < 0)
            return r;
        rq->type = COCOIMG__REQ_SIGSTORE;
        if ((r = get_key_source(c, obj, path, "keyPath", "keyPaths", "keyData", &rq->keys)) < 0 ||
            (r = get_key_source(c, obj, path, "rekorPublicKeyPath", "rekorPublicKeyPaths",
                                "rekorPublicKeyData", &rq->rekor_keys)) < 0)
            return r;
        json_t *f = json_object_get(obj, "fulcio"), *pk = json_object_get(obj, "pki");
        int n = (int)rq->keys.set + (f != NULL) + (pk != NULL);
        if (n != 1)
            return invalid(c, path,
                           "exactly one of keyPath, keyPaths, keyData, fulcio and pki is required");
        if (f) {
            _cleanup_free_ char *p = mkpath("%s.fulcio", path);
            if ((r = parse_fulcio(c, f, p, rq)) < 0)
                return r;
            if (!rq->rekor_keys.set)
                return invalid(c, path,
                               "fulcio requires one of rekorPublicKeyPath, "
                               "rekorPublicKeyPaths and rekorPublicKeyData");
        }
        if (pk) {
            _cleanup_free_ char *p = mkpath("%s.pki", path);
            if ((r = parse_pki(c, pk, p, rq)) < 0)
                return r;
            /* containers/image 5.34+ rejects this combination too */
            if (rq->rekor_keys.set)
                return invalid(c, path,
                               "pki cannot be combined with rekorPublicKeyPath, "
                               "rekorPublicKeyPaths or rekorPublicKeyData");
        }
    } else if (strcmp(type, "signedBaseLayer") == 0) {
        return invalid(c, tpath, "signedBaseLayer is not supported");
    } else {
        return invalid(c, tpath, "unknown requirement type");
    }
    json_t *si = json_object_get(obj, "signedIdentity");
    if (si)
        return parse_identity(c, si, ipath, &rq->identity);
    rq->identity.type = COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT;
    return 0;
}

static int
parse_reqs(struct pctx *c, const json_t *arr, const char *path, cocoimg__policy_reqs *out)
{
    if (!json_is_array(arr))
        return invalid(c, path, "not an array of requirements");
    size_t n = json_array_size(arr);
    if (n == 0)
        return invalid(c, path, "no requirements (use [{\"type\": \"reject\"}] to reject)");
    if (n > 1024)
        return invalid(c, path, "too many requirements");
    if (!(out->v = calloc(n, sizeof(*out->v))))
        return cocoimg__error_oom(c->err);
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *p = mkpath("%s[%zu]", path, i);
        if (!p)
            return cocoimg__error_oom(c->err);
        out->n++;
        int r = parse_requirement(c, json_array_get(arr, i), p, &out->v[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* scopes                                                                    */

static bool
valid_docker_scope(const char *s)
{
    if (*s == '\0')
        return true;
    if (s[0] == '*' && s[1] == '.') {
        /* *.domain: a host without port, and no further wildcard */
        const char *h = s + 2;
        size_t n = strlen(h);
        return n > 0 && !strchr(h, ':') && !strchr(h, '/') && !strchr(h, '*') && valid_host(h, n);
    }
    dref d;
    if (dref_parse(&d, s)) {
        bool both = d.tag && d.digest;
        dref_clear(&d);
        return !both;
    }
    /* a host[:port] alone */
    return !strchr(s, '/') && valid_docker_name(s, strlen(s));
}

/* an absolute, clean path, optionally ":REF" for the image; not "/" */
static bool
valid_oci_scope(const char *s)
{
    if (*s == '\0')
        return true;
    if (s[0] != '/')
        return false;
    _cleanup_free_ char *dup = strdup(s);
    if (!dup)
        return false;
    char *colon = strchr(dup, ':');
    if (colon)
        *colon = '\0';
    size_t n = strlen(dup);
    if (n == 1 || dup[n - 1] == '/' || strstr(dup, "//") || strstr(dup, "/./") ||
        strstr(dup, "/../"))
        return false;
    if ((n >= 2 && strcmp(dup + n - 2, "/.") == 0) || (n >= 3 && strcmp(dup + n - 3, "/..") == 0))
        return false;
    return true;
}

static int
parse_transport(struct pctx *c, const json_t *obj, int t, struct transport_section *sec)
{
    _cleanup_free_ char *path = mkpath("transports.%s", transport_names[t]);
    if (!path)
        return cocoimg__error_oom(c->err);
    if (!json_is_object(obj))
        return invalid(c, path, "not an object");
    sec->present = true;
    size_t n = json_object_size(obj);
    if (n > 100000)
        return invalid(c, path, "too many scopes");
    if (n && !(sec->v = calloc(n, sizeof(*sec->v))))
        return cocoimg__error_oom(c->err);
    const char *scope;
    json_t *v;
    json_object_foreach((json_t *)obj, scope, v)
    {
        _cleanup_free_ char *sp = mkpath("%s[\"%s\"]", path, scope);
        if (!sp)
            return cocoimg__error_oom(c->err);
        bool ok = t == T_DOCKER ? valid_docker_scope(scope) : valid_oci_scope(scope);
        if (!ok)
            return invalid(c, sp, "invalid scope for transport %s", transport_names[t]);
        struct scope_entry *e = &sec->v[sec->n++];
        if (!(e->scope = strdup(scope)))
            return cocoimg__error_oom(c->err);
        int r = parse_reqs(c, v, sp, &e->reqs);
        if (r < 0)
            return r;
        if (!(e->reqs.scope = strdup(scope)))
            return cocoimg__error_oom(c->err);
    }
    return 0;
}

static int policy_parse(cocoimg__policy **out, const cocoimg_context *ctx, const void *buf,
                        size_t len, const char *name, cocoimg_error **err);

int
cocoimg__policy_parse(cocoimg__policy **out, const void *buf, size_t len, const char *name,
                      cocoimg_error **err)
{
    return policy_parse(out, NULL, buf, len, name, err);
}

static int
policy_parse(cocoimg__policy **out, const cocoimg_context *ctx, const void *buf, size_t len,
             const char *name, cocoimg_error **err)
{
    struct pctx c = {.ctx = ctx, .name = name, .err = err};
    _cleanup_json_ json_t *root = NULL;
    _cleanup_error_ cocoimg_error *jerr = NULL;
    if (cocoimg__json_loadb(&root, buf, len, POLICY_MAX_SIZE, true, "policy", &jerr) < 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "invalid policy %s: %s", name,
                                  cocoimg_error_message(jerr));
    _cleanup_(cocoimg__policy_freep) cocoimg__policy *p = calloc(1, sizeof(*p));
    if (!p)
        return cocoimg__error_oom(err);
    static const char *const top[] = {"default", "transports", NULL};
    int r;
    if ((r = only_members(&c, root, "", top)) < 0)
        return r;
    json_t *def = json_object_get(root, "default");
    if (!def)
        return invalid(&c, "default", "missing (a policy must say what happens by default)");
    if ((r = parse_reqs(&c, def, "default", &p->def)) < 0)
        return r;
    json_t *tr = json_object_get(root, "transports");
    if (tr) {
        if (!json_is_object(tr))
            return invalid(&c, "transports", "not an object");
        const char *tname;
        json_t *tv;
        json_object_foreach(tr, tname, tv)
        {
            for (int t = 0; t < T_COUNT; t++)
                if (strcmp(tname, transport_names[t]) == 0 &&
                    (r = parse_transport(&c, tv, t, &p->t[t])) < 0)
                    return r;
            /* other transports (atomic, containers-storage, dir, ...) are not ours: ignored */
        }
    }
    *out = TAKE_PTR(p);
    return 0;
}

int
cocoimg__policy_load(cocoimg__policy **out, const cocoimg_context *ctx, const char *path,
                     cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    _cleanup_error_ cocoimg_error *ferr = NULL;
    int r = cocoimg__context_read(ctx, path, &buf, &len, POLICY_MAX_SIZE, &ferr);
    if (r == COCOIMG_ENOTFOUND)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, ENOENT, "policy file %s does not exist",
                                  path);
    if (r < 0)
        return cocoimg__error_set(err, r, cocoimg_error_errno(ferr), "policy file %s: %s", path,
                                  cocoimg_error_message(ferr));
    return policy_parse(out, ctx, buf, len, path, err);
}

/* ------------------------------------------------------------------------ */
/* lookup                                                                    */

void
cocoimg__policy_scopes_free(char **scopes)
{
    if (!scopes)
        return;
    for (char **s = scopes; *s; s++)
        free(*s);
    free(scopes);
}

struct strv {
    char **v;
    size_t n, cap;
};

static int
strv_add(struct strv *sv, char *s)
{
    if (!s)
        return -1;
    if (sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **nv = realloc(sv->v, cap * sizeof(char *));
        if (!nv) {
            free(s);
            return -1;
        }
        sv->v = nv;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
    return 0;
}

char *
cocoimg__docker_identity(const cocoimg_reference *ref)
{
    if (cocoimg_reference_transport(ref) != COCOIMG_TRANSPORT_DOCKER)
        return NULL;
    const char *tag = cocoimg_reference_tag(ref), *dg = cocoimg_reference_digest(ref);
    char *s = NULL;
    if (asprintf(&s, "%s/%s%s%s%s%s", cocoimg_reference_registry(ref),
                 cocoimg_reference_repository(ref), tag ? ":" : "", tag ? tag : "", dg ? "@" : "",
                 dg ? dg : "") < 0)
        return NULL;
    return s;
}

static int
docker_scopes(struct strv *sv, const cocoimg_reference *ref)
{
    const char *host = cocoimg_reference_registry(ref);
    const char *repo = cocoimg_reference_repository(ref);
    const char *tag = cocoimg_reference_tag(ref), *dg = cocoimg_reference_digest(ref);
    char *s = NULL;
    /* the identity: with the digest when there is one, else the tag */
    if (dg) {
        if (asprintf(&s, "%s/%s@%s", host, repo, dg) < 0 || strv_add(sv, s) < 0)
            return -1;
    } else if (tag) {
        if (asprintf(&s, "%s/%s:%s", host, repo, tag) < 0 || strv_add(sv, s) < 0)
            return -1;
    }
    /* the repository and its parent namespaces, then the host */
    char *name = NULL;
    if (asprintf(&name, "%s/%s", host, repo) < 0)
        return -1;
    for (;;) {
        char *dup = strdup(name);
        if (strv_add(sv, dup) < 0) {
            free(name);
            return -1;
        }
        char *slash = strrchr(name, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
    free(name);
    /* *.example.com wildcards for the host without its port (not for IP literals) */
    if (host[0] == '[')
        return 0;
    size_t hl = strcspn(host, ":");
    const char *dot = memchr(host, '.', hl);
    while (dot) {
        const char *rest = dot + 1;
        size_t rl = hl - (size_t)(rest - host);
        if (rl == 0)
            break;
        if (asprintf(&s, "*.%.*s", (int)rl, rest) < 0 || strv_add(sv, s) < 0)
            return -1;
        dot = memchr(rest, '.', rl);
    }
    return 0;
}

static int
oci_scopes(struct strv *sv, const cocoimg_reference *ref, cocoimg_error **err)
{
    const char *path = cocoimg_reference_path(ref);
    char resolved[PATH_MAX];
    if (!realpath(path, resolved))
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "cannot resolve the path of '%s'", path);
    const char *rn = cocoimg_reference_ref_name(ref);
    char *s = NULL;
    if (asprintf(&s, "%s:%s", resolved, rn ? rn : "") < 0 || strv_add(sv, s) < 0)
        return cocoimg__error_oom(err);
    for (;;) {
        if (strcmp(resolved, "/") == 0)
            break;
        if (strv_add(sv, strdup(resolved)) < 0)
            return cocoimg__error_oom(err);
        char *slash = strrchr(resolved, '/');
        if (!slash || slash == resolved)
            break;
        *slash = '\0';
    }
    return 0;
}

int
cocoimg__policy_scopes(char ***out, const cocoimg_reference *ref, cocoimg_error **err)
{
    struct strv sv = {0};
    int r = 0;
    if (cocoimg_reference_transport(ref) == COCOIMG_TRANSPORT_DOCKER)
        r = docker_scopes(&sv, ref) < 0 ? cocoimg__error_oom(err) : 0;
    else
        r = oci_scopes(&sv, ref, err);
    if (r == 0 && !sv.v && strv_add(&sv, strdup("")) == 0) {
        /* never empty: keep the array shape; drop the placeholder */
        free(sv.v[0]);
        sv.v[0] = NULL;
        sv.n = 0;
    }
    if (r < 0 || !sv.v) {
        cocoimg__policy_scopes_free(sv.v);
        return r < 0 ? r : cocoimg__error_oom(err);
    }
    *out = sv.v;
    return 0;
}

int
cocoimg__policy_for(const cocoimg__policy_reqs **out, const cocoimg__policy *p,
                    const cocoimg_reference *ref, cocoimg_error **err)
{
    int t;
    switch (cocoimg_reference_transport(ref)) {
    case COCOIMG_TRANSPORT_DOCKER:
        t = T_DOCKER;
        break;
    case COCOIMG_TRANSPORT_OCI:
        t = T_OCI;
        break;
    case COCOIMG_TRANSPORT_OCI_ARCHIVE:
        t = T_OCI_ARCHIVE;
        break;
    default:
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unknown transport");
    }
    const struct transport_section *sec = &p->t[t];
    if (sec->present) {
        char **scopes = NULL;
        int r = cocoimg__policy_scopes(&scopes, ref, err);
        if (r < 0)
            return r;
        for (char **s = scopes; *s; s++)
            for (size_t i = 0; i < sec->n; i++)
                if (strcmp(sec->v[i].scope, *s) == 0) {
                    *out = &sec->v[i].reqs;
                    cocoimg__policy_scopes_free(scopes);
                    return 0;
                }
        cocoimg__policy_scopes_free(scopes);
        for (size_t i = 0; i < sec->n; i++)
            if (sec->v[i].scope[0] == '\0') {
                *out = &sec->v[i].reqs;
                return 0;
            }
    }
    *out = &p->def;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* identities                                                                */

/* "docker.io/library/busybox:latest" from "busybox:latest" etc.: parsed by the reference parser */
static cocoimg_reference *
parse_signed(const char *s)
{
    if (!s || !*s || strlen(s) > 4000 || strchr(s, '\n'))
        return NULL;
    char *full = NULL;
    if (asprintf(&full, "docker://%s", s) < 0)
        return NULL;
    cocoimg_reference *r = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg_reference_parse(&r, full, &e) < 0)
        r = NULL;
    cocoimg_error_free(e);
    free(full);
    return r;
}

static bool
name_only(const cocoimg_reference *r)
{
    return !cocoimg_reference_tag(r) && !cocoimg_reference_digest(r);
}

static bool
same_repo(const cocoimg_reference *a, const cocoimg_reference *b)
{
    return strcmp(cocoimg_reference_registry(a), cocoimg_reference_registry(b)) == 0 &&
           strcmp(cocoimg_reference_repository(a), cocoimg_reference_repository(b)) == 0;
}

static bool
same_string(const cocoimg_reference *a, const cocoimg_reference *b)
{
    return strcmp(cocoimg_reference_string(a), cocoimg_reference_string(b)) == 0;
}

/* matchExact: both tagged or digested, identical */
static bool
match_exact(const cocoimg_reference *intended, const cocoimg_reference *sig)
{
    if (name_only(intended) || name_only(sig))
        return false;
    return same_string(intended, sig);
}

/* matchRepoDigestOrExact */
static bool
match_repo_digest_or_exact(const cocoimg_reference *intended, const cocoimg_reference *sig)
{
    if (cocoimg_reference_digest(intended))
        return same_repo(intended, sig);
    if (cocoimg_reference_tag(intended))
        return match_exact(intended, sig);
    return false;
}

/* containers/image refMatchesPrefix: a string prefix that ends at a component boundary */
static bool
ref_matches_prefix(const char *ref, const char *prefix)
{
    size_t rl = strlen(ref), pl = strlen(prefix);
    if (rl < pl)
        return false;
    if (rl == pl)
        return strcmp(ref, prefix) == 0;
    if (strncmp(ref, prefix, pl) != 0)
        return false;
    char ch = ref[pl];
    return ch == ':' || ch == '/' || ch == '@';
}

bool
cocoimg__identity_match(const cocoimg__identity *id, const cocoimg_reference *intended,
                        const char *signed_ref, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *sig = parse_signed(signed_ref);
    if (!sig) {
        *why = "the signed docker-reference is not a valid reference";
        return false;
    }
    bool docker = cocoimg_reference_transport(intended) == COCOIMG_TRANSPORT_DOCKER;
    switch (id->type) {
    case COCOIMG__ID_EXACT_REFERENCE: {
        _cleanup_(cocoimg_reference_freep) cocoimg_reference *want = parse_signed(id->reference);
        if (want && match_exact(want, sig))
            return true;
        *why = "the signed identity is not the policy's exactReference";
        return false;
    }
    case COCOIMG__ID_EXACT_REPOSITORY: {
        _cleanup_free_ char *s = NULL;
        if (asprintf(&s, "%s:x", id->repository) < 0)
            return false;
        _cleanup_(cocoimg_reference_freep) cocoimg_reference *want = parse_signed(s);
        if (want && same_repo(want, sig))
            return true;
        *why = "the signed identity is not in the policy's exactRepository";
        return false;
    }
    default:
        break;
    }
    if (!docker) {
        *why = "the image has no docker identity to match the signature against "
               "(use exactReference or exactRepository)";
        return false;
    }
    bool ok = false;
    switch (id->type) {
    case COCOIMG__ID_MATCH_EXACT:
        ok = match_exact(intended, sig);
        break;
    case COCOIMG__ID_MATCH_REPOSITORY:
        ok = same_repo(intended, sig);
        break;
    case COCOIMG__ID_REMAP: {
        _cleanup_free_ char *ident = cocoimg__docker_identity(intended);
        if (!ident)
            return false;
        if (ref_matches_prefix(ident, id->prefix)) {
            _cleanup_free_ char *mapped = NULL;
            if (asprintf(&mapped, "%s%s", id->signed_prefix, ident + strlen(id->prefix)) < 0)
                return false;
            _cleanup_(cocoimg_reference_freep) cocoimg_reference *m = parse_signed(mapped);
            if (!m) {
                *why = "the remapped reference is not valid";
                return false;
            }
            ok = match_repo_digest_or_exact(m, sig);
        } else {
            ok = match_repo_digest_or_exact(intended, sig);
        }
        break;
    }
    default:
        ok = match_repo_digest_or_exact(intended, sig);
        break;
    }
    if (!ok)
        *why = "the signed identity does not match the image reference";
    return ok;
}
