/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyprovider.KeyProviderService over the gRPC C core.
 *
 * Server: the two methods are registered (anything else gets UNIMPLEMENTED
 * from the core), each with several calls requested in advance on one
 * completion queue that @p workers threads drain; a worker that gets a
 * call unpacks the message (protobuf-c), runs the handler, starts the
 * reply batch and requests a new call of that method.  Stopping shuts the
 * server down (calls in flight complete), then the queue.
 *
 * Client: one channel and one call per request, a pluck queue, a deadline.
 *
 * Our copies of request and reply bytes are wiped; the core's own buffers
 * (slices) are not ours to wipe.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"
#include "keyprovider.pb-c.h"
#include "util/fs.h"
#include "util/secret.h"

#define REQUESTS_PER_METHOD 4

/* --- the gRPC C core, loaded on first use ----------------------------------- */

/*
 * libgrpc is opened (dlopen) by the first server or call, not linked: a
 * process that never talks gRPC (every pull, a guest with key release from
 * a KBS) maps none of it, the some 45 libraries it pulls in (abseil,
 * libstdc++, re2, c-ares) included, and a guest image may leave it out.
 * COCOIMG_GRPC_SONAME is the library configure found; the symbols are the
 * ones this file calls, typed by the core's own headers.
 */
#define GRPC_SYMBOLS(X)                                                                            \
    X(gpr_inf_future)                                                                              \
    X(gpr_now)                                                                                     \
    X(gpr_time_add)                                                                                \
    X(gpr_time_from_millis)                                                                        \
    X(grpc_byte_buffer_destroy)                                                                    \
    X(grpc_byte_buffer_reader_destroy)                                                             \
    X(grpc_byte_buffer_reader_init)                                                                \
    X(grpc_byte_buffer_reader_readall)                                                             \
    X(grpc_call_start_batch)                                                                       \
    X(grpc_call_unref)                                                                             \
    X(grpc_channel_create)                                                                         \
    X(grpc_channel_create_call)                                                                    \
    X(grpc_channel_credentials_release)                                                            \
    X(grpc_channel_destroy)                                                                        \
    X(grpc_completion_queue_create_for_next)                                                       \
    X(grpc_completion_queue_create_for_pluck)                                                      \
    X(grpc_completion_queue_destroy)                                                               \
    X(grpc_completion_queue_next)                                                                  \
    X(grpc_completion_queue_pluck)                                                                 \
    X(grpc_completion_queue_shutdown)                                                              \
    X(grpc_empty_slice)                                                                            \
    X(grpc_init)                                                                                   \
    X(grpc_insecure_credentials_create)                                                            \
    X(grpc_insecure_server_credentials_create)                                                     \
    X(grpc_metadata_array_destroy)                                                                 \
    X(grpc_metadata_array_init)                                                                    \
    X(grpc_raw_byte_buffer_create)                                                                 \
    X(grpc_server_add_http2_port)                                                                  \
    X(grpc_server_create)                                                                          \
    X(grpc_server_credentials_release)                                                             \
    X(grpc_server_destroy)                                                                         \
    X(grpc_server_register_completion_queue)                                                       \
    X(grpc_server_register_method)                                                                 \
    X(grpc_server_request_registered_call)                                                         \
    X(grpc_server_shutdown_and_notify)                                                             \
    X(grpc_server_start)                                                                           \
    X(grpc_shutdown)                                                                               \
    X(grpc_slice_from_copied_buffer)                                                               \
    X(grpc_slice_from_copied_string)                                                               \
    X(grpc_slice_from_static_string)                                                               \
    X(grpc_slice_unref)                                                                            \
    X(grpc_ssl_credentials_create)
static struct {
#define X(n) __typeof__(n) *n;
    GRPC_SYMBOLS(X)
#undef X
} core;
/* tests/unit/test_grpc_load builds this file naming a library that does not exist */
#ifndef COCOIMG__GRPC_LIBRARY
#define COCOIMG__GRPC_LIBRARY COCOIMG_GRPC_SONAME
#endif
static pthread_once_t grpc_once = PTHREAD_ONCE_INIT;
static char grpc_load_error[256]; /* why it failed */
static bool grpc_loaded;

