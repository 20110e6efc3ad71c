/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry credentials: WWW-Authenticate challenges, the containers
 * auth.json / docker config.json credential files and the docker credential
 * helpers they name (credHelpers, credsStore), and the Authorization of a
 * request: Basic, or a Bearer token fetched from the challenge's realm and
 * cached per scope in the client.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry/registry_int.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/json.h"

/* Credential files are small; anything bigger is not one. */
#define AUTHFILE_MAX (1u * 1024 * 1024)
/* Bound on a challenge header we are willing to parse. */
#define CHALLENGE_MAX 8192
/* A token response is small. */
#define TOKEN_BODY_MAX (1u * 1024 * 1024)

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

/* --- URLs a registry sends us --- */

/* Scheme, host and port (default port filled in) of @p url; false when it does not parse. */
static bool
url_parts(const char *url, char **scheme, char **host, char **port)
{
    CURLU *u = curl_url();
    if (!u)
        return false;
    *scheme = *host = *port = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    curl_url_cleanup(u);
    if (!ok) {
        curl_free(*scheme);
        curl_free(*host);
        curl_free(*port);
        *scheme = *host = *port = NULL;
    }
    return ok;
}

int
cocoimg__url_check(bool *same_host, bool *https, const char *url, const char *reg_host,
                   const char *reg_scheme, bool insecure, const char *what, cocoimg_error **err)
{
    *same_host = false;
    if (https)
        *https = false;
    char *us = NULL, *uh = NULL, *up = NULL, *rs = NULL, *rh = NULL, *rp = NULL;
    _cleanup_free_ char *reg_url = NULL;
    int rc = 0;
    if (asprintf(&reg_url, "%s://%s/", reg_scheme ? reg_scheme : "https", reg_host) < 0) {
        reg_url = NULL;
        return cocoimg__error_oom(err);
    }
    if (!url_parts(url, &us, &uh, &up))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "registry '%s': invalid %s URL",
                                  reg_host, what);
    if (strcasecmp(us, "https") != 0 && strcasecmp(us, "http") != 0) {
        rc = cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                "registry '%s': %s URL with scheme '%s' refused", reg_host, what,
                                us);
    } else if (strcasecmp(us, "http") == 0 && !insecure) {
        rc = cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                "registry '%s': plain-http %s on '%s' refused for a TLS-verified "
                                "registry",
                                reg_host, what, uh);
    } else if (url_parts(reg_url, &rs, &rh, &rp)) {
        *same_host = strcasecmp(uh, rh) == 0 && strcmp(up, rp) == 0;
        if (https)
            *https = strcasecmp(us, "https") == 0;
    }
    curl_free(us);
    curl_free(uh);
    curl_free(up);
    curl_free(rs);
    curl_free(rh);
    curl_free(rp);
    return rc;
}

int
cocoimg__location_check(bool *same_host, const char *url, const char *reg_host,
                        const char *reg_scheme, bool insecure, cocoimg_error **err)
{
    bool https = false;
    int rc = cocoimg__url_check(same_host, &https, url, reg_host, reg_scheme, insecure,
                                "upload Location", err);
    if (rc < 0)
        return rc;
    if ((!reg_scheme || strcmp(reg_scheme, "https") == 0) && !https) {
        *same_host = false;
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                  "registry '%s': upload Location downgrades https to plain http: "
                                  "refused",
                                  reg_host);
    }
    return 0;
}

int
cocoimg__auth_realm_check(bool *send, const char *realm, const char *reg_host,
                          const char *reg_scheme, bool insecure, cocoimg_error **err)
{
    *send = false;
    bool same = false, https = false;
    int rc = cocoimg__url_check(&same, &https, realm, reg_host, reg_scheme, insecure, "token realm",
                                err);
    if (rc < 0)
        return rc;
    *send = https || same;
    return 0;
}

