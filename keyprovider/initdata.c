/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Init-data (spec 1.13; trustee kbs/docs/initdata.md): a TOML document
 *     version = "0.1.0"
 *     algorithm = "sha256" | "sha384" | "sha512"
 *     [data]
 *     "policy.rego" = '''...'''
 * whose digest, algorithm(raw file bytes), the host put into the TEE at
 * launch (TDX MRCONFIGID zero-padded to 48 bytes, SNP HOST_DATA truncated
 * to 32).  The text is sent in every Attestation's init-data.body.
 *
 * Only the two top-level keys are read here (the [data] tables are the
 * verifier's business): lines before the first table header, `key = "v"`
 * or `key = 'v'`, comments and blank lines.  Anything else before the first
 * table, an unknown version or algorithm, or a repeated key is refused.
 */
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kbs_int.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define INITDATA_MAX (256u << 10)

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* one top-level `key = "value"` line; 0 ok, -1 malformed */
static int
parse_line(const char *p, const char *end, const char **key, size_t *klen, const char **val,
           size_t *vlen)
{
    const char *k = p;
    while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        p++;
    if (p == k)
        return -1;
    *key = k;
    *klen = (size_t)(p - k);
    p = skip_ws(p, end);
    if (p == end || *p++ != '=')
        return -1;
    p = skip_ws(p, end);
    if (p == end || (*p != '"' && *p != '\''))
        return -1;
    char q = *p++;
    const char *v = p;
    while (p < end && *p != q && *p != '\\')
        p++;
    if (p == end || *p != q)
        return -1;
    *val = v;
    *vlen = (size_t)(p - v);
    p = skip_ws(p + 1, end);
    if (p < end && *p != '#')
        return -1;
    return 0;
}

static bool
is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

int
cocoimg__initdata_load(struct cocoimg__initdata *out, const char *path, cocoimg_error **err)
{
    *out = (struct cocoimg__initdata){0};
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = cocoimg__read_file(&buf, &len, AT_FDCWD, path, INITDATA_MAX, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "init-data %s", path);
    return cocoimg__initdata_parse(out, buf, len, path, err);
}

int
cocoimg__initdata_parse(struct cocoimg__initdata *out, uint8_t *text, size_t len, const char *path,
                        cocoimg_error **err)
{
    *out = (struct cocoimg__initdata){0};
    _cleanup_free_ uint8_t *buf = text;
    json_t *utf8 = memchr(buf, 0, len) ? NULL : json_stringn((const char *)buf, len);
    if (!utf8) /* NUL bytes or not UTF-8: TOML is UTF-8 text, and it travels as a JSON string */
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "init-data %s: not a TOML text file (UTF-8)", path);
    json_decref(utf8);
    const char *p = (const char *)buf, *end = p + len;
    const EVP_MD *md = NULL;
    const char *alg = NULL;
    bool have_version = false;
    unsigned line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *s = skip_ws(p, le);
        const char *e = le;
        if (e > s && e[-1] == '\r')
            e--;
        if (s < e && *s == '[')
            break; /* the first table: the top level is over */
        if (s < e && *s != '#') {
            const char *k, *v;
            size_t kl, vl;
            if (parse_line(s, e, &k, &kl, &v, &vl) < 0)
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "init-data %s line %u: expected key = \"value\"", path,
                                          line);
            if (is(k, kl, "version")) {
                if (have_version || !is(v, vl, "0.1.0"))
                    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                              "init-data %s line %u: version must be \"0.1.0\" "
                                              "(once)",
                                              path, line);
                have_version = true;
            } else if (is(k, kl, "algorithm")) {
                if (alg)
                    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                              "init-data %s line %u: algorithm given twice", path,
                                              line);
                static const char *const names[] = {"sha256", "sha384", "sha512"};
                for (size_t i = 0; i < 3 && !alg; i++)
                    if (is(v, vl, names[i]))
                        alg = names[i];
                if (!alg)
                    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                              "init-data %s line %u: algorithm must be sha256, "
                                              "sha384 or sha512",
                                              path, line);
                md = EVP_get_digestbyname(alg);
            } else {
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "init-data %s line %u: unknown top-level key", path,
                                          line);
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (!have_version || !alg || !md)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "init-data %s: version = \"0.1.0\" and algorithm = "
                                  "\"sha256|sha384|sha512\" are required before the first table",
                                  path);
    unsigned int dl = 0;
    if (EVP_Digest(buf, len, out->digest, &dl, md, NULL) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "init-data: digest failed");
    out->digest_len = dl;
    out->algorithm = alg;
    out->text = (char *)TAKE_PTR(buf);
    out->path = strdup(path);
    if (!out->path) {
        cocoimg__initdata_clear(out);
        return cocoimg__error_oom(err);
    }
    return 0;
}

void
cocoimg__initdata_clear(struct cocoimg__initdata *d)
{
    free(d->text);
    free(d->path);
    *d = (struct cocoimg__initdata){0};
}

int
cocoimg__initdata_check(const struct cocoimg__initdata *d, const char *field, const uint8_t *value,
                        size_t len, cocoimg_error **err)
{
    /* the verifiers' "regularize": zero-pad to the field, or truncate */
    uint8_t want[64] = {0};
    if (len > sizeof(want))
        len = sizeof(want);
    memcpy(want, d->digest, d->digest_len < len ? d->digest_len : len);
    if (memcmp(want, value, len) == 0)
        return 0;
    return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                              "init-data %s: its %s digest is not the TEE's %s (this guest was "
                              "launched with other init-data); the evidence was not sent",
                              d->path, d->algorithm, field);
}
