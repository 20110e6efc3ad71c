/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containers-policy.json: strict parsing (each refusal names its JSON
 * path), scope lookup order and signedIdentity matching, with the cases of
 * containers/image's policy_config_test.go / policy_reference_match_test.go
 * semantics, written out here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cocoimg/reference.h>

#include "signatures/policy.h"
#include "tap.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

static int
parse(const char *json, cocoimg__policy **out, char **msg)
{
    cocoimg_error *e = NULL;
    int r = cocoimg__policy_parse(out, json, strlen(json), "P", &e);
    if (msg)
        *msg = e ? strdup(cocoimg_error_message(e)) : NULL;
    cocoimg_error_free(e);
    return r;
}

/* the policy is refused with a message containing @p want */
static int
refused(const char *json, const char *want)
{
    cocoimg__policy *p = NULL;
    char *msg = NULL;
    int r = parse(json, &p, &msg);
    int ok = r == COCOIMG_EFORMAT && msg && strstr(msg, want) &&
             strncmp(msg, "invalid policy P: ", 18) == 0;
    if (!ok)
        printf("# policy %s\n#   r=%d msg=%s (wanted '%s')\n", json, r, msg ? msg : "(none)", want);
    cocoimg__policy_free(p);
    free(msg);
    return ok ? 0 : -1;
}

static int
test_refusals(void)
{
    CHECK(refused("{}", "default: missing") == 0);
    CHECK(refused("[]", "") == 0);
    CHECK(refused("{\"default\": []}", "default: no requirements") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"insecureAcceptAnything\"}], \"x\": 1}",
                  ".x: unknown field") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\", \"keyPath\": \"/k\"}]}",
                  "default[0].keyPath: unknown field") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"nope\"}]}",
                  "default[0].type: unknown requirement type") == 0);
    CHECK(refused("{\"default\": [{}]}", "default[0].type: missing") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"default\": [{\"type\": \"reject\"}]}",
                  "") == 0);
    /* signedBy */
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyPath\": \"/k\"}]}",
                  "default[0].keyType: missing") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\"}]}",
                  "exactly one of keyPath, keyPaths and keyData") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"keyData\": \"AA==\"}]}",
                  "cannot be used together") == 0);
    CHECK(
        refused(
            "{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPaths\": []}]}",
            "default[0].keyPaths: empty") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"X509Certificates\", "
                  "\"keyPath\": \"/k\"}]}",
                  "default[0].keyType: key type not supported") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyData\": "
                  "\"!!\"}]}",
                  "keyData: not valid base64") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"exactReference\"}}]}",
                  "default[0].signedIdentity.dockerReference: missing") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"exactReference\", \"dockerReference\": "
                  "\"busybox:latest\"}}]}",
                  "not a fully explicit") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"exactReference\", \"dockerReference\": "
                  "\"docker.io/library/busybox\"}}]}",
                  "without a tag or digest") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"exactRepository\", "
                  "\"dockerRepository\": \"docker.io/library/busybox:latest\"}}]}",
                  "dockerRepository: not a fully explicit") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"matchExact\", \"x\": 1}}]}",
                  "signedIdentity.x: unknown field") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": "
                  "\"example.com\"}}]}",
                  "signedPrefix: missing") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                  "\"/k\", \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": "
                  "\"example.com/a:tag\", \"signedPrefix\": \"x.com\"}}]}",
                  "prefix: not a host") == 0);
    /* sigstoreSigned */
    CHECK(refused("{\"default\": [{\"type\": \"sigstoreSigned\"}]}",
                  "exactly one of keyPath, keyPaths, keyData, fulcio and pki") == 0);
    CHECK(
        refused(
            "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/k\", \"fulcio\": {}}]}",
            "exactly one of") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"/c\", "
                  "\"oidcIssuer\": \"https://i\", \"subjectEmail\": \"a@b\"}}]}",
                  "fulcio requires one of rekorPublicKeyPath") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"sigstoreSigned\", \"rekorPublicKeyPath\": \"/r\", "
                  "\"fulcio\": {\"oidcIssuer\": \"https://i\", \"subjectEmail\": \"a@b\"}}]}",
                  "default[0].fulcio: one of caPath and caData") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"sigstoreSigned\", \"rekorPublicKeyPath\": \"/r\", "
                  "\"fulcio\": {\"caPath\": \"/c\", \"subjectEmail\": \"a@b\"}}]}",
                  "default[0].fulcio.oidcIssuer: missing") == 0);
    CHECK(refused(
              "{\"default\": [{\"type\": \"sigstoreSigned\", \"pki\": {\"caRootsPath\": \"/c\"}}]}",
              "at least one of subjectEmail and subjectHostname") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"sigstoreSigned\", \"pki\": {\"caRootsPath\": "
                  "\"/c\", \"subjectEmail\": \"a@b\", \"caRootsData\": \"AA==\"}}]}",
                  "cannot be used together") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"sigstoreSigned\", \"rekorPublicKeyPath\": \"/r\", "
                  "\"pki\": {\"caRootsPath\": \"/c\", \"subjectEmail\": \"a@b\"}}]}",
                  "pki cannot be combined with rekorPublicKeyPath") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"signedBaseLayer\"}]}",
                  "signedBaseLayer is not supported") == 0);
    /* scopes: the path names the transport and the scope */
    CHECK(
        refused(
            "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"quay.io/x\": "
            "[{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": 1}]}}}",
            "transports.docker[\"quay.io/x\"][0].keyPath: not a string") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": "
                  "{\"busybox\": [{\"type\": \"reject\"}]}}}",
                  "transports.docker[\"busybox\"]: invalid scope") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": "
                  "{\"*.a.*.com\": [{\"type\": \"reject\"}]}}}",
                  "invalid scope") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": "
                  "{\"quay.io/x\": []}}}",
                  "transports.docker[\"quay.io/x\"]: no requirements") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": "
                  "{\"relative/dir\": [{\"type\": \"reject\"}]}}}",
                  "transports.oci[\"relative/dir\"]: invalid scope") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": {\"/a/../b\": "
                  "[{\"type\": \"reject\"}]}}}",
                  "invalid scope") == 0);
    CHECK(refused("{\"default\": [{\"type\": \"reject\"}], \"transports\": []}",
                  "transports: not an object") == 0);
    return 0;
}

