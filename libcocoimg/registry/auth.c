/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry credentials: WWW-Authenticate challenges and the containers
 * auth.json / docker config.json credential files.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/registry.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/json.h"

/* Credential files are small; anything bigger is not one. */
#define AUTHFILE_MAX (1u * 1024 * 1024)
/* Bound on a challenge header we are willing to parse. */
#define CHALLENGE_MAX 8192

void
cocoimg__auth_challenge_clear(cocoimg__auth_challenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof(*c));
}

static bool
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* One challenge being parsed. */
struct chal {
    cocoimg__auth_scheme scheme;
    bool known;
    char *realm, *service, *scope, *error;
};

static void
chal_clear(struct chal *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof(*c));
}

/*
 * Parse a token or quoted-string value at *pp into a malloc'd string;
 * advances *pp.  Returns NULL on malformed input (*oom set on ENOMEM).
 */
static char *
parse_value(const char **pp, bool *oom)
{
    const char *p = *pp;
    size_t cap = strlen(p) + 1;
    char *v = malloc(cap);
    size_t n = 0;
    if (!v) {
        *oom = true;
        return NULL;
    }
    if (*p == '"') {
        p++;
        for (;;) {
            if (*p == '\0') {
                free(v);
                return NULL; /* unterminated */
            }
            if (*p == '"') {
                p++;
                break;
            }
            if (*p == '\\') {
                p++;
                if (*p == '\0') {
                    free(v);
                    return NULL;
                }
            }
            v[n++] = *p++;
        }
    } else {
        while (is_tchar(*p) || *p == '/' || *p == ':' || *p == '=')
            v[n++] = *p++;
        if (n == 0) {
            free(v);
            return NULL;
        }
    }
    v[n] = '\0';
    *pp = p;
    return v;
}

int
cocoimg__auth_challenge_parse(cocoimg__auth_challenge *out, const char *value, cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    if (strlen(value) > CHALLENGE_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "WWW-Authenticate header too long");

    struct chal best = {0}, cur = {0};
    const char *p = skip_ws(value);
    bool any_unknown = false;
    int r = 0;

    while (*p) {
        /* auth-scheme */
        const char *s = p;
        while (is_tchar(*p))
            p++;
        size_t slen = (size_t)(p - s);
        if (slen == 0) {
            r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                   "WWW-Authenticate: expected an auth scheme at offset %zu",
                                   (size_t)(s - value));
            goto out;
        }
        chal_clear(&cur);
        if (slen == 5 && strncasecmp(s, "basic", 5) == 0) {
            cur.scheme = COCOIMG_AUTH_BASIC;
            cur.known = true;
        } else if (slen == 6 && strncasecmp(s, "bearer", 6) == 0) {
            cur.scheme = COCOIMG_AUTH_BEARER;
            cur.known = true;
        } else {
            any_unknown = true;
        }
        p = skip_ws(p);
        /* auth-params: name=value pairs separated by commas; a comma
         * followed by a name without '=' starts the next challenge. */
        bool first = true;
        for (;;) {
            while (*p == ',' || *p == ' ' || *p == '\t')
                p++;
            if (*p == '\0')
                break;
            const char *n = p;
            while (is_tchar(*p))
                p++;
            size_t nlen = (size_t)(p - n);
            const char *q = skip_ws(p);
            if (nlen == 0) {
                r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                       "WWW-Authenticate: unexpected character at offset %zu",
                                       (size_t)(n - value));
                goto out;
            }
            if (*q != '=') {
                if (first) {
                    /* token68 right after the scheme: not used by registries, skip it */
                    while (*q && *q != ',')
                        q++;
                    p = q;
                    first = false;
                    continue;
                }
                p = n; /* the next challenge */
                break;
            }
            first = false;
            p = skip_ws(q + 1);
            bool oom = false;
            char *v = parse_value(&p, &oom);
            if (!v) {
                r = oom ? cocoimg__error_oom(err)
                        : cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                             "WWW-Authenticate: malformed value of '%.*s'",
                                             (int)nlen, n);
                goto out;
            }
            char **slot = NULL;
            if (nlen == 5 && strncasecmp(n, "realm", 5) == 0)
                slot = &cur.realm;
            else if (nlen == 7 && strncasecmp(n, "service", 7) == 0)
                slot = &cur.service;
            else if (nlen == 5 && strncasecmp(n, "scope", 5) == 0)
                slot = &cur.scope;
            else if (nlen == 5 && strncasecmp(n, "error", 5) == 0)
                slot = &cur.error;
            if (slot) {
                free(*slot);
                *slot = v;
            } else {
                free(v);
            }
            p = skip_ws(p);
            if (*p != ',' && *p != '\0') {
                r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                       "WWW-Authenticate: expected ',' at offset %zu",
                                       (size_t)(p - value));
                goto out;
            }
        }
        if (cur.known && (!best.known || (cur.scheme == COCOIMG_AUTH_BEARER &&
                                          best.scheme != COCOIMG_AUTH_BEARER))) {
            chal_clear(&best);
            best = cur;
            memset(&cur, 0, sizeof(cur));
        }
        p = skip_ws(p);
    }

    if (!best.known) {
        r = any_unknown
                ? cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                     "WWW-Authenticate: no supported auth scheme in '%s'", value)
                : cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "WWW-Authenticate: empty challenge");
        goto out;
    }
    if (best.scheme == COCOIMG_AUTH_BEARER && (!best.realm || !*best.realm)) {
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               "WWW-Authenticate: Bearer challenge without realm");
        goto out;
    }
    out->scheme = best.scheme;
    out->realm = TAKE_PTR(best.realm);
    out->service = TAKE_PTR(best.service);
    out->scope = TAKE_PTR(best.scope);
    out->error = TAKE_PTR(best.error);
