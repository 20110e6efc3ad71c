/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containers-registries.conf(5) v2 (see regconf.h), written from the man
 * page and the behaviour of containers/image's sysregistriesv2.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cocoimg/context.h>

#include "oci/model.h"
#include "registry/regconf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/toml.h"

#define SYSTEM_CONF "/etc/containers/registries.conf"
#define SYSTEM_CONF_D "/etc/containers/registries.conf.d"
#define MAX_DROPINS 256

enum pull_from { PULL_ALL = 0, PULL_DIGEST_ONLY, PULL_TAG_ONLY };
enum short_mode { SHORT_ENFORCING = 0, SHORT_PERMISSIVE, SHORT_DISABLED };

struct mirror {
    char *location;
    bool insecure;
    enum pull_from pull_from;
};

struct reg {
    char *prefix;   /* HOST[/PATH] or *.DOMAIN */
    char *location; /* HOST[/PATH]; NULL for a wildcard prefix without one */
    bool insecure, blocked, by_digest_only;
    struct mirror *mirrors;
    size_t nmirrors;
    char *file; /* where it was defined */
};

struct cocoimg__regconf {
    struct reg *regs;
    size_t nregs;
    char **search;
    size_t nsearch;
    char *search_file;
    enum short_mode mode;
    json_t *aliases;     /* short name -> fully qualified name */
    json_t *alias_files; /* short name -> file */
    char *files;         /* the files read, for messages */
};

static void
reg_clear(struct reg *r)
{
    free(r->prefix);
    free(r->location);
    for (size_t i = 0; i < r->nmirrors; i++)
        free(r->mirrors[i].location);
    free(r->mirrors);
    free(r->file);
    memset(r, 0, sizeof(*r));
}

void
cocoimg__regconf_free(struct cocoimg__regconf *rc)
{
    if (!rc)
        return;
    for (size_t i = 0; i < rc->nregs; i++)
        reg_clear(&rc->regs[i]);
    free(rc->regs);
    for (size_t i = 0; i < rc->nsearch; i++)
        free(rc->search[i]);
    free(rc->search);
    free(rc->search_file);
    json_decref(rc->aliases);
    json_decref(rc->alias_files);
    free(rc->files);
    free(rc);
}

COCOIMG_DEFINE_CLEANUP(struct cocoimg__regconf, cocoimg__regconf_free)
COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

/* --- validation -------------------------------------------------------- */

static bool
valid_host(const char *h, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    bool qualified = (len == 9 && !memcmp(h, "localhost", 9));
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.' || c == ':')
            qualified = true;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '[' || c == ']'))
            return false;
    }
    return qualified;
}

static bool
valid_path(const char *p)
{
    /* repository path components: lowercase alphanumerics and separators */
    if (!*p)
        return false;
    for (; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/'))
            return false;
        if (c == '/' && (p[1] == '/' || p[1] == '\0'))
            return false;
    }
    return true;
}

/*
 * A location or prefix: HOST[:PORT][/PATH], trailing '/' removed, no URI
 * scheme.  @p wildcard allows *.DOMAIN (prefixes only).
 */
static int
norm_location(char **out, const char *v, const char *what, const char *file, bool wildcard,
              cocoimg_error **err)
{
    _cleanup_free_ char *s = strdup(v);
    if (!s)
        return cocoimg__error_oom(err);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    if (!n)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "registries.conf %s: %s is empty", file,
                                  what);
    if (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s '%.200s': URI schemes are not supported "
                                  "(write HOST[:PORT][/PATH]; 'insecure = true' allows plain HTTP)",
                                  file, what, s);
    if (wildcard && !strncmp(s, "*.", 2)) {
        if (strchr(s, '/') || !valid_host(s + 2, strlen(s + 2)) || strchr(s + 2, '*'))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: %s '%.200s': a wildcard prefix is "
                                      "*.DOMAIN",
                                      file, what, s);
        *out = TAKE_PTR(s);
        return 0;
    }
    char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : n;
    if (!valid_host(s, hl) || (slash && !valid_path(slash + 1)))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s '%.200s': not HOST[:PORT][/PATH]", file,
                                  what, s);
    *out = TAKE_PTR(s);
    return 0;
}