static void
grpc_load_once(void)
{
    void *h = dlopen(COCOIMG__GRPC_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(grpc_load_error, sizeof(grpc_load_error), "%s", e ? e : "not found");
        return;
    }
    void *p;
#define X(n)                                                                                       \
    if (!(p = dlsym(h, #n))) {                                                                     \
        snprintf(grpc_load_error, sizeof(grpc_load_error), "it has no symbol %s", #n);             \
        dlclose(h);                                                                                \
        return;                                                                                    \
    }                                                                                              \
    memcpy(&core.n, &p, sizeof(p));
    GRPC_SYMBOLS(X)
#undef X
    grpc_loaded = true;
}

/* The core, loaded once; an error names the library and what went wrong. */
static int
grpc_load(cocoimg_error **err)
{
    pthread_once(&grpc_once, grpc_load_once);
    if (!grpc_loaded)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "gRPC keyprovider: cannot load the gRPC C core %s (on "
                                  "Debian, the package libgrpcN of that soname): %s",
                                  COCOIMG__GRPC_LIBRARY, grpc_load_error);
    return 0;
}

static const char *const method_path[2] = {
    "/keyprovider.KeyProviderService/WrapKey",
    "/keyprovider.KeyProviderService/UnWrapKey",
};

/* --- bytes in and out of the messages ------------------------------------ */

/* The whole byte buffer as one malloc'd copy (wiped by the caller). */
static int
bb_read(uint8_t **out, size_t *len, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader rd;
    if (!core.grpc_byte_buffer_reader_init(&rd, bb))
        return -1;
    grpc_slice s = core.grpc_byte_buffer_reader_readall(&rd);
    core.grpc_byte_buffer_reader_destroy(&rd);
    size_t n = GRPC_SLICE_LENGTH(s);
    uint8_t *p = malloc(n ? n : 1);
    if (p && n)
        memcpy(p, GRPC_SLICE_START_PTR(s), n);
    core.grpc_slice_unref(s);
    if (!p)
        return -1;
    *out = p;
    *len = n;
    return 0;
}

/* A byte buffer holding the message whose field 1 is @p data (Input or Output). */
static grpc_byte_buffer *
bb_message(bool input, const uint8_t *data, size_t len)
{
    size_t n;
    uint8_t *buf;
    if (input) {
        Keyprovider__KeyProviderKeyWrapProtocolInput m =
            KEYPROVIDER__KEY_PROVIDER_KEY_WRAP_PROTOCOL_INPUT__INIT;
        m.keyproviderkeywrapprotocolinput.data = (uint8_t *)data;
        m.keyproviderkeywrapprotocolinput.len = len;
        n = keyprovider__key_provider_key_wrap_protocol_input__get_packed_size(&m);
        if (!(buf = malloc(n ? n : 1)))
            return NULL;
        keyprovider__key_provider_key_wrap_protocol_input__pack(&m, buf);
    } else {
        Keyprovider__KeyProviderKeyWrapProtocolOutput m =
            KEYPROVIDER__KEY_PROVIDER_KEY_WRAP_PROTOCOL_OUTPUT__INIT;
        m.keyproviderkeywrapprotocoloutput.data = (uint8_t *)data;
        m.keyproviderkeywrapprotocoloutput.len = len;
        n = keyprovider__key_provider_key_wrap_protocol_output__get_packed_size(&m);
        if (!(buf = malloc(n ? n : 1)))
            return NULL;
        keyprovider__key_provider_key_wrap_protocol_output__pack(&m, buf);
    }
    grpc_slice s = core.grpc_slice_from_copied_buffer((const char *)buf, n);
    cocoimg__wipe(buf, n);
    free(buf);
    grpc_byte_buffer *bb = core.grpc_raw_byte_buffer_create(&s, 1);
    core.grpc_slice_unref(s);
    return bb;
}

/* Field 1 of a packed Input or Output message, copied. */
static int
field_read(uint8_t **out, size_t *out_len, bool input, const uint8_t *msg, size_t len)
{
    ProtobufCBinaryData *f = NULL;
    Keyprovider__KeyProviderKeyWrapProtocolInput *mi = NULL;
    Keyprovider__KeyProviderKeyWrapProtocolOutput *mo = NULL;
    if (input) {
        mi = keyprovider__key_provider_key_wrap_protocol_input__unpack(NULL, len, msg);
        f = mi ? &mi->keyproviderkeywrapprotocolinput : NULL;
    } else {
        mo = keyprovider__key_provider_key_wrap_protocol_output__unpack(NULL, len, msg);
        f = mo ? &mo->keyproviderkeywrapprotocoloutput : NULL;
    }
    int r = -1;
    if (f && (*out = malloc(f->len ? f->len : 1))) {
        if (f->len)
            memcpy(*out, f->data, f->len);
        *out_len = f->len;
        r = 0;
    }
    if (f)
        cocoimg__wipe(f->data, f->len);
    if (mi)
        keyprovider__key_provider_key_wrap_protocol_input__free_unpacked(mi, NULL);
    if (mo)
        keyprovider__key_provider_key_wrap_protocol_output__free_unpacked(mo, NULL);
    return r;
}

static grpc_status_code
status_of(int code)
{
    switch (code) {
    case COCOIMG_EINVAL:
    case COCOIMG_EFORMAT:
    case COCOIMG_ENOTSUP:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case COCOIMG_ELIMIT:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case COCOIMG_ENOKEY:
    case COCOIMG_EAUTH:
    case COCOIMG_EPOLICY:
        return GRPC_STATUS_PERMISSION_DENIED;
    case COCOIMG_ENOTFOUND:
        return GRPC_STATUS_NOT_FOUND;
    case COCOIMG_ENET:
    case COCOIMG_EHTTP:
        return GRPC_STATUS_UNAVAILABLE;
    default:
        return GRPC_STATUS_INTERNAL;
    }
}

static const char *
status_name(grpc_status_code s)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return s >= 0 && (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

/* --- server ------------------------------------------------------------- */

enum call_state { CALL_REQUESTED, CALL_REPLYING };

struct srv_call {
    struct cocoimg__grpc_server *srv;
    enum cocoimg__kp_method m;
    enum call_state state;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_byte_buffer *reply;
    grpc_slice details;
    int cancelled;
};

struct cocoimg__grpc_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    void *method[2];
    int port;
    unsigned workers;
    cocoimg__kp_handler handler;
    void *ud;
    atomic_bool stopping;
    atomic_bool running;
    bool started;
    char shutdown_tag;
};

static void
call_free(struct srv_call *c)
{
    if (c->call)
        core.grpc_call_unref(c->call);
    core.grpc_metadata_array_destroy(&c->md);
    if (c->payload)
        core.grpc_byte_buffer_destroy(c->payload);
    if (c->reply)
        core.grpc_byte_buffer_destroy(c->reply);
    core.grpc_slice_unref(c->details);
    free(c);
}

/*
 * A call's struct is handed from one worker to another through the
 * completion queue, whose synchronisation lives in the gRPC core.  Debian's
 * gRPC is not built for ThreadSanitizer, so that hand-over is made visible to
 * it: released before a tag is given to gRPC, acquired when it comes back.
 */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TAG_RELEASE(p) __tsan_release(p)
#define TAG_ACQUIRE(p) __tsan_acquire(p)
#else
#define TAG_RELEASE(p) ((void)(p))
#define TAG_ACQUIRE(p) ((void)(p))
#endif

static void
request_call(struct cocoimg__grpc_server *s, enum cocoimg__kp_method m)
{
    if (atomic_load(&s->stopping))
        return;
    struct srv_call *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->srv = s;
    c->m = m;
    c->details = core.grpc_empty_slice();
    core.grpc_metadata_array_init(&c->md);
    TAG_RELEASE(c);
    if (core.grpc_server_request_registered_call(s->server, s->method[m], &c->call, &c->deadline,
                                                 &c->md, &c->payload, s->cq, s->cq,
                                                 c) != GRPC_CALL_OK)
        call_free(c);
}

/* the handler on one call, then the reply batch */
static void
serve_call(struct srv_call *c)
{
    struct cocoimg__grpc_server *s = c->srv;
    grpc_status_code status = GRPC_STATUS_OK;
    cocoimg_error *err = NULL;
    uint8_t *msg = NULL, *in = NULL, *out = NULL;
    size_t msg_len = 0, in_len = 0, out_len = 0;
    if (!c->payload || bb_read(&msg, &msg_len, c->payload) < 0) {
        status = GRPC_STATUS_INVALID_ARGUMENT;
        c->details = core.grpc_slice_from_static_string("no request message");
    } else if (field_read(&in, &in_len, true, msg, msg_len) < 0) {
        status = GRPC_STATUS_INVALID_ARGUMENT;
        c->details = core.grpc_slice_from_static_string(
            "the request is not a keyProviderKeyWrapProtocolInput message");
    } else {
        int r = s->handler(s->ud, c->m, in, in_len, &out, &out_len, &err);
        if (r < 0) {
            status = status_of(r);
            const char *m = err ? cocoimg_error_message(err) : "refused";
            c->details = core.grpc_slice_from_copied_string(m);
        } else if (!(c->reply = bb_message(false, out, out_len))) {
            status = GRPC_STATUS_RESOURCE_EXHAUSTED;
            c->details = core.grpc_slice_from_static_string("out of memory");
        }
    }
    cocoimg_error_free(err);
    if (msg) {
        cocoimg__wipe(msg, msg_len);
        free(msg);
    }
    if (in) {
        cocoimg__wipe(in, in_len);
        free(in);
    }
    if (out) {
        cocoimg__wipe(out, out_len);
        free(out);
    }
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
    if (c->reply) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->reply;
        n++;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n].data.send_status_from_server.status_details = &c->details;
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
    n++;
    c->state = CALL_REPLYING;
    grpc_call *call = c->call; /* c belongs to gRPC (and the next worker) from here */
    TAG_RELEASE(c);
    if (core.grpc_call_start_batch(call, ops, n, c, NULL) != GRPC_CALL_OK)
        call_free(c);
}

static void *
worker(void *arg)
{
    struct cocoimg__grpc_server *s = arg;
    for (;;) {
        grpc_event ev =
            core.grpc_completion_queue_next(s->cq, core.gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &s->shutdown_tag) {
            /* every call has ended: let the queue drain and end */
            core.grpc_completion_queue_shutdown(s->cq);
            continue;
        }
        struct srv_call *c = ev.tag;
        TAG_ACQUIRE(c);
        if (c->state == CALL_REQUESTED) {
            if (!ev.success) { /* the server is shutting down */
                call_free(c);
                continue;
            }
            request_call(s, c->m); /* keep one waiting while this one is served */
            serve_call(c);
        } else {
            call_free(c);
        }
    }
    return NULL;
}

int
cocoimg__grpc_server_new(cocoimg__grpc_server **out, const char *listen, unsigned workers,
                         size_t max_request, cocoimg__kp_handler h, void *ud, cocoimg_error **err)
{
    if (!listen || !*listen || !h || max_request > INT32_MAX)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "grpc server: bad arguments");
    int lr = grpc_load(err);
    if (lr < 0)
        return lr;
    struct cocoimg__grpc_server *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    core.grpc_init();
    s->workers = workers ? workers : 4;
    s->handler = h;
    s->ud = ud;
    grpc_arg args[2] = {
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = (int)max_request + 64},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = (int)max_request + 64},
    };
    grpc_channel_args cargs = {2, args};
    s->server = core.grpc_server_create(&cargs, NULL);
    s->cq = core.grpc_completion_queue_create_for_next(NULL);
    core.grpc_server_register_completion_queue(s->server, s->cq, NULL);
    for (int m = 0; m < 2; m++)
        s->method[m] = core.grpc_server_register_method(
            s->server, method_path[m], NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_server_credentials *creds = core.grpc_insecure_server_credentials_create();
    int port = core.grpc_server_add_http2_port(s->server, listen, creds);
    core.grpc_server_credentials_release(creds);
    if (port <= 0 || !s->method[0] || !s->method[1]) {
        cocoimg__grpc_server_free(s);
        return cocoimg__error_set(err, COCOIMG_EIO, 0, "cannot listen on %s", listen);
    }
    s->port = strncmp(listen, "unix:", 5) == 0 ? 0 : port;
    core.grpc_server_start(s->server);
    s->started = true;
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < REQUESTS_PER_METHOD; i++)
            request_call(s, (enum cocoimg__kp_method)m);
    *out = s;
    return 0;
}

