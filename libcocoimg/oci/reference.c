/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references in the containers/image transport syntax.  The grammar
 * of the docker:// part follows distribution/reference (the normalised
 * form docker and skopeo use); oci: ref names follow the OCI image-spec
 * grammar for org.opencontainers.image.ref.name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "oci/digest.h"
#include "oci/model.h"
#include "util/error.h"

/* Longest reference we look at (paths included). */
#define REF_MAX 4096
/* distribution/reference NameTotalLengthMax */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

#define DOCKER_HUB "docker.io"

struct cocoimg_reference {
    cocoimg_transport transport;
    char *path;       /* oci, oci-archive */
    char *ref_name;   /* oci, oci-archive; NULL if none */
    char *registry;   /* docker */
    char *repository; /* docker */
    char *tag;        /* docker; NULL if digest only */
    char *digest;     /* docker; NULL if none */
    char *string;     /* canonical form */
    char *short_name; /* docker: the name as written when it had no registry, else NULL */
};

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * OCI ref.name:
 *   ref       ::= component ("/" component)*
 *   component ::= alphanum (separator alphanum)*
 *   alphanum  ::= [A-Za-z0-9]+
 *   separator ::= [-._:@+] | "--"
 * Components begin and end with an alphanumeric, so "", ".", ".." and
 * leading, trailing or doubled slashes cannot occur.
 */
static bool
valid_ref_name(const char *s)
{
    const char *p = s;
    for (;;) {
        /* one component */
        if (!is_alnum(*p))
            return false;
        while (is_alnum(*p))
            p++;
        while (*p && *p != '/') {
            if (p[0] == '-' && p[1] == '-')
                p += 2;
            else if (strchr("-._:@+", *p))
                p++;
            else
                return false;
            if (!is_alnum(*p))
                return false;
            while (is_alnum(*p))
                p++;
        }
        if (*p == '\0')
            return true;
        p++; /* '/' */
    }
}

/* Why a ref name is invalid, for a message more useful than "invalid". */
static const char *
ref_name_problem(const char *s)
{
    if (s[0] == '/' || (s[0] && s[strlen(s) - 1] == '/'))
        return "leading or trailing '/'";
    if (strstr(s, "//"))
        return "empty path component";
    const char *c = s;
    while (c) {
        size_t n = strcspn(c, "/");
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return "'.' or '..' path component";
        c = c[n] ? c + n + 1 : NULL;
    }
    return "not an OCI ref name";
}

/* distribution path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool
valid_repo_component(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < n) {
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == n)
            return true;
        if (s[i] == '.' || (s[i] == '_' && !(i + 1 < n && s[i + 1] == '_')))
            i++;
        else if (s[i] == '_')
            i += 2;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return false;
        if (i == n || !is_lower_alnum(s[i]))
            return false;
    }
    return true;
}

static bool
valid_repository(const char *s)
{
    const char *c = s;
    for (;;) {
        size_t n = strcspn(c, "/");
        if (!valid_repo_component(c, n))
            return false;
        if (!c[n])
            return true;
        c += n + 1;
    }
}

/* host ::= label ("." label)* | "[" ipv6 "]";  registry ::= host (":" port)? */
static bool
valid_registry(const char *s)
{
    const char *p = s;
    if (*p == '[') {
        p++;
        const char *start = p;
        while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
               *p == ':' || *p == '.')
            p++;
        if (p == start || *p != ']')
            return false;
        p++;
    } else {
        for (;;) {
            /* label: alnum, inner hyphens allowed */
            if (!is_alnum(*p))
                return false;
            while (is_alnum(*p) || *p == '-')
                p++;
            if (p[-1] == '-')
                return false;
            if (*p != '.')
                break;
            p++;
        }
    }
    if (*p == ':') {
        p++;
        size_t digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) {
            p++;
            digits++;
        }
        if (digits == 0 || digits > 5)
            return false;
    }
    return *p == '\0';
}

/* tag ::= [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool
valid_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TAG_MAX_LEN || !(is_alnum(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

static bool
is_hex64(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

static int
einval(cocoimg_error **err, const char *input, const char *why)
{
    return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid reference '%.300s': %s", input, why);
}

static int
parse_oci(cocoimg_reference *ref, const char *rest, const char *input, cocoimg_error **err)
{
    /* split at the first ':' like containers/image: DIR cannot contain ':' */
    const char *colon = strchr(rest, ':');
    size_t plen = colon ? (size_t)(colon - rest) : strlen(rest);
    if (plen == 0)
        return einval(err, input, "empty path");
    if (!(ref->path = strndup(rest, plen)))
        return cocoimg__error_oom(err);
    if (colon && colon[1]) {
        const char *name = colon + 1;
        if (!valid_ref_name(name))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "invalid reference '%.300s': ref name '%.200s': %s", input,
                                      name, ref_name_problem(name));
        if (!(ref->ref_name = strdup(name)))
            return cocoimg__error_oom(err);
    }
    return 0;
}