/* A fully qualified image name without tag or digest (an alias value). */
static bool
valid_qualified_name(const char *v)
{
    const char *slash = strchr(v, '/');
    if (!slash || !valid_host(v, (size_t)(slash - v)))
        return false;
    if (strchr(slash, ':') || strchr(slash, '@'))
        return false;
    return valid_path(slash + 1);
}

static int
bool_field(bool *out, const json_t *obj, const char *key, const char *where, const char *file,
           cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s.%s: not a boolean", file, where, key);
    *out = json_is_true(v);
    return 0;
}

static int
string_field(const char **out, const json_t *obj, const char *key, const char *where,
             const char *file, cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s.%s: not a string", file, where, key);
    *out = json_string_value(v);
    return 0;
}

/* Fields of a table other than @p known (NULL-terminated) are refused. */
static int
known_fields(const json_t *obj, const char *const *known, const char *where, const char *file,
             cocoimg_error **err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok = ok || !strcmp(k, known[i]);
        if (!ok)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: %s: unknown field '%.64s'", file, where,
                                      k);
    }
    return 0;
}

static int
parse_mirror(struct mirror *m, const json_t *obj, const char *where, const char *file,
             bool by_digest_only, cocoimg_error **err)
{
    static const char *const known[] = {"location", "insecure", "pull-from-mirror", NULL};
    if (!json_is_object(obj))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "registries.conf %s: %s: not a table",
                                  file, where);
    int r = known_fields(obj, known, where, file, err);
    if (r < 0)
        return r;
    const char *loc, *pf;
    if ((r = string_field(&loc, obj, "location", where, file, err)) < 0 ||
        (r = string_field(&pf, obj, "pull-from-mirror", where, file, err)) < 0 ||
        (r = bool_field(&m->insecure, obj, "insecure", where, file, err)) < 0)
        return r;
    if (!loc)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s: a mirror needs a location", file, where);
    if ((r = norm_location(&m->location, loc, "mirror location", file, false, err)) < 0)
        return r;
    if (!pf || !strcmp(pf, "all")) {
        m->pull_from = PULL_ALL;
    } else if (!strcmp(pf, "digest-only")) {
        m->pull_from = PULL_DIGEST_ONLY;
    } else if (!strcmp(pf, "tag-only")) {
        m->pull_from = PULL_TAG_ONLY;
    } else {
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s.pull-from-mirror: '%.64s' is not one of "
                                  "all, digest-only, tag-only",
                                  file, where, pf);
    }
    if (pf && by_digest_only)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s: pull-from-mirror cannot be set when the "
                                  "registry has mirror-by-digest-only",
                                  file, where);
    return 0;
}

static int
parse_registry(struct reg *out, const json_t *obj, size_t idx, const char *file,
               cocoimg_error **err)
{
    static const char *const known[] = {
        "prefix", "location", "insecure", "blocked", "mirror-by-digest-only", "mirror", NULL};
    char where[48];
    snprintf(where, sizeof(where), "registry[%zu]", idx);
    if (!json_is_object(obj))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "registries.conf %s: %s: not a table",
                                  file, where);
    int r = known_fields(obj, known, where, file, err);
    if (r < 0)
        return r;
    const char *prefix, *loc;
    if ((r = string_field(&prefix, obj, "prefix", where, file, err)) < 0 ||
        (r = string_field(&loc, obj, "location", where, file, err)) < 0 ||
        (r = bool_field(&out->insecure, obj, "insecure", where, file, err)) < 0 ||
        (r = bool_field(&out->blocked, obj, "blocked", where, file, err)) < 0 ||
        (r = bool_field(&out->by_digest_only, obj, "mirror-by-digest-only", where, file, err)) < 0)
        return r;
    if (loc && !*loc)
        loc = NULL;
    if (prefix && !*prefix)
        prefix = NULL;
    if (!prefix && !loc)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s: neither prefix nor location is set",
                                  file, where);
    if (loc && (r = norm_location(&out->location, loc, "location", file, false, err)) < 0)
        return r;
    if ((r = norm_location(&out->prefix, prefix ? prefix : loc, "prefix", file, true, err)) < 0)
        return r;
    if (!out->location && strncmp(out->prefix, "*.", 2) != 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registries.conf %s: %s: no location, and prefix '%.200s' is not "
                                  "a wildcard (*.DOMAIN)",
                                  file, where, out->prefix);
    json_t *ms = json_object_get(obj, "mirror");
    if (ms) {
        if (!json_is_array(ms))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: %s.mirror: not an array of tables", file,
                                      where);
        size_t n = json_array_size(ms);
        if (n > 64)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                      "registries.conf %s: %s: more than 64 mirrors", file, where);
        if (n && !(out->mirrors = calloc(n, sizeof(*out->mirrors))))
            return cocoimg__error_oom(err);
        for (size_t i = 0; i < n; i++) {
            char mw[80];
            snprintf(mw, sizeof(mw), "%s.mirror[%zu]", where, i);
            out->nmirrors = i + 1;
            if ((r = parse_mirror(&out->mirrors[i], json_array_get(ms, i), mw, file,
                                  out->by_digest_only, err)) < 0)
                return r;
        }
    }
    if (!(out->file = strdup(file)))
        return cocoimg__error_oom(err);
    return 0;
}

