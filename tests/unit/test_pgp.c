/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenPGP key wrapper against real GnuPG: two temporary homes, one with the
 * vector secret key, one with only the public key.  Their gpg-agents are
 * always stopped and the homes removed at the end.
 */
#include <ftw.h>
#include <gpgme.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypt/keywrap.h"
#include "ocivectors.h"
#include "tap.h"
#include "util/error.h"
#include "util/secret.h"

static const struct cocoimg__keywrapper *const W = &cocoimg__keywrap_pgp;

static char home_sec[] = "/tmp/cocoimg-gpg-sec.XXXXXX";
static char home_pub[] = "/tmp/cocoimg-gpg-pub.XXXXXX";
static bool have_sec, have_pub;

static int
import(const char *home, const char *rel, bool want_secret)
{
    gpgme_ctx_t ctx = NULL;
    gpgme_data_t d = NULL;
    char *path = vec_path(rel);
    int r = -1;
    if (!path || gpgme_new(&ctx) ||
        gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home) ||
        gpgme_data_new_from_file(&d, path, 1))
        goto out;
    gpgme_error_t e = gpgme_op_import(ctx, d);
    gpgme_import_result_t res = gpgme_op_import_result(ctx);
    if (e)
        printf("# import %s: %s\n", rel, gpgme_strerror(e));
    else if (res && res->imported >= 1 && (!want_secret || res->secret_imported >= 1))
        r = 0;
out:
    gpgme_data_release(d);
    gpgme_release(ctx);
    free(path);
    return r;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void
drop_home(const char *home)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("gpgconf", "gpgconf", "--homedir", home, "--kill", "all", (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
cfg_for(struct cocoimg__pgp_state *cfg, char *home, char **recipients, size_t n)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->homedir = home;
    cfg->decrypt = true;
    cfg->recipients = recipients;
    cfg->n_recipients = n;
}

static int
unwrap_with(char *home, const uint8_t *blob, size_t len, cocoimg__secret **out)
{
    struct cocoimg__pgp_state cfg;
    cfg_for(&cfg, home, NULL, 0);
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = W->unwrap(NULL, &cfg, W->annotation, blob, len, out, &err);
    if (r < 0) {
        printf("#   unwrap: %s\n", cocoimg_error_message(err));
        if (!err || cocoimg_error_code(err) != r)
            return 1;
    }
    return r;
}

static int
check_vector(const char *layout, size_t layer)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob(layout, layer, "pgp", 0, &len);
    _cleanup_free_ char *want = vec_privopts(layout, layer);
    CHECK(blob && want);
    _cleanup_secret_ cocoimg__secret *out = NULL;
    CHECK(unwrap_with(home_sec, blob, len, &out) == 0);
    CHECK(out->len == strlen(want) && memcmp(out->ptr, want, out->len) == 0);
    return 0;
}

static int
test_vectors(void)
{
    if (!have_sec)
        return 77;
    CHECK(check_vector("enc-pgp", 0) == 0);
    CHECK(check_vector("enc-pgp", 1) == 0);
    CHECK(check_vector("enc-mixed", 0) == 0);
    CHECK(check_vector("enc-mixed", 1) == 0);
    return 0;
}

static int
describe_is(const uint8_t *blob, size_t len, const char *want)
{
    json_t *arr = NULL;
    CHECK_OK(W->describe(blob, len, &arr, NULL));
    const char *s = json_string_value(json_array_get(arr, 0));
    int ok = json_array_size(arr) == 1 && s && strcmp(s, want) == 0;
    if (!ok)
        printf("# describe: %zu entries, first '%s'\n", json_array_size(arr), s ? s : "");
    json_decref(arr);
    return ok ? 0 : -1;
}

static int
test_describe(void)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob("enc-pgp", 0, "pgp", 0, &len);
    CHECK(blob);
    /* no keys, no gpg involved */
    CHECK(describe_is(blob, len, "kid 12F1CD5F6A142AAA") == 0);
    /* garbage and truncation */
    json_t *arr = NULL;
    cocoimg_error *err = NULL;
    CHECK(W->describe((const uint8_t *)"hello", 5, &arr, &err) == COCOIMG_EFORMAT);
    cocoimg_error_free(err);
    for (size_t n = 1; n < 271; n++) /* inside the PKESK packet */
        CHECK(W->describe(blob, n, &arr, NULL) == COCOIMG_EFORMAT);
    return 0;
}

static const char opts[] = "{\"symkey\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                           "\"digest\":\"sha256:00\",\"cipheroptions\":{\"nonce\":\"AAAA\"}}";

static int
wrap_with(char *home, char **recipients, size_t n, uint8_t **out, size_t *out_len)
{
    struct cocoimg__pgp_state cfg;
    cfg_for(&cfg, home, recipients, n);
    _cleanup_secret_ cocoimg__secret *s = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = cocoimg__secret_dup(&s, opts, strlen(opts), &err);
    if (r == 0)
        r = cocoimg__keywrap_wrap_blob(W, &cfg, s, out, out_len, &err);
    if (r < 0) {
        printf("#   wrap: %s\n", cocoimg_error_message(err));
        if (!err || cocoimg_error_code(err) != r)
            return 1;
    }
    return r;
}

