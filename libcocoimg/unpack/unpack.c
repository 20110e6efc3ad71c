/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cocoimg_unpack(): source -> top-level document -> platform -> manifest ->
 * config -> per layer one stream (blob verify -> [decrypt] -> decompress ->
 * diffID hash -> apply) -> config.json; all in a staging directory renamed
 * to BUNDLE at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cocoimg/reference.h>
#include <cocoimg/unpack.h>

#include "crypt/keys.h"
#include "crypt/keywrap.h"
#include "crypt/layer.h"
#include "oci/model.h"
#include "transport/transport.h"
#include "unpack/apply.h"
#include "unpack/runtime.h"
#include "util/context.h"
#include "util/fs.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

int
cocoimg_unpack_options_init(cocoimg_unpack_options *opts, unsigned int version)
{
    if (version != COCOIMG_UNPACK_OPTIONS_VERSION)
        return COCOIMG_EINVAL;
    cocoimg_unpack_options def = COCOIMG_UNPACK_OPTIONS_INIT;
    *opts = def;
    return 0;
}

/* --- progress stage: counts blob bytes, lets the callback cancel --- */

struct progress {
    const cocoimg_unpack_options *opts;
    size_t layer;
    uint64_t done, total;
};

static ssize_t
progress_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct progress *p = r->state;
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    if (n < 0)
        return n;
    p->done += (uint64_t)n;
    if (p->opts->progress &&
        p->opts->progress(p->opts->progress_payload, p->layer, p->done, p->total) != 0)
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled by the progress callback");
    return n;
}

static void
progress_free(cocoimg__reader *r)
{
    free(r->state);
}

static const struct cocoimg__reader_ops progress_ops = {"progress", progress_read, progress_free};

/* --- the bundle --- */