int
cocoimg__grpc_server_port(const cocoimg__grpc_server *s)
{
    return s ? s->port : 0;
}

int
cocoimg__grpc_server_run(cocoimg__grpc_server *s, cocoimg_error **err)
{
    if (atomic_exchange(&s->running, true))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "grpc server: already running");
    pthread_t *th = calloc(s->workers, sizeof(*th));
    if (!th)
        return cocoimg__error_oom(err);
    unsigned started = 0;
    for (unsigned i = 1; i < s->workers; i++, started++)
        if (pthread_create(&th[i], NULL, worker, s) != 0)
            break;
    worker(s);
    for (unsigned i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    free(th);
    return 0;
}

void
cocoimg__grpc_server_stop(cocoimg__grpc_server *s)
{
    if (!s || atomic_exchange(&s->stopping, true))
        return;
    core.grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
}

void
cocoimg__grpc_server_free(cocoimg__grpc_server *s)
{
    if (!s)
        return;
    if (s->started && !atomic_load(&s->running)) {
        /* never served: shut down and drain here */
        cocoimg__grpc_server_stop(s);
        worker(s);
    }
    core.grpc_server_destroy(s->server);
    core.grpc_completion_queue_destroy(s->cq);
    free(s);
    core.grpc_shutdown();
}

