/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containers-registries.d(5) through libyaml's document API.  Only the
 * shape described in registries_d.h is read; YAML aliases are refused (no
 * billion laughs), documents are bounded in size.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "signatures/policy.h"
#include "signatures/registries_d.h"
#include "util/fs.h"

#define RD_MAX_FILE (1u << 20)
#define RD_MAX_FILES 1000

struct entry {
    char *scope; /* NULL: default-docker */
    char *file;
    char *lookaside, *lookaside_staging, *sigstore, *sigstore_staging;
    bool attachments;
};

struct cocoimg__registries_d {
    struct entry *v;
    size_t n, cap;
};

int
cocoimg__registries_d_new(cocoimg__registries_d **out, cocoimg_error **err)
{
    if (!(*out = calloc(1, sizeof(**out))))
        return cocoimg__error_oom(err);
    return 0;
}

static void
entry_clear(struct entry *e)
{
    free(e->scope);
    free(e->file);
    free(e->lookaside);
    free(e->lookaside_staging);
    free(e->sigstore);
    free(e->sigstore_staging);
}

void
cocoimg__registries_d_free(cocoimg__registries_d *rd)
{
    if (!rd)
        return;
    for (size_t i = 0; i < rd->n; i++)
        entry_clear(&rd->v[i]);
    free(rd->v);
    free(rd);
}

static void
yaml_document_deletep(yaml_document_t **d)
{
    if (*d) {
        yaml_document_delete(*d);
        free(*d);
    }
}

static int
bad(cocoimg_error **err, const char *name, const char *what)
{
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "invalid registries.d file %s: %s", name,
                              what);
}

static const char *
scalar(yaml_document_t *doc, yaml_node_t *n)
{
    (void)doc;
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return NULL; /* a NUL inside */
    return (const char *)n->data.scalar.value;
}

/* every key of a mapping must be a scalar, and unique */
static int
check_mapping(yaml_document_t *doc, yaml_node_t *m, const char *name, const char *where,
              cocoimg_error **err)
{
    char msg[256];
    if (!m || m->type != YAML_MAPPING_NODE) {
        snprintf(msg, sizeof(msg), "%s: not a mapping", where);
        return bad(err, name, msg);
    }
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        if (!k) {
            snprintf(msg, sizeof(msg), "%s: a key is not a string", where);
            return bad(err, name, msg);
        }
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++)
            if (strcmp(k, scalar(doc, yaml_document_get_node(doc, q->key))) == 0) {
                snprintf(msg, sizeof(msg), "%s: key '%.100s' appears twice", where, k);
                return bad(err, name, msg);
            }
    }
    return 0;
}

static int
parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No",
                                    "NO",    "off",   "Off",   "OFF"};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int
add_entry(cocoimg__registries_d *rd, yaml_document_t *doc, yaml_node_t *m, const char *scope,
          const char *name, cocoimg_error **err)
{
    char where[400];
    snprintf(where, sizeof(where), "%s%.300s", scope ? "docker." : "default-docker",
             scope ? scope : "");
    /* a null value ("scope:" with nothing) is an empty entry */
    bool empty = m && m->type == YAML_SCALAR_NODE &&
                 (m->data.scalar.length == 0 || strcmp(scalar(doc, m) ?: "", "null") == 0 ||
                  strcmp(scalar(doc, m) ?: "", "~") == 0);
    int r;
    if (!empty && (r = check_mapping(doc, m, name, where, err)) < 0)
        return r;
    for (size_t i = 0; i < rd->n; i++) {
        bool same = scope ? rd->v[i].scope && strcmp(rd->v[i].scope, scope) == 0 : !rd->v[i].scope;
        if (same) {
            char msg[900];
            snprintf(msg, sizeof(msg), "%s is already defined in %.400s", where, rd->v[i].file);
            return bad(err, name, msg);
        }
    }
    if (rd->n == rd->cap) {
        size_t cap = rd->cap ? rd->cap * 2 : 8;
        struct entry *nv = realloc(rd->v, cap * sizeof(*nv));
        if (!nv)
            return cocoimg__error_oom(err);
        rd->v = nv;
        rd->cap = cap;
    }
    struct entry *e = &rd->v[rd->n];
    memset(e, 0, sizeof(*e));
    rd->n++;
    if ((scope && !(e->scope = strdup(scope))) || !(e->file = strdup(name)))
        return cocoimg__error_oom(err);
    if (empty)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        char **dst = strcmp(k, "lookaside") == 0           ? &e->lookaside
                     : strcmp(k, "lookaside-staging") == 0 ? &e->lookaside_staging
                     : strcmp(k, "sigstore") == 0          ? &e->sigstore
                     : strcmp(k, "sigstore-staging") == 0  ? &e->sigstore_staging
                                                           : NULL;
        char msg[600];
        if (dst) {
            const char *v = scalar(doc, vn);
            if (!v) {
                snprintf(msg, sizeof(msg), "%s.%s: not a string", where, k);
                return bad(err, name, msg);
            }
            if (*v && !(*dst = strdup(v)))
                return cocoimg__error_oom(err);
        } else if (strcmp(k, "use-sigstore-attachments") == 0) {
            const char *v = scalar(doc, vn);
            if (!v || parse_bool(v, &e->attachments) < 0) {
                snprintf(msg, sizeof(msg), "%s.%s: not a boolean", where, k);
                return bad(err, name, msg);
            }
        }
        /* other keys: ignored, as containers/image does */
    }
    return 0;
}

