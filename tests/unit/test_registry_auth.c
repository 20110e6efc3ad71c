/* SPDX-License-Identifier: Apache-2.0 */
/* Registry client: WWW-Authenticate parsing, auth.json lookup, certs.d collection. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* paths here are short temp paths; truncation would only fail a CHECK */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "registry/registry.h"
#include "registry/registry_int.h"
#include "tap.h"
#include "util/base64.h"
#include "util/fs.h"

static int
parse_ok(cocoimg__auth_challenge *c, const char *v)
{
    cocoimg_error *e = NULL;
    int r = cocoimg__auth_challenge_parse(c, v, &e);
    if (r < 0) {
        printf("# parse '%s': %s\n", v, cocoimg_error_message(e));
        cocoimg_error_free(e);
    }
    return r;
}

static int
parse_code(const char *v)
{
    cocoimg__auth_challenge c;
    cocoimg_error *e = NULL;
    int r = cocoimg__auth_challenge_parse(&c, v, &e);
    if (r == 0)
        cocoimg__auth_challenge_clear(&c);
    else if (!e || !cocoimg_error_message(e)[0])
        r = 1; /* an error without message is a failure of its own */
    cocoimg_error_free(e);
    return r;
}

static int
test_challenge_bearer(void)
{
    cocoimg__auth_challenge c;
    CHECK_OK(parse_ok(&c, "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                          "docker.io\",scope=\"repository:library/alpine:pull\""));
    CHECK(c.scheme == COCOIMG_AUTH_BEARER);
    CHECK(strcmp(c.realm, "https://auth.docker.io/token") == 0);
    CHECK(strcmp(c.service, "registry.docker.io") == 0);
    CHECK(strcmp(c.scope, "repository:library/alpine:pull") == 0);
    CHECK(c.error == NULL);
    cocoimg__auth_challenge_clear(&c);

    /* case-insensitive names, spaces, unquoted token values, escapes, comma in quotes */
    CHECK_OK(parse_ok(&c, "  bEaReR   Realm = \"http://h:5001/a\\\"b\" , SERVICE=reg.example ,"
                          "scope=\"repository:a/b:pull,push repository:c:pull\",error="
                          "\"insufficient_scope\""));
    CHECK(c.scheme == COCOIMG_AUTH_BEARER);
    CHECK(strcmp(c.realm, "http://h:5001/a\"b") == 0);
    CHECK(strcmp(c.service, "reg.example") == 0);
    CHECK(strcmp(c.scope, "repository:a/b:pull,push repository:c:pull") == 0);
    CHECK(strcmp(c.error, "insufficient_scope") == 0);
    cocoimg__auth_challenge_clear(&c);
    return 0;
}

static int
test_challenge_basic_and_multi(void)
{
    cocoimg__auth_challenge c;
    CHECK_OK(parse_ok(&c, "Basic realm=\"Registry Realm\""));
    CHECK(c.scheme == COCOIMG_AUTH_BASIC);
    CHECK(strcmp(c.realm, "Registry Realm") == 0);
    cocoimg__auth_challenge_clear(&c);

    CHECK_OK(parse_ok(&c, "Basic"));
    CHECK(c.scheme == COCOIMG_AUTH_BASIC && c.realm == NULL);
    cocoimg__auth_challenge_clear(&c);

    /* several challenges in one header (joined repeated headers): Bearer wins */
    CHECK_OK(parse_ok(&c, "Basic realm=\"x\", Bearer realm=\"https://t/\",service=\"s\""));
    CHECK(c.scheme == COCOIMG_AUTH_BEARER);
    CHECK(strcmp(c.realm, "https://t/") == 0 && strcmp(c.service, "s") == 0);
    cocoimg__auth_challenge_clear(&c);

    /* an unknown scheme next to a known one is ignored */
    CHECK_OK(parse_ok(&c, "Negotiate abcd==, Basic realm=\"r\""));
    CHECK(c.scheme == COCOIMG_AUTH_BASIC && strcmp(c.realm, "r") == 0);
    cocoimg__auth_challenge_clear(&c);
    return 0;
}

static int
test_challenge_bad(void)
{
    CHECK(parse_code("") == COCOIMG_EFORMAT);
    CHECK(parse_code("Digest realm=\"x\"") == COCOIMG_ENOTSUP);
    CHECK(parse_code("Bearer service=\"x\"") == COCOIMG_EFORMAT); /* no realm */
    CHECK(parse_code("Bearer realm=\"unterminated") == COCOIMG_EFORMAT);
    CHECK(parse_code("Bearer realm=\"x\" service=\"y\"") == COCOIMG_EFORMAT); /* no comma */
    CHECK(parse_code("Bearer realm=") == COCOIMG_EFORMAT);
    CHECK(parse_code("Bearer realm=\"x\\") == COCOIMG_EFORMAT);
    CHECK(parse_code("=x") == COCOIMG_EFORMAT);
    char *big = malloc(20000);
    CHECK(big);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    memcpy(big, "Bearer realm=", 13);
    int r = parse_code(big);
    free(big);
    CHECK(r == COCOIMG_ELIMIT);
    return 0;
}