/* --- loading ----------------------------------------------------------- */

static int
add_file_name(struct cocoimg__regconf *rc, const char *path, cocoimg_error **err)
{
    char *n = NULL;
    if (asprintf(&n, "%s%s%s", rc->files ? rc->files : "", rc->files ? ", " : "", path) < 0)
        return cocoimg__error_oom(err);
    free(rc->files);
    rc->files = n;
    return 0;
}

/* Merge one parsed file into @p rc (later files override, as drop-ins do). */
static int
merge(struct cocoimg__regconf *rc, const json_t *doc, const char *file, cocoimg_error **err)
{
    int r;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (!strcmp(k, "registries"))
            return cocoimg__error_set(
                err, COCOIMG_ENOTSUP, 0,
                "registries.conf %s: the version 1 format ([registries.search] "
                "...) is not supported: use [[registry]] tables "
                "(containers-registries.conf(5))",
                file);
        if (strcmp(k, "registry") && strcmp(k, "unqualified-search-registries") &&
            strcmp(k, "short-name-mode") && strcmp(k, "aliases") &&
            strcmp(k, "credential-helpers") && strcmp(k, "additional-layer-store-auth-helper"))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: unknown setting '%.64s'", file, k);
    }
    json_t *regs = json_object_get(doc, "registry");
    if (regs) {
        if (!json_is_array(regs))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: registry: not an array of tables "
                                      "([[registry]])",
                                      file);
        size_t n = json_array_size(regs);
        if (n > 1024 || rc->nregs + n > 4096)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                      "registries.conf %s: too many [[registry]] tables", file);
        struct reg *nv = realloc(rc->regs, (rc->nregs + n + 1) * sizeof(*nv));
        if (!nv)
            return cocoimg__error_oom(err);
        rc->regs = nv;
        size_t first_new = rc->nregs;
        for (size_t i = 0; i < n; i++) {
            struct reg g = {0};
            if ((r = parse_registry(&g, json_array_get(regs, i), i, file, err)) < 0) {
                reg_clear(&g);
                return r;
            }
            bool replaced = false;
            for (size_t j = 0; j < rc->nregs; j++) {
                if (strcmp(rc->regs[j].prefix, g.prefix) != 0)
                    continue;
                if (j >= first_new) {
                    char *p = strdup(g.prefix);
                    reg_clear(&g);
                    r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                           "registries.conf %s: prefix '%.200s' is defined twice",
                                           file, p ? p : "?");
                    free(p);
                    return r;
                }
                /* a drop-in redefines the registry of an earlier file */
                reg_clear(&rc->regs[j]);
                rc->regs[j] = g;
                replaced = true;
                break;
            }
            if (!replaced)
                rc->regs[rc->nregs++] = g;
        }
    }
    json_t *us = json_object_get(doc, "unqualified-search-registries");
    if (us) {
        if (!json_is_array(us) || json_array_size(us) > 64)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: unqualified-search-registries: not an "
                                      "array of at most 64 strings",
                                      file);
        for (size_t i = 0; i < rc->nsearch; i++)
            free(rc->search[i]);
        free(rc->search);
        rc->search = NULL;
        rc->nsearch = 0;
        size_t n = json_array_size(us);
        if (n && !(rc->search = calloc(n, sizeof(char *))))
            return cocoimg__error_oom(err);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(us, i);
            const char *s = json_string_value(e);
            size_t sl = s ? strlen(s) : 0;
            while (sl > 0 && s[sl - 1] == '/')
                sl--;
            if (!s || !valid_host(s, sl) || (strcmp(s, "docker.io") && strchr(s, '/')))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "registries.conf %s: unqualified-search-registries[%zu]: "
                                          "not HOST[:PORT]",
                                          file, i);
            if (!(rc->search[i] = strndup(s, sl)))
                return cocoimg__error_oom(err);
            rc->nsearch = i + 1;
        }
        free(rc->search_file);
        if (!(rc->search_file = strdup(file)))
            return cocoimg__error_oom(err);
    }
    json_t *mode = json_object_get(doc, "short-name-mode");
    if (mode) {
        const char *m = json_string_value(mode);
        if (m && !strcmp(m, "enforcing"))
            rc->mode = SHORT_ENFORCING;
        else if (m && !strcmp(m, "permissive"))
            rc->mode = SHORT_PERMISSIVE;
        else if (m && !strcmp(m, "disabled"))
            rc->mode = SHORT_DISABLED;
        else
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: short-name-mode: not one of enforcing, "
                                      "permissive, disabled",
                                      file);
    }
    json_t *al = json_object_get(doc, "aliases");
    if (al) {
        if (!json_is_object(al))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "registries.conf %s: aliases: not a table", file);
        json_object_foreach(al, k, v)
        {
            const char *val = json_string_value(v);
            if (!strchr(k, '/') ? false : valid_host(k, (size_t)(strchr(k, '/') - k)))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "registries.conf %s: aliases: '%.200s' is fully "
                                          "qualified, not a short name",
                                          file, k);
            if (!*k || !valid_path(k) || strchr(k, ':') || strchr(k, '@'))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "registries.conf %s: aliases: '%.200s' is not a short "
                                          "name (no tag or digest)",
                                          file, k);
            if (!val || !valid_qualified_name(val))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "registries.conf %s: aliases.\"%.200s\": not a fully "
                                          "qualified image name without tag or digest",
                                          file, k);
            if (json_object_set(rc->aliases, k, v) < 0 ||
                json_object_set_new(rc->alias_files, k, json_string(file)) < 0)
                return cocoimg__error_oom(err);
        }
    }
    return 0;
}

