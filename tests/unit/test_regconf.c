/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TOML subset (util/toml.c) and registries.conf (registry/regconf.c):
 * what parses into what, what is refused, prefix matching and rewriting,
 * mirror selection by digest and tag, short names.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/context.h>
#include <cocoimg/reference.h>

#include "registry/regconf.h"
#include "tap.h"
#include "util/json.h"
#include "util/toml.h"

static json_t *
toml(const char *text, int *code)
{
    json_t *j = NULL;
    cocoimg_error *e = NULL;
    int r = cocoimg__toml_parse(&j, text, strlen(text), "t", &e);
    if (code)
        *code = r;
    if (r < 0 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "# %s\n", cocoimg_error_message(e));
    cocoimg_error_free(e);
    return j;
}

static bool
toml_is(const char *text, const char *want_json)
{
    json_t *j = toml(text, NULL);
    if (!j)
        return false;
    json_error_t je;
    json_t *w = json_loads(want_json, 0, &je);
    bool eq = w && json_equal(j, w);
    if (!eq) {
        char *d = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
        fprintf(stderr, "# got %s\n", d ? d : "?");
        free(d);
    }
    json_decref(j);
    json_decref(w);
    return eq;
}

static bool
toml_refused(const char *text, int want)
{
    int code = 0;
    json_t *j = toml(text, &code);
    json_decref(j);
    return !j && code == want;
}