static int
parse_docker(cocoimg_reference *ref, const char *rest, const char *input, cocoimg_error **err)
{
    if (!*rest)
        return einval(err, input, "empty image name");
    _cleanup_free_ char *s = strdup(rest);
    if (!s)
        return cocoimg__error_oom(err);

    char *at = strchr(s, '@');
    if (at) {
        *at = '\0';
        cocoimg__digest d;
        _cleanup_error_ cocoimg_error *derr = NULL;
        if (cocoimg__digest_parse(&d, at + 1, &derr) < 0)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "invalid reference '%.300s': digest: %s", input,
                                      cocoimg_error_message(derr));
        char canon[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&d, canon);
        if (!(ref->digest = strdup(canon)))
            return cocoimg__error_oom(err);
    }
    /* a tag is after the last ':' that follows the last '/' (a port is not a tag) */
    char *slash = strrchr(s, '/');
    char *colon = strrchr(slash ? slash : s, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1))
            return einval(err, input, "invalid tag");
        if (!(ref->tag = strdup(colon + 1)))
            return cocoimg__error_oom(err);
    }
    const char *name = s;
    if (!*name)
        return einval(err, input, "empty image name");
    if (is_hex64(name))
        return einval(err, input, "a 64-character hex string is an image ID, not a name");

    const char *registry = DOCKER_HUB, *repo = name;
    bool explicit_registry = false;
    char *first = strchr(s, '/');
    if (first) {
        *first = '\0';
        if (strchr(s, '.') || strchr(s, ':') || strcmp(s, "localhost") == 0) {
            registry = s;
            repo = first + 1;
            explicit_registry = true;
        } else {
            *first = '/';
        }
    }
    if (!explicit_registry && !(ref->short_name = strdup(name)))
        return cocoimg__error_oom(err);
    if (strcmp(registry, "index.docker.io") == 0)
        registry = DOCKER_HUB;
    if (explicit_registry && !valid_registry(registry))
        return einval(err, input, "invalid registry host");
    bool hub = strcmp(registry, DOCKER_HUB) == 0;
    if (!valid_repository(repo)) {
        for (const char *c = repo; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                return einval(err, input, "repository name must be lowercase");
        return einval(err, input, "invalid repository name");
    }
    if (!(ref->registry = strdup(registry)))
        return cocoimg__error_oom(err);
    /* official Docker Hub images live under library/ */
    int r = hub && !strchr(repo, '/') ? asprintf(&ref->repository, "library/%s", repo)
                                      : ((ref->repository = strdup(repo)) ? 0 : -1);
    if (r < 0) {
        ref->repository = NULL;
        return cocoimg__error_oom(err);
    }
    if (strlen(ref->registry) + 1 + strlen(ref->repository) > NAME_MAX_LEN)
        return einval(err, input, "name longer than 255 characters");
    if (!ref->tag && !ref->digest && !(ref->tag = strdup("latest")))
        return cocoimg__error_oom(err);
    return 0;
}

static int
build_string(cocoimg_reference *ref, cocoimg_error **err)
{
    int r;
    switch (ref->transport) {
    case COCOIMG_TRANSPORT_OCI:
    case COCOIMG_TRANSPORT_OCI_ARCHIVE:
        r = asprintf(&ref->string, "%s:%s%s%s",
                     ref->transport == COCOIMG_TRANSPORT_OCI ? "oci" : "oci-archive", ref->path,
                     ref->ref_name ? ":" : "", ref->ref_name ? ref->ref_name : "");
        break;
    default:
        r = asprintf(&ref->string, "docker://%s/%s%s%s%s%s", ref->registry, ref->repository,
                     ref->tag ? ":" : "", ref->tag ? ref->tag : "", ref->digest ? "@" : "",
                     ref->digest ? ref->digest : "");
        break;
    }
    if (r < 0) {
        ref->string = NULL;
        return cocoimg__error_oom(err);
    }
    return 0;
}

int
cocoimg_reference_parse(cocoimg_reference **out, const char *s, cocoimg_error **err)
{
    if (!s)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid reference: NULL");
    if (strnlen(s, REF_MAX + 1) > REF_MAX)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "invalid reference: longer than %d characters", REF_MAX);
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = calloc(1, sizeof(*ref));
    if (!ref)
        return cocoimg__error_oom(err);
    int r;
    if (strncmp(s, "oci:", 4) == 0) {
        ref->transport = COCOIMG_TRANSPORT_OCI;
        r = parse_oci(ref, s + 4, s, err);
    } else if (strncmp(s, "oci-archive:", 12) == 0) {
        ref->transport = COCOIMG_TRANSPORT_OCI_ARCHIVE;
        r = parse_oci(ref, s + 12, s, err);
    } else if (strncmp(s, "docker://", 9) == 0) {
        ref->transport = COCOIMG_TRANSPORT_DOCKER;
        r = parse_docker(ref, s + 9, s, err);
    } else {
        return einval(err, s, "unknown transport (expected oci:, oci-archive: or docker://)");
    }
    if (r < 0)
        return r;
    if ((r = build_string(ref, err)) < 0)
        return r;
    *out = TAKE_PTR(ref);
    return 0;
}

void
cocoimg_reference_free(cocoimg_reference *ref)
{
    if (!ref)
        return;
    free(ref->path);
    free(ref->ref_name);
    free(ref->registry);
    free(ref->repository);
    free(ref->tag);
    free(ref->digest);
    free(ref->string);
    free(ref->short_name);
    free(ref);
}

cocoimg_transport
cocoimg_reference_transport(const cocoimg_reference *ref)
{
    return ref->transport;
}

const char *
cocoimg_reference_path(const cocoimg_reference *ref)
{
    return ref->path;
}

const char *
cocoimg_reference_ref_name(const cocoimg_reference *ref)
{
    return ref->ref_name;
}

const char *
cocoimg_reference_registry(const cocoimg_reference *ref)
{
    return ref->registry;
}

const char *
cocoimg_reference_repository(const cocoimg_reference *ref)
{
    return ref->repository;
}

const char *
cocoimg_reference_tag(const cocoimg_reference *ref)
{
    return ref->tag;
}

const char *
cocoimg_reference_digest(const cocoimg_reference *ref)
{
    return ref->digest;
}

const char *
cocoimg_reference_string(const cocoimg_reference *ref)
{
    return ref->string;
}

const char *
cocoimg__reference_short_name(const cocoimg_reference *ref)
{
    return ref->short_name;
}