static char *
auth_json(const char *key, const char *userpass)
{
    char *b64 = NULL, *out = NULL;
    if (cocoimg__b64_encode(&b64, userpass, strlen(userpass), COCOIMG_B64_STD, NULL) < 0)
        return NULL;
    if (asprintf(&out, "{\"auths\":{\"%s\":{\"auth\":\"%s\"},\"other.io\":{\"auth\":\"%s\"}}}", key,
                 b64, "b3RoZXI6eA==") < 0)
        out = NULL;
    free(b64);
    return out;
}

static int
lookup(const char *doc, const char *host, const char *repo, bool *found, char **user, char **pass)
{
    cocoimg__secret *s = NULL;
    cocoimg_error *e = NULL;
    *user = *pass = NULL;
    int r = cocoimg__authfile_lookup(found, user, &s, doc, strlen(doc), host, repo, "test", &e);
    if (r < 0) {
        printf("# lookup: %s\n", cocoimg_error_message(e));
        cocoimg_error_free(e);
        return r;
    }
    if (*found) {
        *pass = strndup((char *)s->ptr, s->len);
        cocoimg__secret_free(s);
    }
    return 0;
}

static int
test_authfile_lookup(void)
{
    bool found;
    char *u, *p;
    char *doc = auth_json("registry.example:5000", "alice:s3cr:et");
    CHECK(doc);
    CHECK_OK(lookup(doc, "registry.example:5000", NULL, &found, &u, &p));
    CHECK(found && strcmp(u, "alice") == 0 && strcmp(p, "s3cr:et") == 0);
    free(u);
    free(p);
    /* port matters */
    CHECK_OK(lookup(doc, "registry.example", NULL, &found, &u, &p));
    CHECK(!found);
    free(doc);

    /* docker's legacy key for docker.io */
    doc = auth_json("https://index.docker.io/v1/", "bob:pw");
    CHECK_OK(lookup(doc, "docker.io", "library/alpine", &found, &u, &p));
    CHECK(found && strcmp(u, "bob") == 0 && strcmp(p, "pw") == 0);
    free(u);
    free(p);
    free(doc);

    /* scheme prefix and the most specific repository key win */
    const char *multi =
        "{\"auths\":{\"https://quay.io\":{\"auth\":\"aG9zdDpo\"},"
        "\"quay.io/org\":{\"auth\":\"b3JnOm8=\"},\"quay.io/org/app\":{\"auth\":\"YXBwOmE=\"},"
        "\"quay.io/organic\":{\"auth\":\"bm86bg==\"}}}";
    CHECK_OK(lookup(multi, "quay.io", "org/app", &found, &u, &p));
    CHECK(found && strcmp(u, "app") == 0 && strcmp(p, "a") == 0);
    free(u);
    free(p);
    CHECK_OK(lookup(multi, "quay.io", "org/other", &found, &u, &p));
    CHECK(found && strcmp(u, "org") == 0);
    free(u);
    free(p);
    CHECK_OK(lookup(multi, "quay.io", "orgx", &found, &u, &p));
    CHECK(found && strcmp(u, "host") == 0);
    free(u);
    free(p);
    CHECK_OK(lookup(multi, "quay.io", NULL, &found, &u, &p));
    CHECK(found && strcmp(u, "host") == 0 && strcmp(p, "h") == 0);
    free(u);
    free(p);

    /* no auths, credential-helper style entry without "auth": not found */
    CHECK_OK(lookup("{}", "quay.io", NULL, &found, &u, &p));
    CHECK(!found);
    CHECK_OK(lookup("{\"auths\":{\"quay.io\":{}}}", "quay.io", NULL, &found, &u, &p));
    CHECK(!found);
    return 0;
}

static int
lookup_code(const char *doc)
{
    bool found;
    char *u = NULL;
    cocoimg__secret *s = NULL;
    cocoimg_error *e = NULL;
    int r = cocoimg__authfile_lookup(&found, &u, &s, doc, strlen(doc), "h.io", NULL, "test", &e);
    free(u);
    cocoimg__secret_free(s);
    cocoimg_error_free(e);
    return r;
}

static int
test_authfile_bad(void)
{
    CHECK(lookup_code("{") == COCOIMG_EFORMAT);
    CHECK(lookup_code("[]") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"auths\":[]}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"auths\":{\"h.io\":\"x\"}}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"auths\":{\"h.io\":{\"auth\":5}}}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"auths\":{\"h.io\":{\"auth\":\"!!!\"}}}") == COCOIMG_EFORMAT);
    /* base64 of "nocolon" and of ":pw" (empty user) */
    CHECK(lookup_code("{\"auths\":{\"h.io\":{\"auth\":\"bm9jb2xvbg==\"}}}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"auths\":{\"h.io\":{\"auth\":\"OnB3\"}}}") == COCOIMG_EFORMAT);
    return 0;
}

static char tmpdir[256];

