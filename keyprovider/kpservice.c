/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attestation-agent keyprovider service behind `coco-keyprovider`
 * (trustee's coco_keyprovider at build time, CDH's UnWrapKey in the
 * guest): requests of the ocicrypt keyprovider protocol in, replies out,
 * over the cmd protocol (the caller's stdin/stdout) or gRPC (kpserver).
 *
 *   WrapKey:   Parameters[NAME] = ["keyid=kbs:///R/T/G[::keypath=KEK][::algorithm=A256GCM]"]
 *              -> annotation = the packet {kid, wrapped_data, iv, wrap_type}
 *   UnWrapKey: annotation = the packet -> optsdata, the KEK fetched from the KBS
 *
 * The KBS client is not thread-safe: its calls are serialised here, so
 * concurrent requests share one attestation and one token.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/keyprovider.h>

#include "grpc.h"
#include "kp_int.h"

struct cocoimg_kp_service {
    char *name;
    cocoimg_kbs *kbs;
    pthread_mutex_t kbs_lock;
};

int
cocoimg_kp_service_options_init(cocoimg_kp_service_options *o, unsigned int version)
{
    if (!o || version == 0 || version > COCOIMG_KP_SERVICE_OPTIONS_VERSION)
        return COCOIMG_EINVAL;
    cocoimg_kp_service_options def = COCOIMG_KP_SERVICE_OPTIONS_INIT;
    *o = def;
    o->version = version;
    return 0;
}

int
cocoimg_kp_service_new(cocoimg_kp_service **out, const cocoimg_kp_service_options *o,
                       cocoimg_error **err)
{
    if (!out || !o || !COCOIMG__VERSION_OK(o->version, COCOIMG_KP_SERVICE_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider service: bad options");
    cocoimg_kp_service *s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(o->name ? o->name : "attestation-agent"))) {
        free(s);
        return cocoimg__error_oom(err);
    }
    s->kbs = o->kbs;
    pthread_mutex_init(&s->kbs_lock, NULL);
    *out = s;
    return 0;
}

void
cocoimg_kp_service_free(cocoimg_kp_service *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->kbs_lock);
    free(s->name);
    free(s);
}

void
cocoimg_kp_reply_free(uint8_t *reply, size_t len)
{
    if (reply) {
        cocoimg__wipe(reply, len);
        free(reply);
    }
}

static bool
has_keypath(const char *params)
{
    for (const char *p = params; p; p = strstr(p, "::")) {
        if (p != params)
            p += 2;
        if (strncmp(p, "keypath=", 8) == 0)
            return true;
    }
    return false;
}

static int
do_wrap(cocoimg__secret **reply, cocoimg_kp_service *s, const struct cocoimg__kp_request *rq,
        cocoimg_error **err)
{
    if (rq->n_params == 0 || strcmp(rq->params[0], "Enabled") == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "WrapKey: no parameters for provider %s (keyid=kbs:///R/T/G"
                                  "::keypath=KEK-FILE)",
                                  s->name);
    if (rq->n_params > 1)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "WrapKey: one recipient per provider, not %zu", rq->n_params);
    const char *params = rq->params[0];
    bool need_kbs = !has_keypath(params);
    if (need_kbs && !s->kbs)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "WrapKey: no keypath= and no KBS to fetch the KEK from "
                                  "(--kbs-url)");
    uint8_t *pkt = NULL;
    size_t pkt_len = 0;
    if (need_kbs)
        pthread_mutex_lock(&s->kbs_lock);
    int r = cocoimg__aa_wrap(&pkt, &pkt_len, params, rq->data->ptr, rq->data->len,
                             need_kbs ? s->kbs : NULL, err);
    if (need_kbs)
        pthread_mutex_unlock(&s->kbs_lock);
    if (r < 0)
        return r;
    r = cocoimg__kp_reply_build(reply, COCOIMG__KP_OP_WRAP, pkt, pkt_len, err);
    free(pkt); /* sealed: not secret */
    return r;
}

