/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-registry TLS material in the containers certs.d layout: *.crt are
 * extra CAs, NAME.cert + NAME.key a client certificate; and the CA bundle
 * a client hands to curl (the system CAs plus those).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/registry.h"
#include "util/fs.h"

#define CA_BUNDLE_MAX (16u * 1024 * 1024)

/* The certs.d roots after $HOME/.config/containers/certs.d (containers/image's order). */
static const char *const cert_roots_system[] = {"/etc/containers/certs.d", "/etc/docker/certs.d",
                                                NULL};

void
cocoimg__strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void
cocoimg__tls_files_clear(cocoimg__tls_files *tf)
{
    for (size_t i = 0; i < tf->n_ca; i++)
        free(tf->ca[i]);
    free(tf->ca);
    free(tf->client_cert);
    free(tf->client_key);
    memset(tf, 0, sizeof(*tf));
}

int
cocoimg__tls_dirs(char ***out, const char *host, const char *cert_dir, const char *const *roots,
                  cocoimg_error **err)
{
    size_t n = 0;
    if (!cert_dir)
        while (roots && roots[n])
            n++;
    char **v = calloc(n + 2, sizeof(*v));
    if (!v)
        return cocoimg__error_oom(err);
    if (cert_dir) {
        if (!(v[0] = strdup(cert_dir)))
            goto oom;
    } else {
        /* A port stays part of the directory name ("host:5000"), as in containers/image. */
        if (strchr(host, '/') || strcmp(host, "..") == 0 || strcmp(host, ".") == 0) {
            free(v);
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid registry host '%s'", host);
        }
        for (size_t i = 0; i < n; i++)
            if (asprintf(&v[i], "%s/%s", roots[i], host) < 0) {
                v[i] = NULL;
                goto oom;
            }
    }
    *out = v;
    return 0;
oom:
    cocoimg__strv_free(v);
    return cocoimg__error_oom(err);
}

static bool
has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a > b && strcmp(s + a - b, suf) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cocoimg__tls_files_collect(cocoimg__tls_files *tf, const char *dir, cocoimg_error **err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "certificate directory '%s'", dir);
    }
    /* Read all names first so the result is deterministic (sorted). */
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!has_suffix(de->d_name, ".crt") && !has_suffix(de->d_name, ".cert") &&
            !has_suffix(de->d_name, ".key"))
            continue;
        if (n == cap) {
            if (cap >= 4096) {
                r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                       "certificate directory '%s': too many files", dir);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn) {
                r = cocoimg__error_oom(err);
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            r = cocoimg__error_oom(err);
            goto out;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);

    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
            path = NULL;
            r = cocoimg__error_oom(err);
            goto out;
        }
        size_t len = strlen(name);
        if (has_suffix(name, ".crt")) {
            char **nca = realloc(tf->ca, (tf->n_ca + 1) * sizeof(*nca));
            if (!nca) {
                r = cocoimg__error_oom(err);
                goto out;
            }
            tf->ca = nca;
            tf->ca[tf->n_ca++] = TAKE_PTR(path);
        } else if (has_suffix(name, ".cert")) {
            size_t base = len - 5;
            _cleanup_free_ char *key = NULL;
            if (asprintf(&key, "%.*s.key", (int)base, name) < 0) {
                key = NULL;
                r = cocoimg__error_oom(err);
                goto out;
            }
            if (!bsearch(&key, names, n, sizeof(*names), cmp_str)) {
                r = cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                       "missing key '%s' for client certificate '%s'", key, path);
                goto out;
            }
            /* curl takes one client certificate: the first pair wins. */
            if (!tf->client_cert) {
                char *kp = NULL;
                if (asprintf(&kp, "%s/%s", dir, key) < 0) {
                    r = cocoimg__error_oom(err);
                    goto out;
                }
                tf->client_cert = TAKE_PTR(path);
                tf->client_key = kp;
            }
        } else {
            size_t base = len - 4;
            _cleanup_free_ char *cert = NULL;
            if (asprintf(&cert, "%.*s.cert", (int)base, name) < 0) {
                cert = NULL;
                r = cocoimg__error_oom(err);
                goto out;
            }
            if (!bsearch(&cert, names, n, sizeof(*names), cmp_str)) {
                r = cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                       "missing client certificate '%s' for key '%s'", cert, path);
                goto out;
            }
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return r;
}

static int
append_file(uint8_t **buf, size_t *len, const char *path, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t dlen = 0;
    int r = cocoimg__read_file(&data, &dlen, AT_FDCWD, path, CA_BUNDLE_MAX, err);
    if (r < 0)
        return r;
    if (*len + dlen + 1 > CA_BUNDLE_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "CA bundle too large at '%s'", path);
    uint8_t *nb = realloc(*buf, *len + dlen + 2);
    if (!nb)
        return cocoimg__error_oom(err);
    memcpy(nb + *len, data, dlen);
    *len += dlen;
    nb[(*len)++] = '\n';
    *buf = nb;
    return 0;
}

int
cocoimg__tls_load(cocoimg__tls_files *tf, uint8_t **bundle_out, size_t *bundle_len,
                  const char *host, const char *cert_dir, cocoimg_error **err)
{
    *bundle_out = NULL;
    *bundle_len = 0;
    const char *home = getenv("HOME");
    _cleanup_free_ char *user_root = NULL;
    const char *roots[COCOIMG_ARRAY_SIZE(cert_roots_system) + 1];
    size_t n = 0;
    if (home && *home && asprintf(&user_root, "%s/.config/containers/certs.d", home) >= 0)
        roots[n++] = user_root;
    else
        user_root = NULL;
    for (size_t i = 0; cert_roots_system[i]; i++)
        roots[n++] = cert_roots_system[i];
    roots[n] = NULL;

    char **dirs = NULL;
    int rc = cocoimg__tls_dirs(&dirs, host, cert_dir, roots, err);
    if (rc < 0)
        return rc;
    for (char **d = dirs; *d && rc == 0; d++)
        rc = cocoimg__tls_files_collect(tf, *d, err);
    cocoimg__strv_free(dirs);
    if (rc < 0 || tf->n_ca == 0)
        return rc;

    /* extra CAs add to the system pool, as in containers/image */
    CURL *h = curl_easy_init();
    if (!h)
        return cocoimg__error_oom(err);
    _cleanup_free_ uint8_t *bundle = NULL;
    size_t len = 0;
    char *sys = NULL;
    curl_easy_getinfo(h, CURLINFO_CAINFO, &sys);
    if (sys && access(sys, R_OK) == 0)
        rc = append_file(&bundle, &len, sys, err);
    curl_easy_cleanup(h);
    for (size_t i = 0; i < tf->n_ca && rc == 0; i++)
        rc = append_file(&bundle, &len, tf->ca[i], err);
    if (rc < 0)
        return rc;
    *bundle_out = TAKE_PTR(bundle);
    *bundle_len = len;
    return 0;
}
