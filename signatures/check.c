/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy evaluation (containers/image signature/policy_eval.go semantics):
 * the requirements of the most specific scope must ALL be satisfied; a
 * signedBy requirement is satisfied by at least one signature of the image
 * that verifies under its keys, for this manifest digest, with a matching
 * identity.  Each refusal says which requirement and why each signature
 * was refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/policy.h>

#include "registry/regconf.h"
#include "signatures/check.h"
#include "signatures/cosign.h"
#include "signatures/lookaside.h"
#include "signatures/policy.h"
#include "signatures/referrers.h"
#include "signatures/bundle.h"
#include "signatures/registries_d.h"
#include "signatures/simple.h"
#include "transport/transport.h"
#include "util/context.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

struct cocoimg__sigcheck {
    cocoimg__policy *policy;
    cocoimg__registries_d *rd;
    char *policy_path;
};

static void
sigcheck_free(void *p)
{
    struct cocoimg__sigcheck *s = p;
    if (!s)
        return;
    cocoimg__policy_free(s->policy);
    cocoimg__registries_d_free(s->rd);
    free(s->policy_path);
    free(s);
}

int
cocoimg_policy_options_init(cocoimg_policy_options *opts, unsigned int version)
{
    if (!opts || !COCOIMG__VERSION_OK(version, COCOIMG_POLICY_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return 0;
}

int
cocoimg_context_set_policy(cocoimg_context *ctx, const cocoimg_policy_options *opts,
                           cocoimg_error **err)
{
    if (!ctx || !opts || !COCOIMG__VERSION_OK(opts->version, COCOIMG_POLICY_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "policy: invalid options");
    if (!opts->policy_path || !*opts->policy_path)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "policy: no policy file given");
    struct cocoimg__sigcheck *s = calloc(1, sizeof(*s));
    if (!s || !(s->policy_path = strdup(opts->policy_path))) {
        free(s);
        return cocoimg__error_oom(err);
    }
    int r = cocoimg__policy_load(&s->policy, ctx, opts->policy_path, err);
    if (r == 0) {
        if (opts->registries_d)
            r = cocoimg__registries_d_load(&s->rd, opts->registries_d, err);
        else
            r = cocoimg__registries_d_new(&s->rd, err);
    }
    if (r < 0) {
        sigcheck_free(s);
        return r;
    }
    cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_POLICY, s, sigcheck_free);
    return 0;
}

/* a growing "; "-separated list of reasons */
struct reasons {
    char buf[2048];
    size_t len;
};

static void __attribute__((format(printf, 2, 3)))
reason_add(struct reasons *rs, const char *fmt, ...)
{
    if (rs->len >= sizeof(rs->buf) - 1)
        return;
    if (rs->len) {
        int n = snprintf(rs->buf + rs->len, sizeof(rs->buf) - rs->len, "; ");
        rs->len += (size_t)n;
        if (rs->len >= sizeof(rs->buf))
            rs->len = sizeof(rs->buf) - 1;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rs->buf + rs->len, sizeof(rs->buf) - rs->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        rs->len += (size_t)n;
    if (rs->len >= sizeof(rs->buf))
        rs->len = sizeof(rs->buf) - 1;
}

struct eval {
    cocoimg_context *ctx;
    struct cocoimg__sigcheck *sc;
    const cocoimg_reference *ref;
    const cocoimg__resolve_doc *image;
    bool fetched;
    cocoimg__sig_list sigs;
    bool cosign_fetched;
    bool attachments; /* registries.d use-sigstore-attachments */
    /*
     * Sigstore signatures of the image (the instance pulled) and, for an
     * index, of the index too: cosign's rule, a signature on the index
     * digest covers the instances.
     */
    struct sigsrc {
        const cocoimg__resolve_doc *doc;
        const char *what; /* "" or "index " for messages */
        cocoimg__cosign_list cosign;
        cocoimg__bundle_list bundles;
    } src[2];
    size_t n_src;
    char *where; /* where the signatures came from, for messages */
};

static int
fetch_sigs(struct eval *ev, cocoimg_error **err)
{
    if (ev->fetched)
        return 0;
    ev->fetched = true;
    if (cocoimg_reference_transport(ev->ref) != COCOIMG_TRANSPORT_DOCKER) {
        ev->where = strdup("(this transport stores no simple signatures)");
        return 0;
    }
    bool api = false;
    int r = cocoimg__extsig_fetch(&ev->sigs, &api, ev->ctx, ev->ref, &ev->image->digest, err);
    if (r < 0)
        return r;
    if (api) { /* as containers/image: the API replaces the lookaside */
        ev->where = strdup("(from the registry's X-Registry-Supports-Signatures API)");
        return 0;
    }
    cocoimg__sigstore_config cfg;
    cocoimg__registries_d_for(&cfg, ev->sc->rd, ev->ref);
    if (!cfg.lookaside) {
        ev->where = strdup("(no lookaside store for this image in registries.d)");
        return 0;
    }
    ev->where = cocoimg__lookaside_url(cfg.lookaside, ev->ref, &ev->image->digest, 1);
    return cocoimg__lookaside_fetch(&ev->sigs, cfg.lookaside, ev->ref, &ev->image->digest, err);
}

static int
eval_signed_by(struct eval *ev, const cocoimg__requirement *rq, cocoimg_error **err)
{
    int r = fetch_sigs(ev, err);
    if (r < 0)
        return r;
    char dg[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&ev->image->digest, dg);
    if (ev->sigs.n == 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "rejected by %s (signedBy): no signatures for manifest %s %s",
                                  rq->path, dg, ev->where ? ev->where : "");
    _cleanup_(cocoimg__simple_keys_freep) cocoimg__simple_keys *keys = NULL;
    if ((r = cocoimg__simple_keys_new(&keys, &rq->keys, cocoimg__context_tmpdir(ev->ctx), err)) < 0)
        return cocoimg__error_wrap(err, r, "policy requirement %s", rq->path);
    struct reasons rs = {0};
    for (size_t i = 0; i < ev->sigs.n; i++) {
        _cleanup_error_ cocoimg_error *e = NULL;
        char fpr[41];
        r = cocoimg__simple_verify(keys, rq, ev->ref, ev->sigs.v[i], ev->sigs.len[i],
                                   ev->image->bytes, ev->image->len, fpr, &e);
        if (r == 0) {
            cocoimg__log(ev->ctx, COCOIMG_LOG_INFO, "signature %zu of %s accepted (key %s)", i + 1,
                         dg, fpr);
            return 0;
        }
        if (r != COCOIMG_EPOLICY) {
            if (err && !*err)
                *err = TAKE_PTR(e);
            return r;
        }
        reason_add(&rs, "signature-%zu: %s", i + 1, cocoimg_error_message(e));
    }
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                              "rejected by %s (signedBy): no signature of manifest %s %s is "
                              "accepted: %s",
                              rq->path, dg, ev->where ? ev->where : "", rs.buf);
}

static int
fetch_sigstore(struct eval *ev, const cocoimg__resolve_doc *top, cocoimg_error **err)
{
    ev->cosign_fetched = true;
    cocoimg__sigstore_config cfg;
    cocoimg__registries_d_for(&cfg, ev->sc->rd, ev->ref);
    ev->attachments = cfg.use_sigstore_attachments;
    if (!ev->attachments)
        return 0;
    ev->src[0].doc = ev->image;
    ev->src[0].what = "";
    ev->n_src = 1;
    if (top && !cocoimg__digest_equal(&top->digest, &ev->image->digest)) {
        ev->src[1].doc = top;
        ev->src[1].what = "index ";
        ev->n_src = 2;
    }
    for (size_t k = 0; k < ev->n_src; k++) {
        struct sigsrc *ss = &ev->src[k];
        int r = cocoimg__cosign_fetch(&ss->cosign, ev->ctx, ev->ref, &ss->doc->digest, err);
        if (r == 0)
            r = cocoimg__referrers_fetch(&ss->bundles, ev->ctx, ev->ref, &ss->doc->digest, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
eval_sigstore(struct eval *ev, const cocoimg__requirement *rq, const cocoimg__resolve_doc *top,
              cocoimg_error **err)
{
    char dg[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&ev->image->digest, dg);
    if (!ev->cosign_fetched) {
        int r = fetch_sigstore(ev, top, err);
        if (r < 0)
            return r;
    }
    if (!ev->attachments)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "rejected by %s (sigstoreSigned): registries.d does not enable "
                                  "use-sigstore-attachments for this image, so it has no sigstore "
                                  "signatures",
                                  rq->path);
    size_t total = 0;
    for (size_t k = 0; k < ev->n_src; k++)
        total += ev->src[k].cosign.n + ev->src[k].bundles.n;
    if (total == 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "rejected by %s (sigstoreSigned): no sigstore signatures (.sig "
                                  "tag or sigstore bundle referrers) for manifest %s%s",
                                  rq->path, dg, ev->n_src > 1 ? " or its index" : "");
    struct reasons rs = {0};
    for (size_t k = 0; k < ev->n_src; k++) {
        struct sigsrc *ss = &ev->src[k];
        char sdg[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&ss->doc->digest, sdg);
        size_t n = ss->cosign.n + ss->bundles.n;
        for (size_t i = 0; i < n; i++) {
            _cleanup_error_ cocoimg_error *e = NULL;
            bool bundle = i >= ss->cosign.n;
            int r = bundle ? cocoimg__bundle_verify(rq, ev->ref, ss->bundles.v[i - ss->cosign.n],
                                                    ss->bundles.len[i - ss->cosign.n],
                                                    ss->doc->bytes, ss->doc->len, &e)
                           : cocoimg__cosign_verify(rq, ev->ref, &ss->cosign.v[i], ss->doc->bytes,
                                                    ss->doc->len, &e);
            size_t num = bundle ? i - ss->cosign.n + 1 : i + 1;
            const char *kind = bundle ? "sigstore bundle" : "sigstore signature";
            if (r == 0) {
                cocoimg__log(ev->ctx, COCOIMG_LOG_INFO, "%s %zu of %s%s accepted", kind, num,
                             ss->what, sdg);
                return 0;
            }
            if (r != COCOIMG_EPOLICY) {
                if (err && !*err)
                    *err = TAKE_PTR(e);
                return r;
            }
            reason_add(&rs, "%s%s %zu: %s", ss->what, bundle ? "bundle" : "signature", num,
                       cocoimg_error_message(e));
        }
    }
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                              "rejected by %s (sigstoreSigned): no sigstore signature of manifest "
                              "%s is accepted: %s",
                              rq->path, dg, rs.buf);
}

static const char *
req_type_name(int type)
{
    switch (type) {
    case COCOIMG__REQ_ACCEPT:
        return "insecureAcceptAnything";
    case COCOIMG__REQ_REJECT:
        return "reject";
    case COCOIMG__REQ_SIGNED_BY:
        return "signedBy";
    case COCOIMG__REQ_SIGSTORE:
        return "sigstoreSigned";
    }
    return "?";
}

static int
check_hook(void *payload, const cocoimg_reference *user_ref, const cocoimg__resolve_doc *top,
           const cocoimg__resolve_doc *image, cocoimg_error **err)
{
    cocoimg_context *ctx = payload;
    struct cocoimg__sigcheck *sc = cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_POLICY);
    if (!sc)
        return 0;
    const cocoimg__policy_reqs *reqs = NULL;
    int r = cocoimg__policy_for(&reqs, sc->policy, user_ref, err);
    if (r < 0)
        return r;
    struct eval ev = {.ctx = ctx, .sc = sc, .ref = user_ref, .image = image};
    for (size_t i = 0; i < reqs->n && r == 0; i++) {
        const cocoimg__requirement *rq = &reqs->v[i];
        switch (rq->type) {
        case COCOIMG__REQ_ACCEPT:
            break;
        case COCOIMG__REQ_REJECT:
            r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "rejected by %s (reject) of policy %s",
                                   rq->path, sc->policy_path);
            break;
        case COCOIMG__REQ_SIGNED_BY:
            r = eval_signed_by(&ev, rq, err);
            break;
        case COCOIMG__REQ_SIGSTORE:
            r = eval_sigstore(&ev, rq, top, err);
            break;
        }
    }
    if (r == 0 && cocoimg__progress_wanted(ctx)) {
        /* what accepted it, for progress and --json summaries */
        char msg[512], dg[COCOIMG_DIGEST_STRMAX];
        size_t n = (size_t)snprintf(msg, sizeof(msg), "%s:", sc->policy_path);
        for (size_t i = 0; i < reqs->n && n < sizeof(msg); i++)
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s %s (%s)", i ? "," : "",
                                  reqs->v[i].path, req_type_name(reqs->v[i].type));
        cocoimg__digest_format(&image->digest, dg);
        cocoimg_progress_event pe = {
            .kind = COCOIMG_PROGRESS_POLICY, .digest = dg, .message = msg, .total = -1};
        r = cocoimg__progress(ctx, &pe, err);
    }
    cocoimg__sig_list_clear(&ev.sigs);
    for (size_t k = 0; k < ev.n_src; k++) {
        cocoimg__cosign_list_clear(&ev.src[k].cosign);
        cocoimg__bundle_list_clear(&ev.src[k].bundles);
    }
    free(ev.where);
    return r;
}