/* --- client ------------------------------------------------------------- */

static char *
read_pem(const char *path, cocoimg_error **err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cocoimg__read_file(&buf, &len, AT_FDCWD, path, 1024 * 1024, err) < 0)
        return NULL;
    char *s = realloc(buf, len + 1);
    if (!s) {
        free(buf);
        cocoimg__error_oom(err);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

static grpc_channel_credentials *
client_creds(const struct cocoimg__grpc_tls *tls, const char *target, cocoimg_error **err)
{
    if (!tls || !tls->enabled)
        return core.grpc_insecure_credentials_create();
    char *ca = NULL, *cert = NULL, *key = NULL;
    if (tls->root_ca_file && !(ca = read_pem(tls->root_ca_file, err)))
        goto fail;
    if (tls->cert_file &&
        (!(cert = read_pem(tls->cert_file, err)) || !(key = read_pem(tls->key_file, err))))
        goto fail;
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    grpc_channel_credentials *c =
        core.grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
    free(ca);
    free(cert);
    cocoimg__free_wipe_str(key);
    if (!c)
        cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider grpc %s: bad TLS settings", target);
    return c;
fail:
    free(ca);
    free(cert);
    cocoimg__free_wipe_str(key);
    cocoimg__error_wrap(err, COCOIMG_EIO, "keyprovider grpc %s: grpc-tls", target);
    return NULL;
}

/* the server's words, printable, bounded */
static void
clean(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++)
        dst[n++] = (src[i] < 0x20 || src[i] == 0x7f) ? '?' : (char)src[i];
    if (len > n && n + 4 <= cap)
        memcpy(dst + n, "...", 3), n += 3;
    dst[n] = '\0';
}