static int
write_file(const char *dir, const char *name, const char *content)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fputs(content, f);
    fclose(f);
    return 0;
}

static int
make_tmp(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/regtest.XXXXXX", t ? t : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
test_authfile_find(void)
{
    CHECK_OK(make_tmp());
    char path[512], xdg[512], home[512];
    char *doc = auth_json("reg.test:5000", "carol:pw1");
    CHECK(doc);
    CHECK_OK(write_file(tmpdir, "explicit.json", doc));
    free(doc);
    snprintf(path, sizeof(path), "%s/explicit.json", tmpdir);

    bool found;
    char *u = NULL;
    cocoimg__secret *s = NULL;
    cocoimg_error *e = NULL;
    CHECK_OK(cocoimg__authfile_find(&found, &u, &s, NULL, path, "reg.test:5000", NULL));
    CHECK(found && strcmp(u, "carol") == 0 && s->len == 3 && memcmp(s->ptr, "pw1", 3) == 0);
    free(u);
    cocoimg__secret_free(s);
    u = NULL;
    s = NULL;

    /* explicit but missing: an error; default locations: missing files are fine */
    snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
    CHECK(cocoimg__authfile_find(&found, &u, &s, NULL, path, "reg.test:5000", &e) ==
          COCOIMG_ENOTFOUND);
    CHECK(e && strstr(cocoimg_error_message(e), "missing.json"));
    cocoimg_error_free(e);
    e = NULL;

    /* $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json */
    snprintf(xdg, sizeof(xdg), "%s/run", tmpdir);
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    CHECK_OK(cocoimg__mkdir_p(AT_FDCWD, xdg, NULL));
    snprintf(path, sizeof(path), "%s/containers", xdg);
    CHECK_OK(cocoimg__mkdir_p(AT_FDCWD, path, NULL));
    doc = auth_json("reg.test:5000", "xdg:1");
    CHECK_OK(write_file(path, "auth.json", doc));
    free(doc);
    snprintf(path, sizeof(path), "%s/.docker", home);
    CHECK_OK(cocoimg__mkdir_p(AT_FDCWD, path, NULL));
    doc = auth_json("docker.only:443", "dock:2");
    CHECK_OK(write_file(path, "config.json", doc));
    free(doc);
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("XDG_CONFIG_HOME");
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    setenv("HOME", home, 1);
    CHECK_OK(cocoimg__authfile_find(&found, &u, &s, NULL, NULL, "reg.test:5000", NULL));
    CHECK(found && strcmp(u, "xdg") == 0);
    free(u);
    cocoimg__secret_free(s);
    CHECK_OK(cocoimg__authfile_find(&found, &u, &s, NULL, NULL, "docker.only:443", NULL));
    CHECK(found && strcmp(u, "dock") == 0);
    free(u);
    cocoimg__secret_free(s);
    CHECK_OK(cocoimg__authfile_find(&found, &u, &s, NULL, NULL, "nowhere.io", NULL));
    CHECK(!found);

    /* $REGISTRY_AUTH_FILE replaces the XDG_RUNTIME_DIR file */
    snprintf(path, sizeof(path), "%s/env.json", tmpdir);
    doc = auth_json("reg.test:5000", "env:3");
    CHECK_OK(write_file(tmpdir, "env.json", doc));
    free(doc);
    setenv("REGISTRY_AUTH_FILE", path, 1);
    CHECK_OK(cocoimg__authfile_find(&found, &u, &s, NULL, NULL, "reg.test:5000", NULL));
    CHECK(found && strcmp(u, "env") == 0);
    free(u);
    cocoimg__secret_free(s);

    /* a malformed file in the chain is an error naming it */
    CHECK_OK(write_file(tmpdir, "env.json", "{not json"));
    CHECK(cocoimg__authfile_find(&found, &u, &s, NULL, NULL, "reg.test:5000", &e) ==
          COCOIMG_EFORMAT);
    CHECK(e && strstr(cocoimg_error_message(e), "env.json"));
    cocoimg_error_free(e);
    unsetenv("REGISTRY_AUTH_FILE");
    cocoimg__rm_rf(AT_FDCWD, tmpdir, NULL);
    return 0;
}

static int
test_certs_d(void)
{
    CHECK_OK(make_tmp());
    char root[512], hostdir[512];
    snprintf(root, sizeof(root), "%s/certs.d", tmpdir);
    snprintf(hostdir, sizeof(hostdir), "%s/reg.test:5000", root);
    CHECK_OK(cocoimg__mkdir_p(AT_FDCWD, hostdir, NULL));
    CHECK_OK(write_file(hostdir, "b.crt", "B"));
    CHECK_OK(write_file(hostdir, "a.crt", "A"));
    CHECK_OK(write_file(hostdir, "client.cert", "C"));
    CHECK_OK(write_file(hostdir, "client.key", "K"));
    CHECK_OK(write_file(hostdir, "README", "ignored"));

    const char *roots[] = {"/nonexistent/certs.d", root, NULL};
    char **dirs = NULL;
    CHECK_OK(cocoimg__tls_dirs(&dirs, "reg.test:5000", NULL, roots, NULL));
    CHECK(dirs[0] && strcmp(dirs[0], "/nonexistent/certs.d/reg.test:5000") == 0);
    CHECK(dirs[1] && strcmp(dirs[1], hostdir) == 0 && dirs[2] == NULL);

    cocoimg__tls_files tf = {0};
    for (char **d = dirs; *d; d++)
        CHECK_OK(cocoimg__tls_files_collect(&tf, *d, NULL));
    cocoimg__strv_free(dirs);
    CHECK(tf.n_ca == 2);
    CHECK(strstr(tf.ca[0], "/a.crt") && strstr(tf.ca[1], "/b.crt"));
    CHECK(tf.client_cert && strstr(tf.client_cert, "/client.cert"));
    CHECK(tf.client_key && strstr(tf.client_key, "/client.key"));
    cocoimg__tls_files_clear(&tf);

    /* an explicit --cert-dir is used as is, without the host */
    CHECK_OK(cocoimg__tls_dirs(&dirs, "reg.test:5000", hostdir, roots, NULL));
    CHECK(strcmp(dirs[0], hostdir) == 0 && dirs[1] == NULL);
    cocoimg__strv_free(dirs);

    /* a host that would escape the root is refused */
    cocoimg_error *e = NULL;
    CHECK(cocoimg__tls_dirs(&dirs, "../etc", NULL, roots, &e) == COCOIMG_EINVAL);
    cocoimg_error_free(e);
    e = NULL;

    /* a key without certificate, and a certificate without key */
    CHECK_OK(unlink(strcat(strcpy(root, hostdir), "/client.cert")));
    CHECK(cocoimg__tls_files_collect(&tf, hostdir, &e) == COCOIMG_EINVAL);
    CHECK(strstr(cocoimg_error_message(e), "client.cert"));
    cocoimg_error_free(e);
    e = NULL;
    cocoimg__tls_files_clear(&tf);
    CHECK_OK(write_file(hostdir, "other.cert", "C"));
    CHECK_OK(unlink(strcat(strcpy(root, hostdir), "/client.key")));
    CHECK(cocoimg__tls_files_collect(&tf, hostdir, &e) == COCOIMG_EINVAL);
    CHECK(strstr(cocoimg_error_message(e), "other.key"));
    cocoimg_error_free(e);
    cocoimg__tls_files_clear(&tf);
    cocoimg__rm_rf(AT_FDCWD, tmpdir, NULL);
    return 0;
}

static int
test_client_new_errors(void)
{
    cocoimg__registry *r = NULL;
    cocoimg_error *e = NULL;
    struct cocoimg__registry_options o = {0};
    CHECK(cocoimg__registry_new(&r, NULL, "bad/host", &o, &e) == COCOIMG_EINVAL);
    cocoimg_error_free(e);
    e = NULL;
    o.authfile = "/nonexistent/auth.json";
    CHECK(cocoimg__registry_new(&r, NULL, "reg.test", &o, &e) == COCOIMG_ENOTFOUND);
    cocoimg_error_free(e);
    e = NULL;
    o.authfile = NULL;
    o.username = "u";
    o.password = "p";
    o.cert_dir = "/nonexistent";
    CHECK_OK(cocoimg__registry_new(&r, NULL, "reg.test:5000", &o, NULL));
    CHECK(strcmp(cocoimg__registry_host(r), "reg.test:5000") == 0);
    cocoimg__registry_free(r);
    return 0;
}

/* --- credential helpers --- */

static char helperdir[256];

/* docker-credential-NAME in helperdir running the sh script BODY */
static int
write_helper(const char *name, const char *body)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/docker-credential-%s", helperdir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    return chmod(p, 0755);
}