out:
    chal_clear(&best);
    chal_clear(&cur);
    return r;
}

/* --- credential files --- */

/*
 * Normalise an auths key to "host[/path]": drop a scheme, a trailing '/',
 * and the legacy "/v1" / "/v2" suffix of docker's index URLs.
 */
static char *
normalize_key(const char *key)
{
    const char *p = key;
    if (strncmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncmp(p, "http://", 7) == 0)
        p += 7;
    char *k = strdup(p);
    if (!k)
        return NULL;
    size_t n = strlen(k);
    while (n > 0 && k[n - 1] == '/')
        k[--n] = '\0';
    if (p != key) {
        /* keys with a scheme are docker's legacy form: host + API path */
        char *slash = strchr(k, '/');
        if (slash && (strcmp(slash, "/v1") == 0 || strcmp(slash, "/v2") == 0))
            *slash = '\0';
    }
    if (strcmp(k, "index.docker.io") == 0 || strcmp(k, "registry-1.docker.io") == 0) {
        free(k);
        k = strdup("docker.io");
    }
    return k;
}

static int
decode_entry(char **user_out, cocoimg__secret **pass_out, json_t *entry, const char *what,
             const char *key, cocoimg_error **err)
{
    if (!json_is_object(entry))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: auths entry '%s' is not an object",
                                  what, key);
    json_t *a = json_object_get(entry, "auth");
    if (!a || (json_is_string(a) && json_string_length(a) == 0)) {
        *user_out = NULL;
        *pass_out = NULL;
        return 0; /* no usable credentials (e.g. a credential helper entry) */
    }
    if (!json_is_string(a))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s': 'auth' must be a string",
                                  what, key);
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    int r = cocoimg__b64_decode(&raw, &rawlen, json_string_value(a), json_string_length(a),
                                COCOIMG_B64_STD, "auth", err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "%s: '%s'", what, key);
    uint8_t *colon = memchr(raw, ':', rawlen);
    if (!colon || colon == raw || memchr(raw, '\0', rawlen)) {
        cocoimg__wipe(raw, rawlen);
        free(raw);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: '%s': 'auth' is not base64 of 'user:password'", what, key);
    }
    size_t ulen = (size_t)(colon - raw);
    size_t plen = rawlen - ulen - 1;
    char *user = strndup((const char *)raw, ulen);
    cocoimg__secret *pass = NULL;
    r = user ? cocoimg__secret_new(&pass, plen + 1, err) : cocoimg__error_oom(err);
    if (r == 0) {
        memcpy(pass->ptr, colon + 1, plen);
        pass->len = plen; /* the NUL terminator after it is not secret */
    }
    cocoimg__wipe(raw, rawlen);
    free(raw);
    if (r < 0) {
        free(user);
        return r;
    }
    *user_out = user;
    *pass_out = pass;
    return 0;
}