bool
cocoimg__auth_token_ok(const char *tok, size_t len)
{
    if (!tok || len == 0 || len > 65536)
        return false;
    size_t i = 0;
    for (; i < len; i++) {
        char c = tok[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            break;
    }
    if (i == 0)
        return false;
    while (i < len && tok[i] == '=')
        i++;
    return i == len;
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
    /* docker's order: credHelpers[host], then credsStore, then auths */
    const char *helper = NULL;
    json_t *helpers = json_object_get(root, "credHelpers");
    if (helpers && !json_is_object(helpers))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'credHelpers' must be an object",
                                  what);
    const char *hkey;
    json_t *hval;
    json_object_foreach(helpers, hkey, hval)
    {
        _cleanup_free_ char *k = normalize_key(hkey);
        if (!k)
            return cocoimg__error_oom(err);
        if (strcmp(k, host) != 0)
            continue;
        if (!json_is_string(hval))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "%s: credHelpers entry '%s' is not a string", what, hkey);
        helper = json_string_value(hval);
    }
    json_t *store = json_object_get(root, "credsStore");
    if (store && !json_is_string(store))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'credsStore' must be a string",
                                  what);
    if ((!helper || !*helper) && store)
        helper = json_string_value(store);
    if (helper && *helper) {
        /* docker keeps Docker Hub credentials under its legacy index URL */
        const char *server = strcmp(host, "docker.io") == 0 ? "https://index.docker.io/v1/" : host;
        r = cocoimg__credhelper_get(found, user_out, pass_out, helper, server, 0, err);
        return r < 0 ? cocoimg__error_wrap(err, r, "%s", what) : 0;
    }

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
lookup_file(bool *found, char **user_out, cocoimg__secret **pass_out, const cocoimg_context *ctx,
            const char *path, bool must_exist, const char *host, cocoimg_error **err)
{
    *found = false;
    uint8_t *buf = NULL;
    size_t len = 0;
    cocoimg_error *e = NULL;
    int r = cocoimg__context_read(ctx, path, &buf, &len, AUTHFILE_MAX, &e);
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
                       const cocoimg_context *ctx, const char *authfile, const char *host,
                       cocoimg_error **err)
{
    *found = false;
    if (authfile)
        return lookup_file(found, user_out, pass_out, ctx, authfile, true, host, err);

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
        r = lookup_file(found, user_out, pass_out, NULL, paths[i], false, host, err);
        if (r < 0)
            goto out;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    return r;
}

/* --- credential helpers (docker-credential-NAME get) --- */

/*
 * What a helper may see of our environment: where to find its tools and
 * its store (keyrings, pass, cloud SDK configuration), nothing else.
 */
static const char *const helper_env_names[] = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "GNUPGHOME",
    "GPG_TTY",
    "PASSWORD_STORE_DIR",
};
/* Cloud helpers (ecr-login, gcloud, acr) read their settings from these. */
static const char *const helper_env_prefixes[] = {"AWS_", "GOOGLE_", "CLOUDSDK_", "AZURE_"};

static bool
helper_env_wanted(const char *var)
{
    size_t n = strcspn(var, "=");
    if (var[n] != '=')
        return false;
    for (size_t i = 0; i < sizeof(helper_env_names) / sizeof(*helper_env_names); i++)
        if (strlen(helper_env_names[i]) == n && strncmp(var, helper_env_names[i], n) == 0)
            return true;
    for (size_t i = 0; i < sizeof(helper_env_prefixes) / sizeof(*helper_env_prefixes); i++)
        if (strncmp(var, helper_env_prefixes[i], strlen(helper_env_prefixes[i])) == 0)
            return true;
    return false;
}

/* A helper name is one file name component: no path, no option. */
static bool
helper_name_ok(const char *name)
{
    if (!*name || *name == '-' || *name == '.' || strlen(name) > 64)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            return false;
    return true;
}

/*
 * The absolute path of @p prog in $PATH.  Empty and relative entries are
 * skipped: a helper is never run from the current directory.
 */