/*
 * Fake helpers in a fresh directory prepended to PATH.  "good" answers for
 * reg.test:5000 and docker.io's index URL and records its argument, the
 * server it read and its environment in helperdir/seen.
 */
static int
setup_helpers(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(helperdir, sizeof(helperdir), "%s/credhelper.XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(helperdir))
        return -1;
    char body[2048];
    snprintf(body, sizeof(body),
             "server=$(cat)\n"
             "{ echo \"arg=$1\"; echo \"server=$server\"; env; } >'%s/seen'\n"
             "case \"$server\" in\n"
             "reg.test:5000) printf '%%s' '{\"ServerURL\":\"reg.test:5000\",\"Username\":"
             "\"helper-user\",\"Secret\":\"s3cret \\\"pw\\\"\"}' ;;\n"
             "https://index.docker.io/v1/) echo '{\"Username\":\"hub\",\"Secret\":\"hubpw\"}' ;;\n"
             "*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
             "esac",
             helperdir);
    if (write_helper("good", body) < 0 ||
        write_helper("garbage", "cat >/dev/null; echo 'not json TOPSECRET-123 {'") < 0 ||
        write_helper("notobject", "echo '[\"TOPSECRET-123\"]'") < 0 ||
        write_helper("nosecret", "echo '{\"Username\":\"u\",\"Secret\":5}'") < 0 ||
        write_helper("empty", "echo '{\"Username\":\"\",\"Secret\":\"\"}'") < 0 ||
        write_helper("token", "echo '{\"Username\":\"<token>\",\"Secret\":\"TOPSECRET-123\"}'") <
            0 ||
        write_helper("fails", "echo 'keychain locked'; echo more; exit 3") < 0 ||
        write_helper("crash", "kill -9 $$") < 0 || write_helper("hang", "exec sleep 30") < 0 ||
        write_helper("hangopen", "echo '{}'; exec sleep 30") < 0 ||
        write_helper("chatty", "head -c 200000 /dev/zero | tr '\\0' a") < 0 ||
        write_helper("noread", "echo '{\"Username\":\"nr\",\"Secret\":\"x\"}'") < 0)
        return -1;
    const char *path = getenv("PATH");
    char *np = NULL;
    if (asprintf(&np, "%s:%s", helperdir, path ? path : "/usr/bin:/bin") < 0)
        return -1;
    setenv("PATH", np, 1);
    free(np);
    /* must not reach the helper; HOME must */
    setenv("COCOIMG_TEST_LEAK", "leaked", 1);
    return 0;
}

static int
helper_get(const char *helper, const char *server, unsigned int timeout_ms, bool *found,
           char **user, char **pass, cocoimg_error **e)
{
    cocoimg__secret *s = NULL;
    *user = *pass = NULL;
    int r = cocoimg__credhelper_get(found, user, &s, helper, server, timeout_ms, e);
    if (r == 0 && *found) {
        *pass = strndup((char *)s->ptr, s->len);
        cocoimg__secret_free(s);
    }
    return r;
}

static int
read_seen(char *buf, size_t len)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/seen", helperdir);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return unlink(p);
}