static int
load_one(struct cocoimg__regconf *rc, const cocoimg_context *ctx, const char *path, bool missing_ok,
         cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    _cleanup_error_ cocoimg_error *e = NULL;
    int r = cocoimg__context_read(ctx, path, &buf, &len, COCOIMG__TOML_MAX_SIZE, &e);
    if (r == COCOIMG_ENOTFOUND && missing_ok)
        return 0;
    if (r < 0) {
        int code = cocoimg_error_code(e);
        return cocoimg__error_set(err, code, cocoimg_error_errno(e), "registries.conf: %s",
                                  cocoimg_error_message(e));
    }
    _cleanup_(cocoimg__json_decrefp) json_t *doc = NULL;
    char what[PATH_MAX + 32];
    snprintf(what, sizeof(what), "registries.conf %s", path);
    if ((r = cocoimg__toml_parse(&doc, (const char *)buf, len, what, err)) < 0)
        return r;
    if ((r = merge(rc, doc, path, err)) < 0)
        return r;
    return add_file_name(rc, path, err);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf files of @p dir in lexical order; a missing directory has none. */
static int
load_dir(struct cocoimg__regconf *rc, const cocoimg_context *ctx, const char *dir,
         cocoimg_error **err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "registries.conf: %s: %s", dir,
                                  strerror(errno));
    }
    char *names[MAX_DROPINS];
    size_t n = 0;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".conf") || de->d_name[0] == '.')
            continue;
        if (n >= MAX_DROPINS) {
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                   "registries.conf: %s: more than %d drop-in files", dir,
                                   MAX_DROPINS);
            break;
        }
        if (!(names[n] = strdup(de->d_name))) {
            r = cocoimg__error_oom(err);
            break;
        }
        n++;
    }
    closedir(d);
    if (r == 0) {
        qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n && r == 0; i++) {
            char p[PATH_MAX];
            if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, names[i]) >= sizeof(p))
                continue;
            r = load_one(rc, ctx, p, true, err);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return r;
}