static int
find_in_path(char **out, const char *prog, cocoimg_error **err)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && p[0] == '/') {
            char *cand = NULL;
            if (asprintf(&cand, "%.*s/%s", (int)n, p, prog) < 0)
                return cocoimg__error_oom(err);
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                *out = cand;
                return 0;
            }
            free(cand);
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "credential helper '%s' not found in PATH",
                              prog);
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kill (if @p kill_it) and reap @p pid; *status gets its wait status. */
static void
reap(pid_t pid, bool kill_it, int *status)
{
    if (kill_it)
        (void)kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/*
 * Run "@p path get" with @p input on its stdin; its stdout (at most
 * CREDHELPER_OUTPUT_MAX bytes) goes to @p buf, *len_out.  The child gets a
 * filtered environment, stderr on /dev/null and no other descriptor.  On
 * success *status is its wait status.  COCOIMG_ELIMIT when it takes longer
 * than @p timeout_ms or writes too much (it is killed).
 */
static int
run_helper(int *status, uint8_t *buf, size_t cap, size_t *len_out, const char *path,
           const char *name, const char *input, unsigned int timeout_ms, cocoimg_error **err)
{
    extern char **environ;
    int r = 0;
    size_t n_env = 0;
    for (char **e = environ; e && *e; e++)
        n_env++;
    _cleanup_free_ char **envp = calloc(n_env + 1, sizeof(*envp));
    if (!envp)
        return cocoimg__error_oom(err);
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (helper_env_wanted(*e))
            envp[k++] = *e;

    /* stdin is a socket so a helper that exits unread cannot SIGPIPE us (MSG_NOSIGNAL) */
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "credential helper '%s': socketpair",
                                  name);
    if (pipe2(out, O_CLOEXEC) < 0) {
        r = cocoimg__error_set(err, COCOIMG_EIO, errno, "credential helper '%s': pipe", name);
        close(in[0]);
        close(in[1]);
        return r;
    }
    _cleanup_close_ int to_child = in[0], from_child = out[0];

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in[1], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* the caller's signal mask and handlers are not the helper's business */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {(char *)path, (char *)"get", NULL};
    pid_t pid;
    int e = posix_spawn(&pid, path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[1]);
    close(out[1]);
    if (e)
        return cocoimg__error_set(err, COCOIMG_EIO, e, "credential helper '%s': cannot run '%s'",
                                  name, path);

    (void)fcntl(to_child, F_SETFL, O_NONBLOCK);
    (void)fcntl(from_child, F_SETFL, O_NONBLOCK);
    const char *wp = input;
    size_t wleft = strlen(input);
    size_t len = 0;
    bool eof = false;
    int64_t deadline = now_ms() + timeout_ms;
    if (wleft == 0)
        to_child = (close(to_child), -1);
    while (!eof) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            goto timeout;
        struct pollfd pfd[2] = {{from_child, POLLIN, 0}, {to_child, POLLOUT, 0}};
        int np = poll(pfd, to_child >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left));
        if (np < 0 && errno != EINTR) {
            r = cocoimg__error_set(err, COCOIMG_EIO, errno, "credential helper '%s': poll", name);
            reap(pid, true, status);
            goto out;
        }
        if (np <= 0)
            continue;
        if (to_child >= 0 && pfd[1].revents) {
            ssize_t w = send(to_child, wp, wleft, MSG_NOSIGNAL);
            if (w > 0) {
                wp += w;
                wleft -= (size_t)w;
            }
            /* written, or the helper does not read it: either way it sees EOF now */
            if (wleft == 0 || (w < 0 && errno != EAGAIN && errno != EINTR))
                to_child = (close(to_child), -1);
        }
        if (pfd[0].revents) {
            ssize_t rd = read(from_child, buf + len, cap - len);
            if (rd == 0) {
                eof = true;
            } else if (rd > 0) {
                len += (size_t)rd;
                if (len == cap) {
                    r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                           "credential helper '%s': output exceeds %zu bytes", name,
                                           cap - 1);
                    reap(pid, true, status);
                    goto out;
                }
            } else if (errno != EAGAIN && errno != EINTR) {
                r = cocoimg__error_set(err, COCOIMG_EIO, errno, "credential helper '%s': read",
                                       name);
                reap(pid, true, status);
                goto out;
            }
        }
    }
    /* stdout closed: wait for the exit, still within the deadline */
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            r = cocoimg__error_set(err, COCOIMG_EIO, errno, "credential helper '%s': wait", name);
            goto out;
        }
        if (now_ms() >= deadline)
            goto timeout;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    *len_out = len;
    goto out;
timeout:
    reap(pid, true, status);
    r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                           "credential helper '%s' did not answer within %u ms", name, timeout_ms);
out:
    return r;
}