static int
test_credhelper_get(void)
{
    CHECK_OK(setup_helpers());
    bool found = false;
    char *u, *p;
    CHECK_OK(helper_get("good", "reg.test:5000", 0, &found, &u, &p, NULL));
    CHECK(found && strcmp(u, "helper-user") == 0 && strcmp(p, "s3cret \"pw\"") == 0);
    free(u);
    free(p);
    static char seen[65536];
    CHECK_OK(read_seen(seen, sizeof(seen)));
    CHECK(strstr(seen, "arg=get\n") && strstr(seen, "server=reg.test:5000\n"));
    CHECK(strstr(seen, "\nPATH=") && strstr(seen, "\nHOME="));
    CHECK(!strstr(seen, "COCOIMG_TEST_LEAK"));

    /* not found (exit 1 + docker's message): no credentials, no error */
    CHECK_OK(helper_get("good", "other.io", 0, &found, &u, &p, NULL));
    CHECK(!found && !u);
    CHECK_OK(helper_get("empty", "reg.test:5000", 0, &found, &u, &p, NULL));
    CHECK(!found && !u);
    /* a helper that never reads stdin is fine */
    CHECK_OK(helper_get("noread", "reg.test:5000", 0, &found, &u, &p, NULL));
    CHECK(found && strcmp(u, "nr") == 0);
    free(u);
    free(p);
    return 0;
}

static int
helper_code(const char *helper, unsigned int timeout_ms, const char *want_msg)
{
    bool found = true;
    char *u = NULL, *p = NULL;
    cocoimg_error *e = NULL;
    int r = helper_get(helper, "reg.test:5000", timeout_ms, &found, &u, &p, &e);
    const char *m = e ? cocoimg_error_message(e) : "";
    if (r < 0)
        printf("# %s: %s\n", helper, m);
    if (r < 0 &&
        (found || u || !*m || strstr(m, "TOPSECRET") || (want_msg && !strstr(m, want_msg))))
        r = 1; /* credentials with an error, no message, a leaked secret or another message */
    free(u);
    free(p);
    cocoimg_error_free(e);
    return r;
}

static int
test_credhelper_bad(void)
{
    CHECK(helper_code("garbage", 0, "not a JSON object") == COCOIMG_EFORMAT);
    CHECK(helper_code("notobject", 0, "not a JSON object") == COCOIMG_EFORMAT);
    CHECK(helper_code("nosecret", 0, "'Secret'") == COCOIMG_EFORMAT);
    CHECK(helper_code("token", 0, "identity token") == COCOIMG_ENOTSUP);
    CHECK(helper_code("fails", 0, "(exit 3): keychain locked") == COCOIMG_ERROR);
    CHECK(helper_code("crash", 0, "signal 9") == COCOIMG_ERROR);
    CHECK(helper_code("chatty", 0, "exceeds") == COCOIMG_ELIMIT);
    CHECK(helper_code("missing", 0, "'docker-credential-missing' not found in PATH") ==
          COCOIMG_ENOTFOUND);
    CHECK(helper_code("../good", 0, "invalid credential helper name") == COCOIMG_EINVAL);
    CHECK(helper_code("-x", 0, "invalid credential helper name") == COCOIMG_EINVAL);

    /* hanging, before and after closing its stdout: killed at the deadline */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(helper_code("hang", 300, "within 300 ms") == COCOIMG_ELIMIT);
    CHECK(helper_code("hangopen", 300, "within 300 ms") == COCOIMG_ELIMIT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 10);
    return 0;
}