/* 0 if @p bundle is absent or an empty directory; COCOIMG_EEXISTS otherwise. */
static int
check_bundle(const char *bundle, cocoimg_error **err)
{
    struct stat st;
    if (lstat(bundle, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "bundle '%s'", bundle);
    }
    if (!S_ISDIR(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EEXISTS, 0, "bundle '%s' exists", bundle);
    _cleanup_close_ int fd = open(bundle, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "bundle '%s'", bundle);
    fd = -1;
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    if (!empty)
        return cocoimg__error_set(err, COCOIMG_EEXISTS, 0, "bundle '%s' exists and is not empty",
                                  bundle);
    return 0;
}

struct unpack {
    cocoimg_context *ctx;
    const cocoimg_unpack_options *opts;
    cocoimg__source *src;
    int rootfd;
    cocoimg__crypt_config *crypt; /* built at the first encrypted layer */
};

/* Decryption keys of opts->crypt (keys, PKCS7 certificates, GnuPG). */
static int
crypt_config(struct unpack *u, cocoimg_error **err)
{
    const cocoimg_crypt_options *o = u->opts->crypt;
    if (u->crypt)
        return 0;
    _cleanup_(cocoimg__crypt_config_freep) cocoimg__crypt_config *cfg = NULL;
    int r = cocoimg__crypt_config_from_options(&cfg, o, false, err);
    if (r < 0)
        return r;
    u->crypt = TAKE_PTR(cfg);
    return 0;
}

static int
unpack_layer(struct unpack *u, const cocoimg__descriptor *ld, const cocoimg__digest *diff_id,
             size_t idx, cocoimg_error **err)
{
    cocoimg__layer_type lt;
    int r = cocoimg__layer_type_parse(&lt, ld->media_type, err);
    if (r < 0)
        return r;
    if (lt.encrypted && (r = crypt_config(u, err)) < 0)
        return r;

    cocoimg__reader *in = NULL;
    if ((r = cocoimg__source_get_blob(u->src, &ld->digest, ld->size, &in, err)) < 0)
        return r;
    /* the decrypting stream gives the HMAC verdict (COCOIMG_EAUTH) at its EOF */
    _cleanup_(cocoimg__layer_crypt_freep) cocoimg__layer_crypt *lc = NULL;
    if (lt.encrypted) {
        r = cocoimg__layer_decrypt_begin(&lc, u->ctx, u->crypt, ld->json, &in, err);
        if (r < 0) {
            cocoimg__reader_free(in);
            return r;
        }
    }
    cocoimg__reader *verdict = in; /* blob digest (+ HMAC); owned by the chain below */
    if (u->opts->progress) {
        struct progress *p = calloc(1, sizeof(*p));
        if (!p) {
            cocoimg__reader_free(in);
            return cocoimg__error_oom(err);
        }
        *p = (struct progress){u->opts, idx, 0, ld->size > 0 ? (uint64_t)ld->size : 0};
        if (u->opts->progress(u->opts->progress_payload, idx, 0, p->total) != 0) {
            free(p);
            cocoimg__reader_free(in);
            return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled by the progress callback");
        }
        if ((r = cocoimg__reader_new(&in, &progress_ops, p, in, err)) < 0)
            return r;
    }
    _cleanup_reader_ cocoimg__reader *chain = in;
    if ((r = cocoimg__reader_decompress(&chain, chain, lt.compression, err)) < 0)
        return r;
    cocoimg__digest got;
    uint64_t tar_size = 0;
    if ((r = cocoimg__reader_hash(&chain, chain, diff_id->alg, &got, &tar_size, err)) < 0)
        return r;
    cocoimg__apply_stats stats = {0};
    cocoimg_error *aerr = NULL;
    if ((r = cocoimg__unpack_apply(u->ctx, u->rootfd, chain, NULL, &stats, &aerr)) < 0) {
        /*
         * A tampered blob usually breaks the decompressor or the tar parser
         * before its digest (or HMAC) verdict at EOF: read the rest of the
         * blob so a mismatch is reported as such rather than as bad data.
         */
        cocoimg_error *derr = NULL;
        int dr = r == COCOIMG_EDIGEST || r == COCOIMG_EAUTH
                     ? 0
                     : cocoimg__reader_drain(verdict, NULL, &derr);
        if (dr == COCOIMG_EDIGEST || dr == COCOIMG_EAUTH) {
            cocoimg_error_free(aerr);
            aerr = TAKE_PTR(derr);
            r = dr;
        }
        cocoimg_error_free(derr);
        if (err && !*err)
            *err = aerr;
        else
            cocoimg_error_free(aerr);
        return r;
    }
    if (!cocoimg__digest_equal(&got, diff_id)) {
        char want[COCOIMG_DIGEST_STRMAX], have[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(diff_id, want);
        cocoimg__digest_format(&got, have);
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "diffID %s does not match the config's %s", have, want);
    }
    cocoimg__log(u->ctx, COCOIMG_LOG_DEBUG,
                 "unpack: layer %zu: %llu entries, %llu whiteouts, %llu skipped, %llu tar bytes",
                 idx, (unsigned long long)stats.entries, (unsigned long long)stats.whiteouts,
                 (unsigned long long)stats.skipped, (unsigned long long)tar_size);
    return 0;
}

/* Resolve @p src to its image manifest and config (verified). */
static int
load_image(struct unpack *u, const cocoimg__platform *want, cocoimg__manifest **m_out,
           cocoimg__config **c_out, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *top = NULL;
    size_t top_len = 0;
    _cleanup_free_ char *top_mt = NULL;
    int r;
    if ((r = cocoimg__source_get_manifest(u->src, NULL, -1, &top, &top_len, &top_mt, err)) < 0)
        return r;
    cocoimg__doc_kind kind;
    if ((r = cocoimg__doc_detect(&kind, top, top_len, top_mt, err)) < 0)
        return r;
    _cleanup_free_ uint8_t *mbuf = NULL;
    size_t mlen = 0;
    _cleanup_free_ char *mt = NULL;
    const char *hint = top_mt;
    if (cocoimg__doc_is_index(kind)) {
        _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
        size_t pick = 0;
        if ((r = cocoimg__index_parse(&ix, top, top_len, top_mt, err)) < 0 ||
            (r = cocoimg__index_select(&pick, ix, want, err)) < 0)
            return r;
        const cocoimg__descriptor *d = &ix->manifests[pick];
        if (cocoimg__doc_is_index(cocoimg__doc_kind_of(d->media_type)))
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "nested index");
        if ((r = cocoimg__source_get_manifest(u->src, &d->digest, d->size, &mbuf, &mlen, &mt,
                                              err)) < 0)
            return cocoimg__error_wrap(err, r, "manifest");
        r = cocoimg__manifest_parse(m_out, mbuf, mlen, d->media_type, err);
    } else {
        r = cocoimg__manifest_parse(m_out, top, top_len, hint, err);
    }
    if (r < 0)
        return cocoimg__error_wrap(err, r, "manifest");
    cocoimg__manifest *m = *m_out;

    cocoimg__reader *cr = NULL;
    _cleanup_free_ uint8_t *cbuf = NULL;
    size_t clen = 0;
    if ((r = cocoimg__source_get_blob(u->src, &m->config.digest, m->config.size, &cr, err)) < 0)
        return cocoimg__error_wrap(err, r, "config");
    r = cocoimg__reader_to_mem(cr, COCOIMG_JSON_MAX_SIZE, &cbuf, &clen, err);
    cocoimg__reader_free(cr);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "config");
    if ((r = cocoimg__config_parse(c_out, cbuf, clen, err)) < 0)
        return cocoimg__error_wrap(err, r, "config");
    if ((*c_out)->n_diff_ids != m->n_layers)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "config has %zu diff_ids for %zu layers",
                                  (*c_out)->n_diff_ids, m->n_layers);
    return 0;
}