int
cocoimg__authfile_lookup(bool *found, char **user_out, cocoimg__secret **pass_out, const void *buf,
                         size_t len, const char *host, const char *repo, const char *what,
                         cocoimg_error **err)
{
    *found = false;
    _cleanup_json_ json_t *root = NULL;
    int r = cocoimg__json_loadb(&root, buf, len, AUTHFILE_MAX, true, what, err);
    if (r < 0)
        return r;
    json_t *auths = json_object_get(root, "auths");
    if (!auths)
        return 0;
    if (!json_is_object(auths))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'auths' must be an object", what);

    /* The most specific match wins: "host/ns/repo" > "host/ns" > "host". */
    _cleanup_free_ char *want = NULL;
    if (repo && *repo) {
        if (asprintf(&want, "%s/%s", host, repo) < 0)
            return cocoimg__error_oom(err);
    } else if (!(want = strdup(host))) {
        return cocoimg__error_oom(err);
    }
    const char *key;
    json_t *entry, *best = NULL;
    const char *best_key = NULL;
    size_t best_len = 0;
    json_object_foreach(auths, key, entry)
    {
        _cleanup_free_ char *k = normalize_key(key);
        if (!k)
            return cocoimg__error_oom(err);
        size_t kl = strlen(k);
        if (kl == 0 || strncmp(want, k, kl) != 0 || (want[kl] != '\0' && want[kl] != '/'))
            continue;
        if (!best || kl > best_len) {
            best = entry;
            best_key = key;
            best_len = kl;
        }
    }
    if (!best)
        return 0;
    char *user = NULL;
    cocoimg__secret *pass = NULL;
    r = decode_entry(&user, &pass, best, what, best_key, err);
    if (r < 0)
        return r;
    if (!user)
        return 0;
    *user_out = user;
    *pass_out = pass;
    *found = true;
    return 0;
}

static int
lookup_file(bool *found, char **user_out, cocoimg__secret **pass_out, const char *path,
            bool must_exist, const char *host, cocoimg_error **err)
{
    *found = false;
    uint8_t *buf = NULL;
    size_t len = 0;
    cocoimg_error *e = NULL;
    int r = cocoimg__read_file(&buf, &len, AT_FDCWD, path, AUTHFILE_MAX, &e);
    if (r < 0) {
        if (!must_exist && cocoimg_error_errno(e) == ENOENT) {
            cocoimg_error_free(e);
            return 0;
        }
        if (err && !*err)
            *err = e;
        else
            cocoimg_error_free(e);
        return cocoimg__error_wrap(err, r, "authfile '%s'", path);
    }
    r = cocoimg__authfile_lookup(found, user_out, pass_out, buf, len, host, NULL, path, err);
    cocoimg__wipe(buf, len);
    free(buf);
    return r;
}

int
cocoimg__authfile_find(bool *found, char **user_out, cocoimg__secret **pass_out,
                       const char *authfile, const char *host, cocoimg_error **err)
{
    *found = false;
    if (authfile)
        return lookup_file(found, user_out, pass_out, authfile, true, host, err);

    char *paths[4] = {0};
    size_t n = 0;
    int r = 0;
    const char *env = getenv("REGISTRY_AUTH_FILE");
    const char *xdg_run = getenv("XDG_RUNTIME_DIR");
    const char *xdg_cfg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (env && *env)
        paths[n++] = strdup(env);
    else if (xdg_run && *xdg_run && asprintf(&paths[n++], "%s/containers/auth.json", xdg_run) < 0)
        paths[n - 1] = NULL;
    if (xdg_cfg && *xdg_cfg) {
        if (asprintf(&paths[n++], "%s/containers/auth.json", xdg_cfg) < 0)
            paths[n - 1] = NULL;
    } else if (home && *home &&
               asprintf(&paths[n++], "%s/.config/containers/auth.json", home) < 0) {
        paths[n - 1] = NULL;
    }
    if (home && *home && asprintf(&paths[n++], "%s/.docker/config.json", home) < 0)
        paths[n - 1] = NULL;
    for (size_t i = 0; i < n; i++)
        if (!paths[i]) {
            r = cocoimg__error_oom(err);
            goto out;
        }
    for (size_t i = 0; i < n && !*found; i++) {
        r = lookup_file(found, user_out, pass_out, paths[i], false, host, err);
        if (r < 0)
            goto out;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    return r;
}