static int
test_credhelper_authfile(void)
{
    bool found;
    char *u, *p;
    /* credHelpers for the host wins over its auths entry */
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"auths\":{\"reg.test:5000\":{\"auth\":\"YTpi\"},\"plain.io\":{\"auth\":\"YTpi\"}},"
             "\"credHelpers\":{\"https://reg.test:5000\":\"good\",\"gone.io\":\"good\","
             "\"docker.io\":\"good\"}}");
    CHECK_OK(lookup(doc, "reg.test:5000", "ns/app", &found, &u, &p));
    CHECK(found && strcmp(u, "helper-user") == 0 && strcmp(p, "s3cret \"pw\"") == 0);
    free(u);
    free(p);
    /* other hosts: auths as before */
    CHECK_OK(lookup(doc, "plain.io", NULL, &found, &u, &p));
    CHECK(found && strcmp(u, "a") == 0 && strcmp(p, "b") == 0);
    free(u);
    free(p);
    /* the helper does not know it: no credentials (auths not consulted) */
    CHECK_OK(lookup(doc, "gone.io", NULL, &found, &u, &p));
    CHECK(!found);
    /* docker.io is asked for under docker's index URL */
    CHECK_OK(lookup(doc, "docker.io", "library/alpine", &found, &u, &p));
    CHECK(found && strcmp(u, "hub") == 0 && strcmp(p, "hubpw") == 0);
    free(u);
    free(p);

    /* credsStore for every host without a credHelpers entry */
    const char *store = "{\"credsStore\":\"good\",\"credHelpers\":{\"x.io\":\"fails\"},"
                        "\"auths\":{\"reg.test:5000\":{}}}";
    CHECK_OK(lookup(store, "reg.test:5000", NULL, &found, &u, &p));
    CHECK(found && strcmp(u, "helper-user") == 0);
    free(u);
    free(p);
    CHECK_OK(lookup(store, "nothere.io", NULL, &found, &u, &p));
    CHECK(!found);

    /* malformed: wrong types; a failing helper is an error naming the file */
    CHECK(lookup_code("{\"credHelpers\":[]}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"credHelpers\":{\"h.io\":5}}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"credsStore\":{}}") == COCOIMG_EFORMAT);
    CHECK(lookup_code("{\"credHelpers\":{\"h.io\":\"fails\"}}") == COCOIMG_ERROR);
    CHECK(lookup_code("{\"credHelpers\":{\"h.io\":\"../../bin/sh\"}}") == COCOIMG_EINVAL);
    cocoimg_error *e = NULL;
    char *uu = NULL;
    cocoimg__secret *s = NULL;
    const char *bad = "{\"credsStore\":\"garbage\"}";
    CHECK(cocoimg__authfile_lookup(&found, &uu, &s, bad, strlen(bad), "h.io", NULL, "my.json",
                                   &e) == COCOIMG_EFORMAT);
    CHECK(strstr(cocoimg_error_message(e), "my.json") &&
          !strstr(cocoimg_error_message(e), "TOPSECRET"));
    cocoimg_error_free(e);

    /* through the default locations: a not-found helper falls through to the next file */
    char dir[512], path[512];
    snprintf(dir, sizeof(dir), "%s/run/containers", helperdir);
    CHECK_OK(cocoimg__mkdir_p(AT_FDCWD, dir, NULL));
    CHECK_OK(write_file(dir, "auth.json",
                        "{\"credHelpers\":{\"reg.test:5000\":\"good\","
                        "\"gone.io\":\"good\"}}"));
    snprintf(dir, sizeof(dir), "%s/home/.docker", helperdir);
    CHECK_OK(cocoimg__mkdir_p(AT_FDCWD, dir, NULL));
    CHECK_OK(write_file(dir, "config.json", "{\"auths\":{\"gone.io\":{\"auth\":\"ZDpl\"}}}"));
    snprintf(path, sizeof(path), "%s/run", helperdir);
    setenv("XDG_RUNTIME_DIR", path, 1);
    snprintf(path, sizeof(path), "%s/home", helperdir);
    setenv("HOME", path, 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("REGISTRY_AUTH_FILE");
    CHECK_OK(cocoimg__authfile_find(&found, &uu, &s, NULL, NULL, "reg.test:5000", NULL));
    CHECK(found && strcmp(uu, "helper-user") == 0);
    free(uu);
    cocoimg__secret_free(s);
    CHECK_OK(cocoimg__authfile_find(&found, &uu, &s, NULL, NULL, "gone.io", NULL));
    CHECK(found && strcmp(uu, "d") == 0 && s->len == 1 && s->ptr[0] == 'e');
    free(uu);
    cocoimg__secret_free(s);

    /* and the registry client takes them when created */
    cocoimg__registry *r = NULL;
    struct cocoimg__registry_options o = {0};
    CHECK_OK(cocoimg__registry_new(&r, NULL, "reg.test:5000", &o, NULL));
    cocoimg__registry_free(r);
    snprintf(path, sizeof(path), "%s/fails.json", helperdir);
    CHECK_OK(
        write_file(helperdir, "fails.json", "{\"credHelpers\":{\"reg.test:5000\":\"fails\"}}"));
    o.authfile = path;
    e = NULL;
    CHECK(cocoimg__registry_new(&r, NULL, "reg.test:5000", &o, &e) == COCOIMG_ERROR);
    CHECK(strstr(cocoimg_error_message(e), "fails.json"));
    cocoimg_error_free(e);

    cocoimg__rm_rf(AT_FDCWD, helperdir, NULL);
    return 0;
}