/* The first line of a helper's error output, printable characters only, bounded. */
static void
first_line(char *dst, size_t dlen, const uint8_t *src, size_t slen)
{
    size_t n = 0;
    for (size_t i = 0; i < slen && n + 1 < dlen && src[i] != '\n'; i++)
        dst[n++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

/* Wipe the bytes of a jansson string in place (jansson frees without wiping). */
static void
wipe_json_string(json_t *s)
{
    if (json_is_string(s))
        cocoimg__wipe((char *)json_string_value(s), json_string_length(s));
}

int
cocoimg__credhelper_parse(bool *found, char **user_out, cocoimg__secret **pass_out,
                          const uint8_t *buf, size_t len, const char *prog, const char *server,
                          cocoimg_error **err)
{
    *found = false;
    int r = 0;
    json_t *j = NULL;
    /* our own message: jansson's would quote the text near the error */
    json_error_t jerr;
    j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    cocoimg__wipe(&jerr, sizeof(jerr));
    const char *user = j ? cocoimg__json_str(j, "Username") : NULL;
    json_t *sj = j ? json_object_get(j, "Secret") : NULL;
    if (!json_is_object(j) || !user || !json_is_string(sj)) {
        if (j) {
            wipe_json_string(sj);
            wipe_json_string(json_object_get(j, "Username"));
        }
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               "credential helper '%s': output is not a JSON object with "
                               "'Username' and 'Secret' strings",
                               prog);
        goto done;
    }
    size_t slen = json_string_length(sj);
    if (!*user && slen == 0)
        goto done; /* empty credentials: none */
    if (strcmp(user, "<token>") == 0) {
        wipe_json_string(sj);
        r = cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                               "credential helper '%s' returned an identity token for '%s': "
                               "identity tokens are not supported",
                               prog, server);
        goto done;
    }
    if (!*user || memchr(user, ':', strlen(user))) {
        wipe_json_string(sj);
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               "credential helper '%s': empty user name or one with ':'", prog);
        goto done;
    }
    char *u = strdup(user);
    cocoimg__secret *pass = NULL;
    r = u ? cocoimg__secret_new(&pass, slen + 1, err) : cocoimg__error_oom(err);
    if (r == 0) {
        memcpy(pass->ptr, json_string_value(sj), slen);
        pass->len = slen; /* NUL-terminated after len, like the authfile passwords */
        *user_out = u;
        *pass_out = pass;
        *found = true;
    } else {
        free(u);
    }
    wipe_json_string(sj);
done:
    json_decref(j);
    return r;
}

int
cocoimg__credhelper_get(bool *found, char **user_out, cocoimg__secret **pass_out,
                        const char *helper, const char *server, unsigned int timeout_ms,
                        cocoimg_error **err)
{
    *found = false;
    if (!helper_name_ok(helper))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid credential helper name '%s'",
                                  helper);
    char prog[96];
    snprintf(prog, sizeof(prog), "docker-credential-%s", helper);
    _cleanup_free_ char *path = NULL;
    int r = find_in_path(&path, prog, err);
    if (r < 0)
        return r;
    uint8_t *buf = malloc(CREDHELPER_OUTPUT_MAX + 1);
    if (!buf)
        return cocoimg__error_oom(err);
    size_t len = 0;
    int status = 0;
    r = run_helper(&status, buf, CREDHELPER_OUTPUT_MAX + 1, &len, path, prog, server,
                   timeout_ms ? timeout_ms : CREDHELPER_TIMEOUT_MS, err);
    if (r < 0)
        goto out;
    if (WIFSIGNALED(status)) {
        r = cocoimg__error_set(err, COCOIMG_ERROR, 0, "credential helper '%s' killed by signal %d",
                               prog, WTERMSIG(status));
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* docker-credential-helpers: "credentials not found in native keychain" */
        if (memmem(buf, len, "credentials not found", 21))
            goto out;
        char line[121];
        first_line(line, sizeof(line), buf, len);
        r = cocoimg__error_set(err, COCOIMG_ERROR, 0, "credential helper '%s' failed (exit %d)%s%s",
                               prog, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                               *line ? ": " : "", line);
        goto out;
    }
    r = cocoimg__credhelper_parse(found, user_out, pass_out, buf, len, prog, server, err);
out:
    cocoimg__wipe(buf, CREDHELPER_OUTPUT_MAX + 1);
    free(buf);
    return r;
}

/* --- tokens and the Authorization header --------------------------------- */