static int
build(struct unpack *u, const cocoimg__platform *want, const char *staging, cocoimg_error **err)
{
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    int r = load_image(u, want, &m, &c, err);
    if (r < 0)
        return r;

    _cleanup_close_ int sfd = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", staging);
    if (mkdirat(sfd, "rootfs", 0755) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir rootfs");
    _cleanup_close_ int rootfd = openat(sfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open rootfs");
    u->rootfd = rootfd;

    for (size_t i = 0; i < m->n_layers; i++) {
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&m->layers[i].digest, ds);
        cocoimg__log(u->ctx, COCOIMG_LOG_INFO, "unpack: layer %zu/%zu %s", i + 1, m->n_layers, ds);
        r = unpack_layer(u, &m->layers[i], &c->diff_ids[i], i, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "layer %zu (%s)", i, ds);
    }

    _cleanup_json_ json_t *spec = NULL;
    if ((r = cocoimg__runtime_config(&spec, c, rootfd, err)) < 0)
        return r;
    _cleanup_free_ char *js = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!js)
        return cocoimg__error_oom(err);
    return cocoimg__write_file_atomic(sfd, "config.json", js, strlen(js), err);
}

int
cocoimg_unpack(cocoimg_context *ctx, const char *src, const char *bundle,
               const cocoimg_unpack_options *opts, cocoimg_error **err)
{
    cocoimg_unpack_options def = COCOIMG_UNPACK_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    if (opts->version != COCOIMG_UNPACK_OPTIONS_VERSION)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unpack: unsupported options version %u",
                                  opts->version);
    if (!bundle || !*bundle)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unpack: empty bundle path");
    cocoimg__platform want;
    int r;
    if (opts->platform) {
        if ((r = cocoimg__platform_parse(&want, opts->platform, err)) < 0)
            return cocoimg__error_wrap(err, r, "unpack: platform '%s'", opts->platform);
    } else {
        cocoimg__platform_host(&want);
    }
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
    if ((r = cocoimg_reference_parse(&ref, src, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack: source");
    if ((r = check_bundle(bundle, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack");

    _cleanup_source_ cocoimg__source *s = NULL;
    if ((r = cocoimg__source_open(&s, ctx, ref, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack: source");

    /* strip trailing slashes so the staging dir is a sibling, not a child */
    _cleanup_free_ char *target = strdup(bundle);
    if (!target)
        return cocoimg__error_oom(err);
    for (size_t l = strlen(target); l > 1 && target[l - 1] == '/'; l--)
        target[l - 1] = '\0';
    _cleanup_free_ char *staging = NULL;
    if (asprintf(&staging, "%s.tmp-XXXXXX", target) < 0)
        return cocoimg__error_oom(err);
    if (!mkdtemp(staging))
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "unpack: create staging directory for '%s'",
                                  bundle);
    /* mkdtemp makes 0700; a bundle is normally 0755 like umoci's */
    (void)chmod(staging, 0755);

    struct unpack u = {.ctx = ctx, .opts = opts, .src = s, .rootfd = -1};
    r = build(&u, &want, staging, err);
    cocoimg__crypt_config_free(u.crypt);
    if (r == 0) {
        /* an empty BUNDLE directory is replaced atomically by rename(2) */
        if (rename(staging, target) < 0)
            r = cocoimg__error_set(err, errno == ENOTEMPTY || errno == EEXIST ? COCOIMG_EEXISTS
                                                                                : COCOIMG_EIO,
                                   errno, "rename to '%s'", bundle);
    }
    if (r < 0) {
        cocoimg__rm_rf(AT_FDCWD, staging, NULL);
        return cocoimg__error_wrap(err, r, "unpack");
    }
    cocoimg__log(ctx, COCOIMG_LOG_INFO, "unpack: %s -> %s done", src, bundle);
    return 0;
}