static int
regconf_new(struct cocoimg__regconf **out, cocoimg_error **err)
{
    struct cocoimg__regconf *rc = calloc(1, sizeof(*rc));
    if (!rc)
        return cocoimg__error_oom(err);
    rc->aliases = json_object();
    rc->alias_files = json_object();
    if (!rc->aliases || !rc->alias_files) {
        cocoimg__regconf_free(rc);
        return cocoimg__error_oom(err);
    }
    *out = rc;
    return 0;
}

static int
load(struct cocoimg__regconf **out, const cocoimg_context *ctx, const char *path, bool defaults,
     cocoimg_error **err)
{
    _cleanup_(cocoimg__regconf_freep) struct cocoimg__regconf *rc = NULL;
    int r = regconf_new(&rc, err);
    if (r < 0)
        return r;
    if (path) {
        if ((r = load_one(rc, ctx, path, false, err)) < 0)
            return r;
    }
    if (defaults) {
        const char *home = getenv("HOME");
        char user[PATH_MAX] = "", user_d[PATH_MAX] = "";
        if (home && *home == '/') {
            snprintf(user, sizeof(user), "%s/.config/containers/registries.conf", home);
            snprintf(user_d, sizeof(user_d), "%s/.config/containers/registries.conf.d", home);
        }
        struct stat st;
        /* the user's file replaces the system one, as in containers/image */
        if ((r = load_one(rc, ctx, *user && stat(user, &st) == 0 ? user : SYSTEM_CONF, true, err)) <
                0 ||
            (r = load_dir(rc, ctx, SYSTEM_CONF_D, err)) < 0 ||
            (*user_d && (r = load_dir(rc, ctx, user_d, err)) < 0))
            return r;
    }
    *out = TAKE_PTR(rc);
    return 0;
}

int
cocoimg__regconf_load(struct cocoimg__regconf **out, const char *path, bool defaults,
                      cocoimg_error **err)
{
    return load(out, NULL, path, defaults, err);
}

int
cocoimg__regconf_parse(struct cocoimg__regconf **out, const char *text, size_t len,
                       const char *name, cocoimg_error **err)
{
    _cleanup_(cocoimg__regconf_freep) struct cocoimg__regconf *rc = NULL;
    int r = regconf_new(&rc, err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__json_decrefp) json_t *doc = NULL;
    char what[PATH_MAX + 32];
    snprintf(what, sizeof(what), "registries.conf %s", name);
    if ((r = cocoimg__toml_parse(&doc, text, len, what, err)) < 0 ||
        (r = merge(rc, doc, name, err)) < 0 || (r = add_file_name(rc, name, err)) < 0)
        return r;
    *out = TAKE_PTR(rc);
    return 0;
}

static void regconf_slot_free(void *p);

void
cocoimg__regconf_install(cocoimg_context *ctx, struct cocoimg__regconf *rc)
{
    cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_REGCONF, rc,
                              rc ? regconf_slot_free : NULL);
}

static void
regconf_slot_free(void *p)
{
    cocoimg__regconf_free(p);
}

int
cocoimg_context_set_registries_conf(cocoimg_context *ctx, const char *path, unsigned int flags,
                                    cocoimg_error **err)
{
    if (!ctx)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registries.conf: no context");
    if (flags & ~(unsigned int)COCOIMG_REGISTRIES_CONF_NONE)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registries.conf: unknown flags 0x%x",
                                  flags);
    if (flags & COCOIMG_REGISTRIES_CONF_NONE) {
        cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_REGCONF, NULL, NULL);
        return 0;
    }
    if (path && !*path)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registries.conf: empty path");
    struct cocoimg__regconf *rc = NULL;
    int r = load(&rc, ctx, path, path == NULL, err);
    if (r < 0)
        return r;
    if (rc->files)
        cocoimg__log(ctx, COCOIMG_LOG_DEBUG, "registries.conf: read %s", rc->files);
    cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_REGCONF, rc, regconf_slot_free);
    return 0;
}

/* --- lookup ------------------------------------------------------------ */

/*
 * How much of @p name (HOST/REPO) @p prefix matches: the length of the
 * matched part, or 0.  A plain prefix matches itself followed by the end,
 * '/', ':' or '@'; *.DOMAIN matches any host under DOMAIN (not DOMAIN
 * itself), and the match is the whole host.
 */