static void
token_free(struct cocoimg__token *t)
{
    free(t->scope);
    cocoimg__free_wipe_str(t->value);
    free(t);
}

void
cocoimg__auth_tokens_clear(cocoimg__registry *r)
{
    while (r->tokens) {
        struct cocoimg__token *t = r->tokens;
        r->tokens = t->next;
        token_free(t);
    }
}

static struct cocoimg__token *
token_lookup(cocoimg__registry *r, const char *scope)
{
    time_t now = time(NULL);
    for (struct cocoimg__token *t = r->tokens; t; t = t->next)
        if (strcmp(t->scope, scope) == 0 && t->expires > now)
            return t;
    return NULL;
}

void
cocoimg__auth_token_drop(cocoimg__registry *r, const char *scope)
{
    for (struct cocoimg__token **pp = &r->tokens; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->scope, scope) == 0) {
            struct cocoimg__token *t = *pp;
            *pp = t->next;
            token_free(t);
            return;
        }
}

static int
basic_header(char **out, const cocoimg__registry *r, cocoimg_error **err)
{
    size_t ul = strlen(r->username), pl = r->password->len;
    _cleanup_secret_ cocoimg__secret *raw = NULL;
    int rc = cocoimg__secret_new(&raw, ul + 1 + pl, err);
    if (rc < 0)
        return rc;
    memcpy(raw->ptr, r->username, ul);
    raw->ptr[ul] = ':';
    memcpy(raw->ptr + ul + 1, r->password->ptr, pl);
    char *b64 = NULL;
    rc = cocoimg__b64_encode(&b64, raw->ptr, raw->len, COCOIMG_B64_STD, err);
    if (rc < 0)
        return rc;
    char *h = NULL;
    if (asprintf(&h, "Authorization: Basic %s", b64) < 0)
        h = NULL;
    cocoimg__free_wipe_str(b64);
    if (!h)
        return cocoimg__error_oom(err);
    *out = h;
    return 0;
}

/*
 * Get a Bearer token for @p scope (space-separated scopes) from the realm
 * of the registry's challenge, with Basic credentials when we have any.
 */