static int
test_roundtrip(void)
{
    if (!have_sec)
        return 77;
    char *rcpt[] = {(char *)"coco-test@example.com"};
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    CHECK(wrap_with(home_sec, rcpt, 1, &blob, &len) == 0);
    /* binary, not armored: starts with a PKESK packet header */
    CHECK(len > 0 && (blob[0] & 0x80));
    CHECK(describe_is(blob, len, "kid 12F1CD5F6A142AAA") == 0);
    _cleanup_secret_ cocoimg__secret *out = NULL;
    CHECK(unwrap_with(home_sec, blob, len, &out) == 0);
    CHECK(out->len == strlen(opts) && memcmp(out->ptr, opts, out->len) == 0);
    return 0;
}

static int
test_recipient_match(void)
{
    if (!have_sec)
        return 77;
    _cleanup_free_ uint8_t *b1 = NULL, *b2 = NULL, *b3 = NULL;
    size_t len = 0;
    /* ocicrypt semantics: exact display name or e-mail; plus key ids */
    char *by_name[] = {(char *)"Coco Test"};
    CHECK(wrap_with(home_sec, by_name, 1, &b1, &len) == 0);
    char *by_id[] = {(char *)"0x12F1CD5F6A142AAA"};
    CHECK(wrap_with(home_sec, by_id, 1, &b2, &len) == 0);
    /* two recipient strings for the same key: one PKESK */
    char *twice[] = {(char *)"Coco Test", (char *)"coco-test@example.com"};
    CHECK(wrap_with(home_sec, twice, 2, &b3, &len) == 0);
    CHECK(describe_is(b3, len, "kid 12F1CD5F6A142AAA") == 0);
    uint8_t *none = NULL;
    char *lower[] = {(char *)"coco test"};
    CHECK(wrap_with(home_sec, lower, 1, &none, &len) == COCOIMG_ENOTFOUND);
    char *partial[] = {(char *)"coco-test@example"};
    CHECK(wrap_with(home_sec, partial, 1, &none, &len) == COCOIMG_ENOTFOUND);
    char *nobody[] = {(char *)"nobody@example.com"};
    CHECK(wrap_with(home_sec, nobody, 1, &none, &len) == COCOIMG_ENOTFOUND);
    CHECK(none == NULL);
    return 0;
}

static int
test_no_secret_key(void)
{
    if (!have_pub)
        return 77;
    /* encrypting needs only the public key */
    char *rcpt[] = {(char *)"coco-test@example.com"};
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    CHECK(wrap_with(home_pub, rcpt, 1, &blob, &len) == 0);
    cocoimg__secret *out = NULL;
    CHECK(unwrap_with(home_pub, blob, len, &out) == COCOIMG_ENOKEY);
    size_t vlen = 0;
    _cleanup_free_ uint8_t *vec = vec_blob("enc-pgp", 0, "pgp", 0, &vlen);
    CHECK(vec);
    CHECK(unwrap_with(home_pub, vec, vlen, &out) == COCOIMG_ENOKEY);
    CHECK(out == NULL);
    /* pgp_decrypt off: no attempt */
    struct cocoimg__pgp_state cfg;
    cfg_for(&cfg, home_sec, NULL, 0);
    cfg.decrypt = false;
    CHECK(!W->has_keys(NULL, &cfg));
    CHECK(W->unwrap(NULL, &cfg, W->annotation, vec, vlen, &out, NULL) == COCOIMG_ENOKEY);
    return 0;
}

static int
test_corrupt(void)
{
    if (!have_sec)
        return 77;
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob("enc-pgp", 0, "pgp", 0, &len);
    CHECK(blob);
    cocoimg__secret *out = NULL;
    /* not OpenPGP */
    CHECK(unwrap_with(home_sec, (const uint8_t *)"{\"a\":1}", 7, &out) == COCOIMG_EFORMAT);
    /* truncated inside the PKESK */
    CHECK(unwrap_with(home_sec, blob, 100, &out) == COCOIMG_EFORMAT);
    /* flipped byte in the encrypted data (MDC / session key check fails) */
    blob[len - 5] ^= 0x01;
    int r = unwrap_with(home_sec, blob, len, &out);
    CHECK(r == COCOIMG_EAUTH || r == COCOIMG_EFORMAT);
    blob[len - 5] ^= 0x01;
    /* truncated encrypted data */
    r = unwrap_with(home_sec, blob, len - 30, &out);
    CHECK(r == COCOIMG_EAUTH || r == COCOIMG_EFORMAT);
    CHECK(out == NULL);
    return 0;
}

static const struct tap_test tests[] = {TAP_TEST(test_describe),
                                        TAP_TEST(test_vectors),
                                        TAP_TEST(test_roundtrip),
                                        TAP_TEST(test_recipient_match),
                                        TAP_TEST(test_no_secret_key),
                                        TAP_TEST(test_corrupt),
                                        {0}};

int
main(void)
{
    gpgme_check_version(NULL);
    if (!mkdtemp(home_sec) || !mkdtemp(home_pub)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    have_sec = import(home_sec, "keys/pgp_secring.gpg", true) == 0;
    have_pub = import(home_pub, "keys/pgp_pubring.gpg", false) == 0;
    if (!have_sec || !have_pub) {
        printf("Bail out! GnuPG setup failed: cannot import the vector keyrings from %s\n",
               vec_dir());
        drop_home(home_sec);
        drop_home(home_pub);
        return 1;
    }
    int r = tap_run(tests);
    drop_home(home_sec);
    drop_home(home_pub);
    return r;
}