static int
test_accepts(void)
{
    const char *ok[] = {
        "{\"default\": [{\"type\": \"insecureAcceptAnything\"}]}",
        "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker-daemon\": {\"\": "
        "[{\"type\": \"insecureAcceptAnything\"}]}, \"atomic\": 5}}",
        "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {"
        "\"\": [{\"type\": \"reject\"}], \"localhost:5000\": [{\"type\": \"reject\"}], "
        "\"*.example.com\": [{\"type\": \"reject\"}],"
        "\"quay.io/ns/repo:tag\": [{\"type\": \"reject\"}], "
        "\"docker.io/library/"
        "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\": "
        "[{\"type\": \"reject\"}]},"
        "\"oci\": {\"/srv/images\": [{\"type\": \"reject\"}], \"/srv/images/app:v1\": [{\"type\": "
        "\"reject\"}]}}}",
        "{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPaths\": [\"/a\", "
        "\"/b\"], \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": "
        "\"mirror.example.com/ns\", \"signedPrefix\": \"quay.io/ns\"}}]}",
        "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"AAEC\", \"signedIdentity\": "
        "{\"type\": \"matchRepository\"}}]}",
        "{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caData\": \"AAEC\", "
        "\"oidcIssuer\": \"https://i\", \"subjectEmail\": \"a@b\"}, \"rekorPublicKeyPaths\": "
        "[\"/r1\", \"/r2\"]}]}",
        "{\"default\": [{\"type\": \"sigstoreSigned\", \"pki\": {\"caRootsPath\": \"/c\", "
        "\"caIntermediatesPath\": \"/i\", \"subjectHostname\": \"h.example.com\"}}]}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cocoimg__policy *p = NULL;
        char *msg = NULL;
        int r = parse(ok[i], &p, &msg);
        if (r < 0)
            printf("# %zu: %s\n", i, msg);
        free(msg);
        CHECK(r == 0);
        cocoimg__policy_free(p);
    }
    return 0;
}

static int
test_missing_file(void)
{
    cocoimg__policy *p = NULL;
    cocoimg_error *e = NULL;
    CHECK(cocoimg__policy_load(&p, NULL, "/nonexistent/policy.json", &e) == COCOIMG_ENOTFOUND);
    CHECK(strstr(cocoimg_error_message(e), "/nonexistent/policy.json"));
    cocoimg_error_free(e);
    return 0;
}

static cocoimg_reference *
ref(const char *s)
{
    cocoimg_reference *r = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg_reference_parse(&r, s, &e) < 0) {
        printf("# ref %s: %s\n", s, cocoimg_error_message(e));
        r = NULL;
    }
    cocoimg_error_free(e);
    return r;
}