static int
test_toml(void)
{
    CHECK(toml_is("", "{}"));
    CHECK(toml_is("# only a comment\n\n", "{}"));
    CHECK(toml_is("a = \"x\" # c\nb = true\nc = false\nd = -42\ne = 1_000\n",
                  "{\"a\":\"x\",\"b\":true,\"c\":false,\"d\":-42,\"e\":1000}"));
    CHECK(toml_is("s = 'C:\\\\no\\escape'\n", "{\"s\":\"C:\\\\\\\\no\\\\escape\"}"));
    CHECK(toml_is("s = \"tab\\t\\\"q\\\" \\u00e9 \\U0001F600\"\n",
                  "{\"s\":\"tab\\t\\\"q\\\" \\u00e9 \\ud83d\\ude00\"}"));
    CHECK(toml_is("\"quoted key\" = 1\n'lit' = 2\nbare-key_1 = 3\n",
                  "{\"quoted key\":1,\"lit\":2,\"bare-key_1\":3}"));
    CHECK(toml_is("a.b.c = 1\na.b.d = 2\n", "{\"a\":{\"b\":{\"c\":1,\"d\":2}}}"));
    CHECK(toml_is("arr = [\n  \"a\", # one\n  \"b\",\n]\nempty = []\n",
                  "{\"arr\":[\"a\",\"b\"],\"empty\":[]}"));
    CHECK(toml_is("t = { x = 1, y = \"z\" }\n", "{\"t\":{\"x\":1,\"y\":\"z\"}}"));
    CHECK(toml_is("[x]\na = 1\n[y.z]\nb = 2\n", "{\"x\":{\"a\":1},\"y\":{\"z\":{\"b\":2}}}"));
    CHECK(toml_is("[[r]]\nl = \"a\"\n[[r.m]]\nl = \"m1\"\n[[r.m]]\nl = \"m2\"\n[[r]]\nl = \"b\"\n",
                  "{\"r\":[{\"l\":\"a\",\"m\":[{\"l\":\"m1\"},{\"l\":\"m2\"}]},{\"l\":\"b\"}]}"));
    CHECK(toml_is("[a.b]\nx = 1\n[a]\ny = 2\n", "{\"a\":{\"b\":{\"x\":1},\"y\":2}}"));
    CHECK(toml_is("\xEF\xBB\xBFk = 1\r\n", "{\"k\":1}"));
    /* refused */
    CHECK(toml_refused("a = 1\na = 2\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("[t]\n[t]\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a = 1\n[a]\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("[[a]]\n[a]\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a = [1]\n[[a]]\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("t = {x = 1}\n[t]\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("f = 1.5\n", COCOIMG_ENOTSUP));
    CHECK(toml_refused("d = 1979-05-27\n", COCOIMG_ENOTSUP));
    CHECK(toml_refused("h = 0x1f\n", COCOIMG_ENOTSUP));
    CHECK(toml_refused("n = inf\n", COCOIMG_ENOTSUP));
    CHECK(toml_refused("m = \"\"\"x\"\"\"\n", COCOIMG_ENOTSUP));
    CHECK(toml_refused("s = \"open\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("s = \"bad \\x\"\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("s = \"\\u0000\"\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("s = \"\\uD800\"\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a = 1 b = 2\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a = [1 2]\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("= 1\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a = 01\n", COCOIMG_EFORMAT));
    CHECK(toml_refused("a = 99999999999999999999\n", COCOIMG_ELIMIT));
    CHECK(toml_refused("a = \"\xff\"\n", COCOIMG_EFORMAT));
    {
        /* a NUL inside the document */
        json_t *j = NULL;
        CHECK(cocoimg__toml_parse(&j, "a = 1\0", 6, "t", NULL) == COCOIMG_EFORMAT && !j);
    }
    {
        /* deep nesting is bounded */
        char buf[200];
        memset(buf, 0, sizeof(buf));
        strcpy(buf, "a = ");
        for (int i = 0; i < 40; i++)
            strcat(buf, "[");
        CHECK(toml_refused(buf, COCOIMG_ELIMIT));
    }
    {
        /* the line of an error is named */
        json_t *j = NULL;
        cocoimg_error *e = NULL;
        const char *t = "a = 1\n\n# c\nb = ?\n";
        CHECK(cocoimg__toml_parse(&j, t, strlen(t), "f.conf", &e) < 0);
        CHECK(e && strstr(cocoimg_error_message(e), "f.conf: line 4:"));
        cocoimg_error_free(e);
    }
    return 0;
}

static cocoimg_context *
ctx_with(const char *conf, int *code)
{
    cocoimg_context *ctx = NULL;
    if (cocoimg_context_new(&ctx, NULL) < 0)
        return NULL;
    struct cocoimg__regconf *rc = NULL;
    cocoimg_error *e = NULL;
    int r = cocoimg__regconf_parse(&rc, conf, strlen(conf), "test.conf", &e);
    if (code)
        *code = r;
    if (r < 0) {
        if (getenv("TEST_VERBOSE"))
            fprintf(stderr, "# %s\n", cocoimg_error_message(e));
        cocoimg_error_free(e);
        cocoimg_context_free(ctx);
        return NULL;
    }
    cocoimg__regconf_install(ctx, rc);
    return ctx;
}

static bool
conf_refused(const char *conf)
{
    int code = 0;
    cocoimg_context *ctx = ctx_with(conf, &code);
    cocoimg_context_free(ctx);
    return !ctx && code < 0;
}

/* The pull sources of @p ref as "host/repo[m],..." */
static char *
sources(cocoimg_context *ctx, const char *ref)
{
    cocoimg_reference *r = NULL;
    if (cocoimg_reference_parse(&r, ref, NULL) < 0)
        return NULL;
    cocoimg__regconf_endpoints eps;
    cocoimg_error *e = NULL;
    int rc = cocoimg__regconf_pull_sources(&eps, ctx, r, &e);
    cocoimg_reference_free(r);
    if (rc < 0) {
        char *m = NULL;
        if (asprintf(&m, "error %d: %s", rc, cocoimg_error_message(e)) < 0)
            m = NULL;
        cocoimg_error_free(e);
        return m;
    }
    size_t cap = 1024;
    char *out = calloc(1, cap);
    for (size_t i = 0; out && i < eps.n; i++) {
        char one[300];
        snprintf(one, sizeof(one), "%s%s/%s%s%s", i ? "," : "", eps.v[i].host, eps.v[i].repo,
                 eps.v[i].mirror ? "[m]" : "", eps.v[i].insecure ? "[i]" : "");
        strncat(out, one, cap - strlen(out) - 1);
    }
    cocoimg__regconf_endpoints_clear(&eps);
    return out;
}

static bool
sources_are(cocoimg_context *ctx, const char *ref, const char *want)
{
    char *got = sources(ctx, ref);
    bool eq = got && (strcmp(got, want) == 0 || (want[0] == '~' && strstr(got, want + 1)));
    if (!eq)
        fprintf(stderr, "# %s: got '%s', want '%s'\n", ref, got ? got : "(null)", want);
    free(got);
    return eq;
}

#define DG "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
test_lookup(void)
{
    cocoimg_context *ctx = ctx_with("[[registry]]\n"
                                    "prefix = \"example.com/foo\"\n"
                                    "location = \"internal.example:5000/mirror/foo\"\n"
                                    "insecure = true\n"
                                    "[[registry.mirror]]\n"
                                    "location = \"m1.example/foo\"\n"
                                    "[[registry.mirror]]\n"
                                    "location = \"m2.example/foo\"\n"
                                    "pull-from-mirror = \"digest-only\"\n"
                                    "[[registry.mirror]]\n"
                                    "location = \"m3.example/foo\"\n"
                                    "pull-from-mirror = \"tag-only\"\n"
                                    "insecure = true\n"
                                    "[[registry]]\n"
                                    "location = \"example.com\"\n"
                                    "[[registry]]\n"
                                    "prefix = \"*.wild.example\"\n"
                                    "[[registry.mirror]]\n"
                                    "location = \"wm.example\"\n"
                                    "[[registry]]\n"
                                    "prefix = \"docker.io\"\n"
                                    "location = \"hubcache.example\"\n"
                                    "mirror-by-digest-only = true\n"
                                    "[[registry.mirror]]\n"
                                    "location = \"hubmirror.example\"\n"
                                    "[[registry]]\n"
                                    "location = \"blocked.example/ns\"\n"
                                    "blocked = true\n",
                                    NULL);
    CHECK(ctx != NULL);
    /* longest prefix, rewritten; by tag: mirrors that allow tags, then the registry */
    CHECK(sources_are(ctx, "docker://example.com/foo/app:v1",
                      "m1.example/foo/app[m],m3.example/foo/app[m][i],"
                      "internal.example:5000/mirror/foo/app[i]"));
    /* by digest: mirrors that allow digests */
    CHECK(sources_are(ctx, "docker://example.com/foo/app" DG,
                      "m1.example/foo/app[m],m2.example/foo/app[m],"
                      "internal.example:5000/mirror/foo/app[i]"));
    /* a shorter prefix; not a prefix at a component boundary */
    CHECK(sources_are(ctx, "docker://example.com/foobar/app:v1", "example.com/foobar/app"));
    CHECK(
        sources_are(ctx, "docker://example.com/foo:v1",
                    "m1.example/foo[m],m3.example/foo[m][i],internal.example:5000/mirror/foo[i]"));
    /* no entry: the reference itself */
    CHECK(sources_are(ctx, "docker://quay.io/x/y:v1", "quay.io/x/y"));
    /* wildcard: any subdomain, not the domain itself; the host is kept */
    CHECK(sources_are(ctx, "docker://a.wild.example/x:v1", "wm.example/x[m],a.wild.example/x"));
    CHECK(sources_are(ctx, "docker://a.b.wild.example:5000/x:v1",
                      "wm.example/x[m],a.b.wild.example:5000/x"));
    CHECK(sources_are(ctx, "docker://wild.example/x:v1", "wild.example/x"));
    CHECK(sources_are(ctx, "docker://notwild.example/x:v1", "notwild.example/x"));
    /* Docker Hub: short names are docker.io/library/...; mirror-by-digest-only */
    CHECK(sources_are(ctx, "docker://alpine:3", "hubcache.example/library/alpine"));
    CHECK(sources_are(ctx, "docker://alpine" DG,
                      "hubmirror.example/library/alpine[m],hubcache.example/library/alpine"));
    /* blocked: by pull and by push */
    CHECK(sources_are(ctx, "docker://blocked.example/ns/app:v1", "~error -11: registry"));
    CHECK(sources_are(ctx, "docker://blocked.example/other:v1", "blocked.example/other"));
    {
        cocoimg_reference *r = NULL;
        cocoimg__regconf_endpoint ep;
        CHECK(cocoimg_reference_parse(&r, "docker://example.com/foo/app:v1", NULL) == 0);
        CHECK(cocoimg__regconf_push_target(&ep, ctx, r, NULL) == 0);
        CHECK(!strcmp(ep.host, "internal.example:5000") && !strcmp(ep.repo, "mirror/foo/app") &&
              ep.insecure && !ep.mirror);
        cocoimg__regconf_endpoint_clear(&ep);
        cocoimg_reference_free(r);
        CHECK(cocoimg_reference_parse(&r, "docker://blocked.example/ns/x:v1", NULL) == 0);
        CHECK(cocoimg__regconf_push_target(&ep, ctx, r, NULL) == COCOIMG_EPOLICY);
        cocoimg_reference_free(r);
    }
    cocoimg_context_free(ctx);
    /* without a registries.conf */
    CHECK(sources_are(NULL, "docker://example.com/foo/app:v1", "example.com/foo/app"));
    return 0;
}

static bool
resolves(cocoimg_context *ctx, const char *in, const char *want)
{
    cocoimg_reference *r = NULL;
    cocoimg_error *e = NULL;
    int rc = cocoimg__reference_parse_ctx(&r, ctx, in, &e);
    bool ok;
    if (rc < 0)
        ok = want[0] == '!' && strstr(cocoimg_error_message(e), want + 1);
    else
        ok = !strcmp(cocoimg_reference_string(r), want);
    if (!ok)
        fprintf(stderr, "# %s: got '%s'\n", in,
                rc < 0 ? cocoimg_error_message(e) : cocoimg_reference_string(r));
    cocoimg_error_free(e);
    cocoimg_reference_free(r);
    return ok;
}

static int
test_short_names(void)
{
    cocoimg_context *ctx = ctx_with("unqualified-search-registries = [\"quay.io\"]\n"
                                    "[aliases]\n"
                                    "\"fedora\" = \"registry.fedoraproject.org/fedora\"\n"
                                    "\"ns/app\" = \"example.com/team/app\"\n",
                                    NULL);
    CHECK(ctx != NULL);
    CHECK(resolves(ctx, "docker://fedora", "docker://registry.fedoraproject.org/fedora:latest"));
    CHECK(resolves(ctx, "docker://fedora:39", "docker://registry.fedoraproject.org/fedora:39"));
    CHECK(resolves(ctx, "docker://ns/app" DG, "docker://example.com/team/app" DG));
    CHECK(resolves(ctx, "docker://busybox:1", "docker://quay.io/busybox:1"));
    /* fully qualified names and other transports are left alone */
    CHECK(resolves(ctx, "docker://docker.io/fedora:1", "docker://docker.io/library/fedora:1"));
    CHECK(resolves(ctx, "docker://localhost/fedora:1", "docker://localhost/fedora:1"));
    CHECK(resolves(ctx, "oci:/tmp/x:fedora", "oci:/tmp/x:fedora"));
    cocoimg_context_free(ctx);

    ctx = ctx_with("unqualified-search-registries = [\"quay.io\", \"docker.io\"]\n"
                   "short-name-mode = \"permissive\"\n",
                   NULL);
    CHECK(ctx != NULL);
    CHECK(resolves(ctx, "docker://busybox", "!ambiguous"));
    CHECK(resolves(ctx, "docker://example.com/busybox", "docker://example.com/busybox:latest"));
    cocoimg_context_free(ctx);

    /* disabled: aliases are not used */
    ctx = ctx_with("short-name-mode = \"disabled\"\n[aliases]\n\"x\" = \"example.com/x\"\n", NULL);
    CHECK(ctx != NULL);
    CHECK(resolves(ctx, "docker://x", "docker://docker.io/library/x:latest"));
    cocoimg_context_free(ctx);

    /* no search registries, no alias: Docker Hub, as docker and skopeo */
    ctx = ctx_with("", NULL);
    CHECK(resolves(ctx, "docker://busybox", "docker://docker.io/library/busybox:latest"));
    cocoimg_context_free(ctx);
    return 0;
}

static int
test_refusals(void)
{
    CHECK(conf_refused("[[registry]]\nprefix = \"a.example\"\nlocation = \"b.example\"\n"
                       "[[registry]]\nprefix = \"a.example\"\nlocation = \"c.example\"\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"https://a.example\"\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"nodot\"\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"a.example/UPPER\"\n"));
    CHECK(conf_refused("[[registry]]\nprefix = \"a.example\"\n"));
    CHECK(conf_refused("[[registry]]\ninsecure = true\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"a.example\"\ninsecure = \"yes\"\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"a.example\"\nunknown = 1\n"));
    CHECK(conf_refused("[[registry]]\nprefix = \"*.a/b\"\n"));
    CHECK(conf_refused("[[registry]]\nprefix = \"*a.example\"\nlocation = \"b.example\"\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\n"
                       "insecure = true\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\n"
                       "location = \"m.example\"\npull-from-mirror = \"sometimes\"\n"));
    CHECK(conf_refused("[[registry]]\nlocation = \"a.example\"\nmirror-by-digest-only = true\n"
                       "[[registry.mirror]]\nlocation = \"m.example\"\n"
                       "pull-from-mirror = \"all\"\n"));
    CHECK(conf_refused("unqualified-search-registries = \"quay.io\"\n"));
    CHECK(conf_refused("unqualified-search-registries = [\"quay.io/ns\"]\n"));
    CHECK(conf_refused("unqualified-search-registries = [1]\n"));
    CHECK(conf_refused("short-name-mode = \"lenient\"\n"));
    CHECK(conf_refused("[aliases]\n\"x\" = \"notqualified/x\"\n"));
    CHECK(conf_refused("[aliases]\n\"x\" = \"example.com/x:tag\"\n"));
    CHECK(conf_refused("[aliases]\n\"example.com/x\" = \"example.com/y\"\n"));
    CHECK(conf_refused("[aliases]\n\"x:1\" = \"example.com/y\"\n"));
    CHECK(conf_refused("[registries.search]\nregistries = [\"docker.io\"]\n"));
    CHECK(conf_refused("typo-setting = 1\n"));
    /* settings we do not use but containers files carry are accepted */
    CHECK(!conf_refused("credential-helpers = [\"containers-auth.json\"]\n"));
    return 0;
}

static const struct tap_test tests[] = {TAP_TEST(test_toml),
                                        TAP_TEST(test_lookup),
                                        TAP_TEST(test_short_names),
                                        TAP_TEST(test_refusals),
                                        {0}};

int
main(void)
{
    return tap_run(tests);
}