static size_t
prefix_match(const char *name, const char *prefix)
{
    size_t nl = strlen(name), pl = strlen(prefix);
    if (!strncmp(prefix, "*.", 2)) {
        const char *slash = strchr(name, '/');
        size_t hl = slash ? (size_t)(slash - name) : nl;
        /* the host without a port */
        const char *colon = memchr(name, ':', hl);
        size_t hn = colon ? (size_t)(colon - name) : hl;
        size_t dl = pl - 1; /* ".DOMAIN" */
        if (hn <= dl || memcmp(name + hn - dl, prefix + 1, dl) != 0)
            return 0;
        return hl;
    }
    if (nl < pl || memcmp(name, prefix, pl) != 0)
        return 0;
    if (nl == pl || name[pl] == '/' || name[pl] == ':' || name[pl] == '@')
        return pl;
    return 0;
}

static const struct reg *
find_reg(const struct cocoimg__regconf *rc, const char *name, size_t *match)
{
    const struct reg *best = NULL;
    size_t bl = 0;
    for (size_t i = 0; i < rc->nregs; i++) {
        size_t l = prefix_match(name, rc->regs[i].prefix);
        if (l > bl) {
            bl = l;
            best = &rc->regs[i];
        }
    }
    *match = bl;
    return best;
}

void
cocoimg__regconf_endpoint_clear(cocoimg__regconf_endpoint *e)
{
    free(e->host);
    free(e->repo);
    memset(e, 0, sizeof(*e));
}

void
cocoimg__regconf_endpoints_clear(cocoimg__regconf_endpoints *e)
{
    for (size_t i = 0; i < e->n; i++)
        cocoimg__regconf_endpoint_clear(&e->v[i]);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* @p location (NULL: unchanged) in the place of the first @p match bytes of @p name. */
static int
endpoint_make(cocoimg__regconf_endpoint *out, const char *name, size_t match, const char *location,
              bool insecure, bool mirror, cocoimg_error **err)
{
    _cleanup_free_ char *full = NULL;
    if (asprintf(&full, "%s%s", location ? location : "", name + (location ? match : 0)) < 0)
        return cocoimg__error_oom(err);
    char *slash = strchr(full, '/');
    if (!slash || !slash[1])
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "registries.conf: '%s' rewritten to '%s' names no repository",
                                  name, full);
    *slash = '\0';
    out->host = strdup(full);
    /* official Docker Hub images live under library/ */
    if (!strcmp(full, "docker.io") && !strchr(slash + 1, '/')) {
        if (asprintf(&out->repo, "library/%s", slash + 1) < 0)
            out->repo = NULL;
    } else {
        out->repo = strdup(slash + 1);
    }
    out->insecure = insecure;
    out->mirror = mirror;
    if (!out->host || !out->repo) {
        cocoimg__regconf_endpoint_clear(out);
        return cocoimg__error_oom(err);
    }
    return 0;
}

static int
name_of(char **out, const cocoimg_reference *ref, cocoimg_error **err)
{
    if (asprintf(out, "%s/%s", cocoimg_reference_registry(ref), cocoimg_reference_repository(ref)) <
        0) {
        *out = NULL;
        return cocoimg__error_oom(err);
    }
    return 0;
}

static int
blocked_error(const struct reg *g, const char *name, cocoimg_error **err)
{
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                              "registry '%s' is blocked in registries.conf %s (prefix '%s')", name,
                              g->file, g->prefix);
}

/*
 * HOST/REPO of @p ref, the [[registry]] of the longest prefix that matches
 * it (NULL: none, or no registries.conf) and the matched length; a blocked
 * registry is an error.
 */
static int
lookup(char **name, const struct reg **g, size_t *match, const cocoimg_context *ctx,
       const cocoimg_reference *ref, cocoimg_error **err)
{
    const struct cocoimg__regconf *rc = cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_REGCONF);
    *match = 0;
    int r = name_of(name, ref, err);
    if (r < 0)
        return r;
    *g = rc ? find_reg(rc, *name, match) : NULL;
    if (*g && (*g)->blocked)
        return blocked_error(*g, *name, err);
    return 0;
}