static int
test_scopes_docker(void)
{
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r =
        ref("docker://a.b.example.com:5000/ns1/ns2/repo:v1");
    CHECK(r);
    char **s = NULL;
    CHECK_OK(cocoimg__policy_scopes(&s, r, NULL));
    const char *want[] = {"a.b.example.com:5000/ns1/ns2/repo:v1",
                          "a.b.example.com:5000/ns1/ns2/repo",
                          "a.b.example.com:5000/ns1/ns2",
                          "a.b.example.com:5000/ns1",
                          "a.b.example.com:5000",
                          "*.b.example.com",
                          "*.example.com",
                          "*.com",
                          NULL};
    for (size_t i = 0;; i++) {
        if (!want[i] || !s[i]) {
            CHECK(!want[i] && !s[i]);
            break;
        }
        if (strcmp(want[i], s[i]) != 0)
            printf("# scope %zu: %s, wanted %s\n", i, s[i], want[i]);
        CHECK(strcmp(want[i], s[i]) == 0);
    }
    cocoimg__policy_scopes_free(s);
    return 0;
}

static const char *
lookup(const cocoimg__policy *p, const char *refstr)
{
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r = ref(refstr);
    const cocoimg__policy_reqs *rq = NULL;
    if (!r || cocoimg__policy_for(&rq, p, r, NULL) < 0)
        return "(error)";
    return rq->scope ? rq->scope : "(default)";
}

static int
test_lookup(void)
{
    const char *json = "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {"
                       "\"quay.io\": [{\"type\": \"reject\"}],"
                       "\"quay.io/ns\": [{\"type\": \"reject\"}],"
                       "\"quay.io/ns/app\": [{\"type\": \"reject\"}],"
                       "\"quay.io/ns/app:v1\": [{\"type\": \"insecureAcceptAnything\"}],"
                       "\"*.example.com\": [{\"type\": \"reject\"}],"
                       "\"*.b.example.com\": [{\"type\": \"reject\"}],"
                       "\"localhost:5000/x\": [{\"type\": \"reject\"}],"
                       "\"\": [{\"type\": \"reject\"}]}}}";
    cocoimg__policy *p = NULL;
    CHECK(parse(json, &p, NULL) == 0);
    CHECK(strcmp(lookup(p, "docker://quay.io/ns/app:v1"), "quay.io/ns/app:v1") == 0);
    CHECK(strcmp(lookup(p, "docker://quay.io/ns/app:v2"), "quay.io/ns/app") == 0);
    CHECK(strcmp(lookup(p, "docker://quay.io/ns/other:v2"), "quay.io/ns") == 0);
    CHECK(strcmp(lookup(p, "docker://quay.io/ns2/app"), "quay.io") == 0);
    CHECK(strcmp(lookup(p, "docker://a.b.example.com/x:1"), "*.b.example.com") == 0);
    CHECK(strcmp(lookup(p, "docker://c.example.com:443/x:1"), "*.example.com") == 0);
    /* the wildcard needs a subdomain: example.com itself does not match *.example.com */
    CHECK(strcmp(lookup(p, "docker://example.com/x:1"), "") == 0);
    CHECK(strcmp(lookup(p, "docker://localhost:5000/x:1"), "localhost:5000/x") == 0);
    CHECK(strcmp(lookup(p, "docker://localhost:5001/x:1"), "") == 0);
    CHECK(strcmp(lookup(p, "docker://busybox"), "") == 0);
    /* oci has no section here: the default */
    CHECK(strcmp(lookup(p, "oci:/tmp:x"), "(default)") == 0);
    cocoimg__policy_free(p);
    return 0;
}

