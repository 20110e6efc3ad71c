/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coco-keyprovider: the attestation-agent key provider of Confidential
 * Containers as an ocicrypt keyprovider plugin (public API only).
 *
 *   coco-keyprovider --listen 127.0.0.1:50000     gRPC keyprovider.KeyProviderService
 *   coco-keyprovider < request.json > reply.json  ocicrypt's cmd protocol
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <cocoimg/context.h>
#include <cocoimg/errors.h>
#include <cocoimg/kbs.h>
#include <cocoimg/keyprovider.h>
#include <cocoimg/version.h>

#define PROG "coco-keyprovider"
#define REQUEST_MAX (1024u * 1024)

enum {
    OPT_LISTEN = 0x100,
    OPT_WORKERS,
    OPT_NAME,
    OPT_KBS_URL,
    OPT_KBS_CERT,
    OPT_ATTESTER,
    OPT_KBS_PROTOCOL,
    OPT_KBS_INSECURE_HTTP,
    OPT_INIT_DATA,
    OPT_VERSION,
};

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [--listen ADDRESS] [OPTIONS]\n\n"
            "The attestation-agent key provider of Confidential Containers, as an ocicrypt\n"
            "keyprovider plugin (skopeo, buildah, podman and containerd's imgcrypt call it\n"
            "through OCICRYPT_KEYPROVIDER_CONFIG).\n\n"
            "WrapKey (building an image): the recipient\n"
            "  provider:attestation-agent:keyid=kbs:///REPO/TYPE/TAG[::keypath=KEK-FILE]\n"
            "seals the layer key with AES-256-GCM under the 32-byte KEK in KEK-FILE (or, without\n"
            "keypath, the KEK that the KBS holds as keyid, fetched after attestation).\n"
            "UnWrapKey (in the guest): attest to the KBS, fetch the packet's key id, open it.\n\n"
            "With --listen, serve gRPC keyprovider.KeyProviderService until SIGTERM or SIGINT\n"
            "(calls in flight finish first).  Without it, speak ocicrypt's cmd protocol: one\n"
            "request JSON on standard input, the reply JSON on standard output; exit status 1\n"
            "and a message on standard error when the request is refused.\n\n"
            "Options:\n"
            "  -l, --listen ADDRESS    serve gRPC on HOST:PORT (PORT 0: a free one) or\n"
            "                          unix:PATH\n"
            "      --workers N         requests answered concurrently (default 4)\n"
            "      --name NAME         the provider name whose parameters requests carry\n"
            "                          (default attestation-agent)\n"
            "      --kbs-url URL       the Key Broker Service, https://HOST[:PORT]: needed by\n"
            "                          UnWrapKey and by WrapKey without keypath\n"
            "      --kbs-cert FILE     PEM CA certificate of the KBS: the only one trusted\n"
            "      --attester NAME     evidence source: auto (default), tdx, snp or sample\n"
            "                          (tests only)\n"
            "      --kbs-protocol-version V\n"
            "                          attestation protocol version "
            "(default " COCOIMG_KBS_PROTOCOL_VERSION ")\n"
            "      --kbs-insecure-http allow an http:// KBS URL (tests only)\n"
            "      --init-data FILE    init-data TOML sent with every attestation\n"
            "  -h, --help              show this help\n"
            "      --version           show the version\n\n"
            "Exit status: 0 success, 1 refused or failed, 2 usage error.\n");
}

static void
log_stderr(cocoimg_log_level level, const char *msg, void *payload)
{
    (void)payload;
    fprintf(stderr, PROG ": %s%s\n", level >= COCOIMG_LOG_WARNING ? "" : "warning: ", msg);
}

static int
fail(cocoimg_error *err)
{
    fprintf(stderr, PROG ": %s\n", err ? cocoimg_error_message(err) : "failed");
    cocoimg_error_free(err);
    return 1;
}

/* cmd protocol: one request on stdin, the reply on stdout */
static int
serve_cmd(cocoimg_kp_service *svc)
{
    size_t cap = 65536, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    for (;;) {
        if (len == cap) {
            if (cap > REQUEST_MAX)
                break;
            uint8_t *nb = malloc(cap * 2);
            if (!nb)
                break;
            memcpy(nb, buf, len);
            cocoimg_kp_reply_free(buf, len); /* wipes */
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, PROG ": standard input: %s\n", strerror(errno));
            cocoimg_kp_reply_free(buf, len);
            return 1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > REQUEST_MAX) {
        cocoimg_kp_reply_free(buf, len);
        fprintf(stderr, PROG ": request over %u bytes\n", REQUEST_MAX);
        return 1;
    }
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    cocoimg_error *err = NULL;
    int r = cocoimg_kp_service_handle(&reply, &reply_len, svc, COCOIMG_KP_ANY, buf, len, &err);
    cocoimg_kp_reply_free(buf, len);
    if (r < 0)
        return fail(err);
    size_t off = 0;
    while (off < reply_len) {
        ssize_t w = write(STDOUT_FILENO, reply + off, reply_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            fprintf(stderr, PROG ": standard output: %s\n", strerror(errno));
            cocoimg_kp_reply_free(reply, reply_len);
            return 1;
        }
        off += (size_t)w;
    }
    cocoimg_kp_reply_free(reply, reply_len);
    return 0;
}