int
cocoimg__grpc_call(const char *target, const struct cocoimg__grpc_tls *tls,
                   enum cocoimg__kp_method m, const uint8_t *in, size_t in_len, uint8_t **out,
                   size_t *out_len, size_t max_reply, int timeout_ms, cocoimg_error **err)
{
    if (!target || !*target || max_reply > INT32_MAX - 64)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider grpc: bad arguments");
    int r = grpc_load(err);
    if (r < 0)
        return r;
    core.grpc_init();
    grpc_channel_credentials *creds = client_creds(tls, target, err);
    if (!creds) {
        core.grpc_shutdown();
        return COCOIMG_EINVAL;
    }
    grpc_arg args[3] = {
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = (int)max_reply + 64},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = (int)in_len + 64},
        {.type = GRPC_ARG_STRING,
         .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
         .value.string = (char *)(tls ? tls->server_name : NULL)},
    };
    grpc_channel_args cargs = {tls && tls->enabled && tls->server_name ? 3 : 2, args};
    grpc_channel *ch = core.grpc_channel_create(target, creds, &cargs);
    core.grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = core.grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline = core.gpr_time_add(core.gpr_now(GPR_CLOCK_MONOTONIC),
                                              core.gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_slice method = core.grpc_slice_from_static_string(method_path[m]);
    grpc_call *call = core.grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
                                                    NULL, deadline, NULL);
    grpc_byte_buffer *req = bb_message(true, in, in_len), *reply = NULL;
    grpc_metadata_array md_initial, md_trailing;
    core.grpc_metadata_array_init(&md_initial);
    core.grpc_metadata_array_init(&md_trailing);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = core.grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &reply;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &md_trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    char tag;
    if (!call || !req || core.grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
        r = cocoimg__error_set(err, COCOIMG_ENOMEM, 0, "keyprovider grpc %s: cannot start the call",
                               target);
    } else {
        grpc_event ev = core.grpc_completion_queue_pluck(
            cq, &tag, core.gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
            r = cocoimg__error_set(err, COCOIMG_ENET, 0, "keyprovider grpc %s: the call failed",
                                   target);
        } else if (status != GRPC_STATUS_OK) {
            char words[256];
            clean(words, sizeof(words), GRPC_SLICE_START_PTR(details), GRPC_SLICE_LENGTH(details));
            int code = status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED
                           ? COCOIMG_ENET
                       : status == GRPC_STATUS_RESOURCE_EXHAUSTED ? COCOIMG_ELIMIT
                                                                  : COCOIMG_ENOKEY;
            r = cocoimg__error_set(err, code, 0, "keyprovider grpc %s: %s%s%s", target,
                                   status_name(status), *words ? ": " : "", words);
        } else {
            uint8_t *msg = NULL;
            size_t msg_len = 0;
            if (!reply || bb_read(&msg, &msg_len, reply) < 0 ||
                field_read(out, out_len, false, msg, msg_len) < 0)
                r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                       "keyprovider grpc %s: the reply is not a "
                                       "keyProviderKeyWrapProtocolOutput message",
                                       target);
            if (msg) {
                cocoimg__wipe(msg, msg_len);
                free(msg);
            }
        }
    }
    if (req)
        core.grpc_byte_buffer_destroy(req);
    if (reply)
        core.grpc_byte_buffer_destroy(reply);
    core.grpc_slice_unref(details);
    core.grpc_metadata_array_destroy(&md_initial);
    core.grpc_metadata_array_destroy(&md_trailing);
    if (call)
        core.grpc_call_unref(call);
    core.grpc_completion_queue_shutdown(cq);
    while (core.grpc_completion_queue_pluck(cq, NULL, core.gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    core.grpc_completion_queue_destroy(cq);
    core.grpc_channel_destroy(ch);
    core.grpc_shutdown();
    return r;
}