static int
test_lookup_oci(void)
{
    char dir[] = "/tmp/cocoimg-policy-XXXXXX";
    CHECK(mkdtemp(dir));
    char sub[256], json[2048], r1[300], r2[300];
    snprintf(sub, sizeof(sub), "%s/images/app", dir);
    char mid[256];
    snprintf(mid, sizeof(mid), "%s/images", dir);
    CHECK(mkdir(mid, 0700) == 0 && mkdir(sub, 0700) == 0);
    snprintf(json, sizeof(json),
             "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": {"
             "\"%s:v1\": [{\"type\": \"insecureAcceptAnything\"}],"
             "\"%s\": [{\"type\": \"reject\"}]}}}",
             sub, mid);
    cocoimg__policy *p = NULL;
    CHECK(parse(json, &p, NULL) == 0);
    snprintf(r1, sizeof(r1), "oci:%s:v1", sub);
    snprintf(r2, sizeof(r2), "oci:%s:v2", sub);
    char want1[300];
    snprintf(want1, sizeof(want1), "%s:v1", sub);
    CHECK(strcmp(lookup(p, r1), want1) == 0);
    CHECK(strcmp(lookup(p, r2), mid) == 0);
    cocoimg__policy_free(p);
    rmdir(sub);
    rmdir(mid);
    rmdir(dir);
    return 0;
}

static bool
m(cocoimg__id_type t, const char *intended, const char *signed_ref)
{
    cocoimg__identity id = {.type = t};
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r = ref(intended);
    return r && cocoimg__identity_match(&id, r, signed_ref, NULL);
}

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
test_identity(void)
{
    /* matchRepoDigestOrExact (the default) */
    CHECK(m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://quay.io/a/b:v1", "quay.io/a/b:v1"));
    CHECK(!m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://quay.io/a/b:v1", "quay.io/a/b:v2"));
    CHECK(!m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://quay.io/a/b:v1", "quay.io/a/b"));
    CHECK(m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://quay.io/a/b@" DG, "quay.io/a/b:v2"));
    CHECK(!m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://quay.io/a/b@" DG, "quay.io/a/c:v2"));
    /* docker.io normalisation of the signed reference */
    CHECK(m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://busybox:latest", "busybox:latest"));
    CHECK(m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://busybox:latest",
            "docker.io/library/busybox:latest"));
    CHECK(!m(COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT, "docker://busybox:latest", "garbage//x"));
    /* matchExact */
    CHECK(m(COCOIMG__ID_MATCH_EXACT, "docker://quay.io/a/b:v1", "quay.io/a/b:v1"));
    CHECK(!m(COCOIMG__ID_MATCH_EXACT, "docker://quay.io/a/b@" DG, "quay.io/a/b:v1"));
    CHECK(m(COCOIMG__ID_MATCH_EXACT, "docker://quay.io/a/b@" DG, "quay.io/a/b@" DG));
    /* matchRepository */
    CHECK(m(COCOIMG__ID_MATCH_REPOSITORY, "docker://quay.io/a/b:v1", "quay.io/a/b:other"));
    CHECK(m(COCOIMG__ID_MATCH_REPOSITORY, "docker://quay.io/a/b:v1", "quay.io/a/b"));
    CHECK(!m(COCOIMG__ID_MATCH_REPOSITORY, "docker://quay.io/a/b:v1", "quay.io/a/bc:v1"));
    /* exactReference / exactRepository: independent of the image's own name */
    cocoimg__identity er = {.type = COCOIMG__ID_EXACT_REFERENCE,
                            .reference = (char *)"quay.io/x/y:1"};
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *o = ref("oci:/tmp:v1");
    CHECK(o);
    CHECK(cocoimg__identity_match(&er, o, "quay.io/x/y:1", NULL));
    CHECK(!cocoimg__identity_match(&er, o, "quay.io/x/y:2", NULL));
    cocoimg__identity erp = {.type = COCOIMG__ID_EXACT_REPOSITORY,
                             .repository = (char *)"quay.io/x/y"};
    CHECK(cocoimg__identity_match(&erp, o, "quay.io/x/y:2", NULL));
    CHECK(!cocoimg__identity_match(&erp, o, "quay.io/x/z:2", NULL));
    /* an oci: image has no docker identity for the match* types */
    const char *why = NULL;
    cocoimg__identity def = {.type = COCOIMG__ID_MATCH_REPO_DIGEST_OR_EXACT};
    CHECK(!cocoimg__identity_match(&def, o, "quay.io/x/y:1", &why) && why);
    /* remapIdentity: prefix boundaries as containers/image */
    cocoimg__identity rm = {.type = COCOIMG__ID_REMAP,
                            .prefix = (char *)"mirror.local/ns",
                            .signed_prefix = (char *)"quay.io/upstream"};
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *a =
        ref("docker://mirror.local/ns/app:v1");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *b =
        ref("docker://mirror.local/nsx/app:v1");
    CHECK(a && b);
    CHECK(cocoimg__identity_match(&rm, a, "quay.io/upstream/app:v1", NULL));
    CHECK(!cocoimg__identity_match(&rm, a, "mirror.local/ns/app:v1", NULL));
    /* "nsx" does not start with the prefix "ns" at a component boundary: no remap */
    CHECK(!cocoimg__identity_match(&rm, b, "quay.io/upstream/x/app:v1", NULL));
    CHECK(cocoimg__identity_match(&rm, b, "mirror.local/nsx/app:v1", NULL));
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_refusals),     TAP_TEST(test_accepts),
    TAP_TEST(test_missing_file), TAP_TEST(test_scopes_docker),
    TAP_TEST(test_lookup),       TAP_TEST(test_lookup_oci),
    TAP_TEST(test_identity),     {0},
};

int
main(void)
{
    return tap_run(tests);
}