int
cocoimg__regconf_pull_sources(cocoimg__regconf_endpoints *out, const cocoimg_context *ctx,
                              const cocoimg_reference *ref, cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *name = NULL;
    const struct reg *g = NULL;
    size_t match = 0;
    int r = lookup(&name, &g, &match, ctx, ref, err);
    if (r < 0)
        return r;
    bool by_digest = cocoimg_reference_digest(ref) != NULL;
    size_t cap = 1 + (g ? g->nmirrors : 0);
    if (!(out->v = calloc(cap, sizeof(*out->v))))
        return cocoimg__error_oom(err);
    for (size_t i = 0; g && i < g->nmirrors; i++) {
        const struct mirror *m = &g->mirrors[i];
        bool use = by_digest ? m->pull_from != PULL_TAG_ONLY
                             : !g->by_digest_only && m->pull_from != PULL_DIGEST_ONLY;
        if (!use)
            continue;
        if ((r = endpoint_make(&out->v[out->n], name, match, m->location, m->insecure, true, err)) <
            0) {
            cocoimg__regconf_endpoints_clear(out);
            return r;
        }
        out->n++;
    }
    if ((r = endpoint_make(&out->v[out->n], name, match, g ? g->location : NULL, g && g->insecure,
                           false, err)) < 0) {
        cocoimg__regconf_endpoints_clear(out);
        return r;
    }
    out->n++;
    return 0;
}

int
cocoimg__regconf_push_target(cocoimg__regconf_endpoint *out, const cocoimg_context *ctx,
                             const cocoimg_reference *ref, cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *name = NULL;
    const struct reg *g = NULL;
    size_t match = 0;
    int r = lookup(&name, &g, &match, ctx, ref, err);
    if (r < 0)
        return r;
    return endpoint_make(out, name, match, g ? g->location : NULL, g && g->insecure, false, err);
}

/* --- short names ------------------------------------------------------- */

static int
reparse(cocoimg_reference **out, const cocoimg_reference *ref, const char *name,
        cocoimg_error **err)
{
    const char *t = cocoimg_reference_tag(ref), *d = cocoimg_reference_digest(ref);
    _cleanup_free_ char *s = NULL;
    if (asprintf(&s, "docker://%s%s%s%s%s", name, t ? ":" : "", t ? t : "", d ? "@" : "",
                 d ? d : "") < 0) {
        s = NULL;
        return cocoimg__error_oom(err);
    }
    return cocoimg_reference_parse(out, s, err);
}

int
cocoimg__reference_parse_ctx(cocoimg_reference **out, const cocoimg_context *ctx, const char *s,
                             cocoimg_error **err)
{
    cocoimg_reference *ref = NULL;
    int r = cocoimg_reference_parse(&ref, s, err);
    if (r < 0)
        return r;
    const struct cocoimg__regconf *rc = cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_REGCONF);
    const char *sn = cocoimg__reference_short_name(ref);
    if (!rc || !sn) {
        *out = ref;
        return 0;
    }
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *orig = ref;
    json_t *alias = rc->mode == SHORT_DISABLED ? NULL : json_object_get(rc->aliases, sn);
    if (alias) {
        const char *file = json_string_value(json_object_get(rc->alias_files, sn));
        cocoimg__log(ctx, COCOIMG_LOG_INFO, "short name '%s' resolved to '%s' (alias in %s)", sn,
                     json_string_value(alias), file ? file : "registries.conf");
        return reparse(out, orig, json_string_value(alias), err);
    }
    if (rc->nsearch == 0) {
        /* docker's and skopeo's meaning: Docker Hub */
        *out = TAKE_PTR(orig);
        return 0;
    }
    if (rc->nsearch > 1)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "short name '%s' is ambiguous: registries.conf %s lists %zu "
                                  "unqualified-search registries (%s, %s%s) and coco-img never "
                                  "picks one by trying them in turn: write a fully qualified name "
                                  "(e.g. %s/%s) or add an [aliases] entry",
                                  sn, rc->search_file, rc->nsearch, rc->search[0], rc->search[1],
                                  rc->nsearch > 2 ? ", ..." : "", rc->search[0], sn);
    _cleanup_free_ char *full = NULL;
    if (asprintf(&full, "%s/%s", rc->search[0], sn) < 0) {
        full = NULL;
        return cocoimg__error_oom(err);
    }
    cocoimg__log(ctx, COCOIMG_LOG_INFO,
                 "short name '%s' resolved to '%s' (the only unqualified-search registry of %s)",
                 sn, full, rc->search_file);
    return reparse(out, orig, full, err);
}