void
cocoimg__policy_install(cocoimg__resolve_options *ro, cocoimg_context *ctx)
{
    if (cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_POLICY)) {
        ro->check = check_hook;
        ro->check_payload = ctx;
    }
}

int
cocoimg_verify(cocoimg_context *ctx, const char *ref, const char *platform, cocoimg_error **err)
{
    if (!cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_POLICY))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "verify: the context has no policy");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r = NULL;
    int rc = cocoimg__reference_parse_ctx(&r, ctx, ref, err);
    if (rc < 0)
        return cocoimg__error_wrap(err, rc, "verify");
    cocoimg__resolve_options ro;
    if ((rc = cocoimg__resolve_options_init(&ro, platform, false, err)) < 0)
        return cocoimg__error_wrap(err, rc, "verify");
    cocoimg__policy_install(&ro, ctx);
    _cleanup_source_ cocoimg__source *s = NULL;
    if ((rc = cocoimg__source_open(&s, ctx, r, err)) < 0)
        return cocoimg__error_wrap(err, rc, "verify");
    _cleanup_resolve_ cocoimg__resolve *res = NULL;
    if ((rc = cocoimg__resolve_open(&res, s, r, &ro, err)) < 0)
        return cocoimg__error_wrap(err, rc, "verify '%s'", ref);
    return 0;
}