int
cocoimg__registries_d_add(cocoimg__registries_d *rd, const void *buf, size_t len, const char *name,
                          cocoimg_error **err)
{
    if (len > RD_MAX_FILE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "registries.d file %s is too large",
                                  name);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return cocoimg__error_oom(err);
    yaml_parser_set_input_string(&parser, buf, len);
    _cleanup_(yaml_document_deletep) yaml_document_t *doc = calloc(1, sizeof(*doc));
    if (!doc) {
        yaml_parser_delete(&parser);
        return cocoimg__error_oom(err);
    }
    if (!yaml_parser_load(&parser, doc)) {
        char msg[300];
        snprintf(msg, sizeof(msg), "YAML error at line %zu: %.200s", parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        free(TAKE_PTR(doc));
        return bad(err, name, msg);
    }
    /* a second document in one file is refused */
    yaml_document_t extra;
    bool more = false;
    if (yaml_parser_load(&parser, &extra)) {
        more = yaml_document_get_root_node(&extra) != NULL;
        yaml_document_delete(&extra);
    } else {
        more = true;
    }
    yaml_parser_delete(&parser);
    if (more)
        return bad(err, name, "more than one YAML document, or a YAML error after the first");
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root)
        return 0; /* an empty file */
    /* aliases: libyaml resolves them to shared nodes; refuse any node used twice */
    size_t nnodes = (size_t)(doc->nodes.top - doc->nodes.start);
    _cleanup_free_ unsigned char *seen = calloc(nnodes + 1, 1);
    if (!seen)
        return cocoimg__error_oom(err);
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        if (n->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
                 p++)
                if (p->key < 1 || (size_t)p->key > nnodes || p->value < 1 ||
                    (size_t)p->value > nnodes || seen[p->key]++ || seen[p->value]++)
                    return bad(err, name, "YAML aliases are not supported");
        } else if (n->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = n->data.sequence.items.start;
                 it < n->data.sequence.items.top; it++)
                if (*it < 1 || (size_t)*it > nnodes || seen[*it]++)
                    return bad(err, name, "YAML aliases are not supported");
        }
    }
    int r;
    if ((r = check_mapping(doc, root, name, "the document", err)) < 0)
        return r;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (strcmp(k, "default-docker") == 0) {
            if ((r = add_entry(rd, doc, v, NULL, name, err)) < 0)
                return r;
        } else if (strcmp(k, "docker") == 0) {
            if ((r = check_mapping(doc, v, name, "docker", err)) < 0)
                return r;
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
                 q++) {
                const char *scope = scalar(doc, yaml_document_get_node(doc, q->key));
                if (!*scope)
                    return bad(err, name, "docker: an empty scope (use default-docker)");
                if ((r = add_entry(rd, doc, yaml_document_get_node(doc, q->value), scope, name,
                                   err)) < 0)
                    return r;
            }
        }
    }
    return 0;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cocoimg__registries_d_load(cocoimg__registries_d **out, const char *dir, cocoimg_error **err)
{
    _cleanup_(cocoimg__registries_d_freep) cocoimg__registries_d *rd = NULL;
    int r = cocoimg__registries_d_new(&rd, err);
    if (r < 0)
        return r;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) {
            *out = TAKE_PTR(rd);
            return 0;
        }
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "registries.d %s: cannot open", dir);
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    r = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
            continue;
        if (n >= RD_MAX_FILES) {
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "registries.d %s: too many files", dir);
            break;
        }
        char **nn = realloc(names, (n + 1) * sizeof(char *));
        if (!nn || !(nn[n] = strdup(de->d_name))) {
            names = nn ? nn : names;
            r = cocoimg__error_oom(err);
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (r == 0 && n)
        qsort(names, n, sizeof(char *), name_cmp);
    for (size_t i = 0; r == 0 && i < n; i++) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
            r = cocoimg__error_oom(err);
            break;
        }
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        if ((r = cocoimg__read_file(&buf, &len, AT_FDCWD, path, RD_MAX_FILE, err)) < 0)
            break;
        r = cocoimg__registries_d_add(rd, buf, len, path, err);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (r < 0)
        return r;
    *out = TAKE_PTR(rd);
    return 0;
}

static void
fill(cocoimg__sigstore_config *out, const struct entry *e)
{
    out->lookaside = e->lookaside ? e->lookaside : e->sigstore;
    out->lookaside_staging = e->lookaside_staging  ? e->lookaside_staging
                             : e->sigstore_staging ? e->sigstore_staging
                                                   : out->lookaside;
    out->use_sigstore_attachments = e->attachments;
}

void
cocoimg__registries_d_for(cocoimg__sigstore_config *out, const cocoimg__registries_d *rd,
                          const cocoimg_reference *ref)
{
    memset(out, 0, sizeof(*out));
    if (!rd || cocoimg_reference_transport(ref) != COCOIMG_TRANSPORT_DOCKER)
        return;
    char **scopes = NULL;
    if (cocoimg__policy_scopes(&scopes, ref, NULL) == 0) {
        for (char **s = scopes; *s; s++)
            for (size_t i = 0; i < rd->n; i++)
                if (rd->v[i].scope && strcmp(rd->v[i].scope, *s) == 0) {
                    fill(out, &rd->v[i]);
                    cocoimg__policy_scopes_free(scopes);
                    return;
                }
        cocoimg__policy_scopes_free(scopes);
    }
    for (size_t i = 0; i < rd->n; i++)
        if (!rd->v[i].scope) {
            fill(out, &rd->v[i]);
            return;
        }
}