/* The realm of a parsed challenge: may the registry's credentials go there? -1: refused. */
static int
realm_verdict(const char *www_auth, const char *reg_host, const char *reg_scheme, bool insecure)
{
    cocoimg__auth_challenge c;
    if (parse_ok(&c, www_auth) < 0)
        return -2;
    bool send = true;
    cocoimg_error *e = NULL;
    int r = cocoimg__auth_realm_check(&send, c.realm, reg_host, reg_scheme, insecure, &e);
    int v = r < 0 ? (cocoimg_error_code(e) == COCOIMG_EHTTP && !send ? -1 : -3) : send ? 1 : 0;
    cocoimg_error_free(e);
    cocoimg__auth_challenge_clear(&c);
    return v;
}

static int
test_realm_policy(void)
{
    /* a TLS-verified registry: only https realms, credentials to any of them */
    CHECK(realm_verdict("Bearer realm=\"https://auth.example/token\",service=reg", "reg.example",
                        "https", false) == 1);
    CHECK(realm_verdict("Bearer realm=\"http://evil.example/token\"", "reg.example", "https",
                        false) == -1);
    CHECK(realm_verdict("Bearer realm=\"http://reg.example/token\"", "reg.example", "https",
                        false) == -1);
    CHECK(realm_verdict("Bearer realm=\"HTTP://reg.example:443/token\"", "reg.example", "https",
                        false) == -1);
    CHECK(realm_verdict("Bearer realm=\"ftp://reg.example/token\"", "reg.example", "https",
                        false) == -1);
    CHECK(realm_verdict("Bearer realm=\"file:///etc/passwd\"", "reg.example", "https", true) < 0);
    /* an insecure registry: plain http realms, credentials only to its own host:port */
    CHECK(realm_verdict("Bearer realm=\"http://127.0.0.1:5000/token\"", "127.0.0.1:5000", "http",
                        true) == 1);
    CHECK(realm_verdict("Bearer realm=\"http://127.0.0.1:5001/token\"", "127.0.0.1:5000", "http",
                        true) == 0);
    CHECK(realm_verdict("Bearer realm=\"http://evil.example:5000/token\"", "127.0.0.1:5000", "http",
                        true) == 0);
    CHECK(realm_verdict("Bearer realm=\"http://LocalHost/token\"", "localhost", "http", true) == 1);
    CHECK(realm_verdict("Bearer realm=\"http://localhost:80/t\"", "localhost", "http", true) == 1);
    /* the registry over https on 443: an http realm on the same name is port 80, not the same */
    CHECK(realm_verdict("Bearer realm=\"http://localhost/t\"", "localhost", "https", true) == 0);
    CHECK(realm_verdict("Bearer realm=\"https://other:9/t\"", "localhost", "http", true) == 1);
    CHECK(realm_verdict("Bearer realm=\"http://[::1]:5000/t\"", "[::1]:5000", "http", true) == 1);
    CHECK(realm_verdict("Bearer realm=\"http://user@127.0.0.2:5000/t\"", "127.0.0.1:5000", "http",
                        true) == 0);
    CHECK(realm_verdict("Bearer realm=\"not a url\"", "reg.example", "https", false) == -3);
    return 0;
}

static int
test_token_chars(void)
{
    static const char *const good[] = {"abc", "eyJhbGciOi.eyJzdWIi.sig-_~+/", "dG9rZW4=", "a=="};
    static const char *const bad[] = {
        "",    "abc\r\nX-Evil: 1", "abc\n", "a b", "tok\x01", "tok\x7f", "=abc",
        "a=b", "\xc3\xa9",         "a\tb",  "a,b", "\"q\""};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK(cocoimg__auth_token_ok(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!cocoimg__auth_token_ok(bad[i], strlen(bad[i])));
    /* an embedded NUL (jansson allows \u0000) */
    CHECK(!cocoimg__auth_token_ok("ab\0cd", 5));
    return 0;
}

/* The copies curl_slist_append() makes of the Authorization header are wiped. */
static int
test_slist_wipe(void)
{
    struct curl_slist *l = curl_slist_append(NULL, "Expect:");
    CHECK(l);
    struct curl_slist *n = curl_slist_append(l, "Authorization: Bearer c2VjcmV0LXRva2Vu");
    CHECK(n);
    l = n;
    size_t len[2] = {strlen(l->data), strlen(l->next->data)};
    const char *p[2] = {l->data, l->next->data};
    cocoimg__slist_wipe(l);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < len[k]; i++)
            CHECK(p[k][i] == 0);
    curl_slist_free_all(l);
    cocoimg__slist_wipe(NULL);
    return 0;
}