struct sigctl {
    sigset_t set;
    cocoimg_kp_server *srv;
    atomic_int done; /* set by the main thread, read by the signal thread */
};

static void *
signal_thread(void *arg)
{
    struct sigctl *sc = arg;
    int sig = 0;
    sigwait(&sc->set, &sig);
    if (!atomic_load(&sc->done)) {
        fprintf(stderr, PROG ": %s: stopping (calls in flight finish first)\n", strsignal(sig));
        cocoimg_kp_server_stop(sc->srv);
    }
    return NULL;
}

static int
serve_grpc(cocoimg_kp_service *svc, const char *listen, unsigned workers)
{
    /* before any thread exists: only the signal thread takes SIGTERM/SIGINT */
    struct sigctl sc = {0};
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
    cocoimg_error *err = NULL;
    if (cocoimg_kp_server_new(&sc.srv, svc, listen, workers, &err) < 0)
        return fail(err);
    pthread_t th;
    if (pthread_create(&th, NULL, signal_thread, &sc) != 0) {
        cocoimg_kp_server_free(sc.srv);
        fprintf(stderr, PROG ": cannot start the signal thread\n");
        return 1;
    }
    int port = cocoimg_kp_server_port(sc.srv);
    if (port > 0)
        fprintf(stderr, PROG ": serving keyprovider.KeyProviderService on port %d\n", port);
    else
        fprintf(stderr, PROG ": serving keyprovider.KeyProviderService on %s\n", listen);
    int r = cocoimg_kp_server_run(sc.srv, &err);
    atomic_store(&sc.done, 1);
    pthread_kill(th, SIGTERM); /* blocked, so it only ends the sigwait */
    pthread_join(th, NULL);
    cocoimg_kp_server_free(sc.srv);
    if (r < 0)
        return fail(err);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"name", required_argument, NULL, OPT_NAME},
        {"kbs-url", required_argument, NULL, OPT_KBS_URL},
        {"kbs-cert", required_argument, NULL, OPT_KBS_CERT},
        {"attester", required_argument, NULL, OPT_ATTESTER},
        {"kbs-protocol-version", required_argument, NULL, OPT_KBS_PROTOCOL},
        {"kbs-insecure-http", no_argument, NULL, OPT_KBS_INSECURE_HTTP},
        {"init-data", required_argument, NULL, OPT_INIT_DATA},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *listen = NULL, *name = NULL;
    unsigned workers = 4;
    cocoimg_kbs_options ko;
    cocoimg_kbs_options_init(&ko, COCOIMG_KBS_OPTIONS_VERSION);
    bool any_kbs = false;
    int c;
    while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case OPT_WORKERS: {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!*optarg || *end || n < 1 || n > 256) {
                fprintf(stderr, PROG ": --workers takes 1..256\n");
                return 2;
            }
            workers = (unsigned)n;
            break;
        }
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_KBS_URL:
            ko.url = optarg;
            any_kbs = true;
            break;
        case OPT_KBS_CERT:
            ko.ca_file = optarg;
            any_kbs = true;
            break;
        case OPT_ATTESTER:
            ko.attester = optarg;
            any_kbs = true;
            break;
        case OPT_KBS_PROTOCOL:
            ko.protocol_version = optarg;
            any_kbs = true;
            break;
        case OPT_KBS_INSECURE_HTTP:
            ko.insecure_http = 1;
            any_kbs = true;
            break;
        case OPT_INIT_DATA:
            ko.init_data_file = optarg;
            any_kbs = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf(PROG " %s\n", cocoimg_version());
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (any_kbs && !ko.url) {
        fprintf(stderr, PROG ": the KBS options need --kbs-url\n");
        return 2;
    }
    cocoimg_error *err = NULL;
    cocoimg_context *ctx = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0)
        return fail(err);
    cocoimg_context_set_log(ctx, COCOIMG_LOG_WARNING, log_stderr, NULL);
    cocoimg_kbs *kbs = NULL;
    if (ko.url && cocoimg_kbs_new(&kbs, ctx, &ko, &err) < 0) {
        cocoimg_context_free(ctx);
        return fail(err);
    }
    /* the one line naming the auto-detected attester (sample warns itself) */
    if (kbs && (!ko.attester || strcmp(ko.attester, "auto") == 0) &&
        strcmp(cocoimg_kbs_attester_name(kbs), "sample") != 0)
        fprintf(stderr, PROG ": attester %s: %s\n", cocoimg_kbs_attester_name(kbs),
                cocoimg_kbs_attester_reason(kbs));
    cocoimg_kp_service_options so;
    cocoimg_kp_service_options_init(&so, COCOIMG_KP_SERVICE_OPTIONS_VERSION);
    so.name = name;
    so.kbs = kbs;
    cocoimg_kp_service *svc = NULL;
    int rc;
    if (cocoimg_kp_service_new(&svc, &so, &err) < 0)
        rc = fail(err);
    else
        rc = listen ? serve_grpc(svc, listen, workers) : serve_cmd(svc);
    cocoimg_kp_service_free(svc);
    cocoimg_kbs_free(kbs);
    cocoimg_context_free(ctx);
    return rc;
}