static int
fetch_token(cocoimg__registry *r, const cocoimg__auth_challenge *ch, const char *scope,
            const char *repo, cocoimg_error **err)
{
    CURLU *u = curl_url();
    if (!u)
        return cocoimg__error_oom(err);
    int rc = 0;
    char *url = NULL;
    if (curl_url_set(u, CURLUPART_URL, ch->realm, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registry '%s': invalid token realm '%s'", r->host, ch->realm);
    }
    _cleanup_free_ char *q = NULL;
    if (ch->service) {
        if (asprintf(&q, "service=%s", ch->service) < 0 ||
            curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
            rc = cocoimg__error_oom(err);
        free(TAKE_PTR(q));
    }
    for (const char *s = scope; rc == 0 && s && *s;) {
        size_t n = strcspn(s, " ");
        if (n &&
            (asprintf(&q, "scope=%.*s", (int)n, s) < 0 ||
             curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK))
            rc = cocoimg__error_oom(err);
        free(TAKE_PTR(q));
        s += n;
        while (*s == ' ')
            s++;
    }
    if (rc == 0 && curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
        rc = cocoimg__error_oom(err);
    curl_url_cleanup(u);
    if (rc < 0)
        return rc;

    pthread_mutex_lock(&r->lock);
    const char *reg_scheme = r->scheme;
    pthread_mutex_unlock(&r->lock);
    bool send_creds = false;
    if ((rc = cocoimg__auth_realm_check(&send_creds, url, r->host, reg_scheme, r->insecure, err)) <
        0) {
        curl_free(url);
        return rc;
    }
    if (r->username && !send_creds)
        cocoimg__log(r->ctx, COCOIMG_LOG_WARNING,
                     "registry '%s': token realm is plain http on another host: credentials "
                     "not sent there",
                     r->host);
    char *auth = NULL;
    if (r->username && send_creds && (rc = basic_header(&auth, r, err)) < 0) {
        curl_free(url);
        return rc;
    }
    struct cocoimg__xfer_spec sp = {.method = "GET",
                                    .url = url,
                                    .auth_header = auth,
                                    .max_body = TOKEN_BODY_MAX,
                                    .follow = true};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    rc = cocoimg__registry_run(&x, r, &sp, "token request", err);
    curl_free(url);
    if (auth)
        cocoimg__free_wipe_str(auth);
    if (rc < 0)
        return rc;
    if (x->status != 200) {
        rc = cocoimg__registry_status_error(r, repo, "token request", x, err);
        return x->status == 404 ? cocoimg__error_set(err, COCOIMG_EHTTP, 0, "token realm not found")
                                : rc;
    }
    _cleanup_json_ json_t *j = NULL;
    rc = cocoimg__json_loadb(&j, x->body, x->body_len, TOKEN_BODY_MAX, true, "token response", err);
    cocoimg__wipe(x->body, x->body_len);
    if (rc < 0)
        return cocoimg__error_wrap(err, rc, "registry '%s'", r->host);
    json_t *tj = json_object_get(j, "token");
    if (!json_is_string(tj) || json_string_length(tj) == 0)
        tj = json_object_get(j, "access_token");
    wipe_json_string(json_object_get(j, "refresh_token"));
    if (!json_is_string(tj) || json_string_length(tj) == 0) {
        wipe_json_string(json_object_get(j, "token"));
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registry '%s': token response without a token", r->host);
    }
    /* the token goes into a header: no CR/LF (header injection), no control characters */
    if (!cocoimg__auth_token_ok(json_string_value(tj), json_string_length(tj))) {
        wipe_json_string(json_object_get(j, "token"));
        wipe_json_string(json_object_get(j, "access_token"));
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registry '%s': token response: the token has characters a "
                                  "Bearer token cannot have",
                                  r->host);
    }
    const char *tok = json_string_value(tj);
    json_int_t exp = 60;
    json_t *e = json_object_get(j, "expires_in");
    if (json_is_integer(e) && json_integer_value(e) > 0)
        exp = json_integer_value(e);
    if (exp > 86400)
        exp = 86400;
    struct cocoimg__token *t = calloc(1, sizeof(*t));
    if (!t || !(t->scope = strdup(scope)) || !(t->value = strdup(tok))) {
        if (t)
            free(t->scope);
        free(t);
        wipe_json_string(json_object_get(j, "token"));
        wipe_json_string(json_object_get(j, "access_token"));
        return cocoimg__error_oom(err);
    }
    wipe_json_string(json_object_get(j, "token"));
    wipe_json_string(json_object_get(j, "access_token"));
    /* renew a little early so a token does not expire in flight */
    t->expires = time(NULL) + (exp > 20 ? exp - 10 : exp);
    pthread_mutex_lock(&r->lock);
    cocoimg__auth_token_drop(r, scope);
    t->next = r->tokens;
    r->tokens = t;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int
cocoimg__auth_header(char **out, cocoimg__registry *r, const char *scope, const char *repo,
                     cocoimg_error **err)
{
    *out = NULL;
    pthread_mutex_lock(&r->lock);
    cocoimg__auth_scheme scheme = r->chal.scheme;
    pthread_mutex_unlock(&r->lock);
    if (scheme == COCOIMG_AUTH_BASIC)
        return r->username ? basic_header(out, r, err) : 0;
    if (scheme != COCOIMG_AUTH_BEARER || !scope)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        pthread_mutex_lock(&r->lock);
        struct cocoimg__token *t = token_lookup(r, scope);
        int n = t ? asprintf(out, "Authorization: Bearer %s", t->value) : 0;
        pthread_mutex_unlock(&r->lock);
        if (n < 0) {
            *out = NULL;
            return cocoimg__error_oom(err);
        }
        if (t)
            return 0;
        if (pass == 0) {
            /* copy the challenge: another thread may replace it meanwhile */
            cocoimg__auth_challenge ch = {0};
            pthread_mutex_lock(&r->lock);
            ch.scheme = r->chal.scheme;
            ch.realm = r->chal.realm ? strdup(r->chal.realm) : NULL;
            ch.service = r->chal.service ? strdup(r->chal.service) : NULL;
            pthread_mutex_unlock(&r->lock);
            int rc = ch.realm ? fetch_token(r, &ch, scope, repo, err) : cocoimg__error_oom(err);
            cocoimg__auth_challenge_clear(&ch);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}