static int
do_unwrap(cocoimg__secret **reply, cocoimg_kp_service *s, const struct cocoimg__kp_request *rq,
          cocoimg_error **err)
{
    if (!s->kbs)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                                  "UnWrapKey: no KBS to fetch the key from (--kbs-url)");
    uint8_t *opts = NULL;
    size_t opts_len = 0;
    pthread_mutex_lock(&s->kbs_lock);
    int r = cocoimg__aa_unwrap(&opts, &opts_len, rq->data->ptr, rq->data->len, s->kbs, err);
    pthread_mutex_unlock(&s->kbs_lock);
    if (r < 0)
        return r;
    r = cocoimg__kp_reply_build(reply, COCOIMG__KP_OP_UNWRAP, opts, opts_len, err);
    cocoimg__wipe(opts, opts_len);
    free(opts);
    return r;
}

int
cocoimg_kp_service_handle(uint8_t **reply, size_t *reply_len, cocoimg_kp_service *s,
                          cocoimg_kp_method method, const uint8_t *request, size_t request_len,
                          cocoimg_error **err)
{
    if (!reply || !reply_len || !s || (!request && request_len))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider service: bad arguments");
    if (request_len > COCOIMG__KP_MSG_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "keyprovider request over %u bytes",
                                  COCOIMG__KP_MSG_MAX);
    struct cocoimg__kp_request rq;
    int r = cocoimg__kp_request_parse(&rq, request, request_len, s->name, err);
    if (r < 0)
        return r;
    if ((method == COCOIMG_KP_WRAPKEY && rq.op != COCOIMG__KP_OP_WRAP) ||
        (method == COCOIMG_KP_UNWRAPKEY && rq.op != COCOIMG__KP_OP_UNWRAP)) {
        bool wrap = rq.op == COCOIMG__KP_OP_WRAP;
        cocoimg__kp_request_clear(&rq);
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider request: op %s sent to %s",
                                  wrap ? "keywrap" : "keyunwrap",
                                  method == COCOIMG_KP_WRAPKEY ? "WrapKey" : "UnWrapKey");
    }
    cocoimg__secret *out = NULL;
    r = rq.op == COCOIMG__KP_OP_WRAP ? do_wrap(&out, s, &rq, err) : do_unwrap(&out, s, &rq, err);
    cocoimg__kp_request_clear(&rq);
    if (r < 0)
        return r;
    /* a copy the caller wipes and frees (cocoimg_kp_reply_free) */
    return cocoimg__secret_take(reply, reply_len, out, err);
}

/* --- gRPC server ----------------------------------------------------------- */

struct cocoimg_kp_server {
    cocoimg__grpc_server *g;
    cocoimg_kp_service *svc;
};

static int
grpc_handler(void *ud, enum cocoimg__kp_method m, const uint8_t *in, size_t in_len, uint8_t **out,
             size_t *out_len, cocoimg_error **err)
{
    cocoimg_kp_service *s = ud;
    return cocoimg_kp_service_handle(
        out, out_len, s, m == COCOIMG__KP_WRAP ? COCOIMG_KP_WRAPKEY : COCOIMG_KP_UNWRAPKEY, in,
        in_len, err);
}

int
cocoimg_kp_server_new(cocoimg_kp_server **out, cocoimg_kp_service *s, const char *listen,
                      unsigned workers, cocoimg_error **err)
{
    if (!out || !s || !listen || !*listen)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider server: bad arguments");
    cocoimg_kp_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return cocoimg__error_oom(err);
    srv->svc = s;
    int r = cocoimg__grpc_server_new(&srv->g, listen, workers ? workers : 4, COCOIMG__KP_MSG_MAX,
                                     grpc_handler, s, err);
    if (r < 0) {
        free(srv);
        return r;
    }
    *out = srv;
    return 0;
}

int
cocoimg_kp_server_port(const cocoimg_kp_server *srv)
{
    return srv ? cocoimg__grpc_server_port(srv->g) : 0;
}

int
cocoimg_kp_server_run(cocoimg_kp_server *srv, cocoimg_error **err)
{
    if (!srv)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider server: NULL");
    return cocoimg__grpc_server_run(srv->g, err);
}

void
cocoimg_kp_server_stop(cocoimg_kp_server *srv)
{
    if (srv)
        cocoimg__grpc_server_stop(srv->g);
}

void
cocoimg_kp_server_free(cocoimg_kp_server *srv)
{
    if (!srv)
        return;
    cocoimg__grpc_server_free(srv->g);
    free(srv);
}