/* 1: credentials may go there, 0: no credentials, -1: refused */
static int
loc_verdict(const char *loc, const char *reg_host, const char *reg_scheme, bool insecure)
{
    bool same = true;
    cocoimg_error *e = NULL;
    int r = cocoimg__location_check(&same, loc, reg_host, reg_scheme, insecure, &e);
    bool msg = e && cocoimg_error_message(e)[0];
    cocoimg_error_free(e);
    return r < 0 ? (msg && !same ? -1 : -2) : same ? 1 : 0;
}

static int
test_location_policy(void)
{
    CHECK(loc_verdict("https://reg.example/v2/a/blobs/uploads/1", "reg.example", "https", false) ==
          1);
    CHECK(loc_verdict("https://reg.example:443/v2/a/blobs/uploads/1", "reg.example", "https",
                      false) == 1);
    CHECK(loc_verdict("https://cdn.example/up?x=1", "reg.example", "https", false) == 0);
    CHECK(loc_verdict("https://reg.example:8443/up", "reg.example", "https", false) == 0);
    /* https -> http: refused, also for an insecure registry reached over https */
    CHECK(loc_verdict("http://reg.example/up", "reg.example", "https", false) == -1);
    CHECK(loc_verdict("http://reg.example:443/up", "reg.example", "https", true) == -1);
    CHECK(loc_verdict("http://evil.example/up", "reg.example", "https", true) == -1);
    CHECK(loc_verdict("ftp://reg.example/up", "reg.example", "https", true) == -1);
    /* a plain-http (insecure) registry */
    CHECK(loc_verdict("http://127.0.0.1:5000/v2/a/blobs/uploads/1", "127.0.0.1:5000", "http",
                      true) == 1);
    CHECK(loc_verdict("http://127.0.0.1:5001/up", "127.0.0.1:5000", "http", true) == 0);
    CHECK(loc_verdict("https://127.0.0.1:5000/up", "127.0.0.1:5000", "http", true) == 1);
    return 0;
}

/*
 * A 200 answer to a resumed request skips the bytes already handed on.  When
 * the buffer is full the callback pauses and curl delivers the same bytes
 * again: the skip must not have been consumed by the paused call.
 */
static int
test_resume_skip_pause(void)
{
    struct cocoimg__xfer *x = calloc(1, sizeof(*x));
    CHECK(x);
    x->stream = true;
    CHECK((x->body = malloc(COCOIMG__XFER_RING_CAP)));
    x->hdr_done = true;
    x->status = 200;
    x->skip = 5;
    x->body_len = COCOIMG__XFER_RING_CAP - 10; /* the consumer is behind */
    char buf[100];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)('a' + i % 26);
    CHECK(cocoimg__xfer_write_cb(buf, 1, sizeof(buf), x) == CURL_WRITEFUNC_PAUSE);
    CHECK(x->paused && x->skip == 5);
    x->body_len = 0; /* the consumer caught up */
    x->body_off = 0;
    CHECK(cocoimg__xfer_write_cb(buf, 1, sizeof(buf), x) == sizeof(buf));
    CHECK(x->body_len == sizeof(buf) - 5 && x->skip == 0);
    CHECK(memcmp(x->body, buf + 5, sizeof(buf) - 5) == 0);
    /* a buffer wholly inside the skip is consumed and dropped */
    x->skip = 200;
    x->body_len = 0;
    CHECK(cocoimg__xfer_write_cb(buf, 1, sizeof(buf), x) == sizeof(buf));
    CHECK(x->skip == 100 && x->body_len == 0);
    free(x->body);
    free(x);
    return 0;
}

static const struct tap_test tests[] = {TAP_TEST(test_resume_skip_pause),
                                        TAP_TEST(test_location_policy),
                                        TAP_TEST(test_slist_wipe),
                                        TAP_TEST(test_realm_policy),
                                        TAP_TEST(test_token_chars),
                                        TAP_TEST(test_challenge_bearer),
                                        TAP_TEST(test_challenge_basic_and_multi),
                                        TAP_TEST(test_challenge_bad),
                                        TAP_TEST(test_authfile_lookup),
                                        TAP_TEST(test_authfile_bad),
                                        TAP_TEST(test_authfile_find),
                                        TAP_TEST(test_certs_d),
                                        TAP_TEST(test_client_new_errors),
                                        TAP_TEST(test_credhelper_get),
                                        TAP_TEST(test_credhelper_bad),
                                        TAP_TEST(test_credhelper_authfile),
                                        {0}};

int
main(void)
{
    return tap_run(tests);
}
