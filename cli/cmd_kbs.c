/* SPDX-License-Identifier: Apache-2.0 */
/*
 * get-resource and attest: the KBS client of the public API
 * (cocoimg/kbs.h) on the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

enum {
    OPT_KBS_URL = 0x3000,
    OPT_KBS_CERT,
    OPT_ATTESTER,
    OPT_KBS_PROTOCOL,
    OPT_KBS_INSECURE_HTTP,
    OPT_INIT_DATA,
};

#define KBS_LONGOPTS                                                                               \
    {"kbs-url", required_argument, NULL, OPT_KBS_URL},                                             \
        {"kbs-cert", required_argument, NULL, OPT_KBS_CERT},                                       \
        {"attester", required_argument, NULL, OPT_ATTESTER},                                       \
        {"kbs-protocol-version", required_argument, NULL, OPT_KBS_PROTOCOL},                       \
        {"kbs-insecure-http", no_argument, NULL, OPT_KBS_INSECURE_HTTP},                           \
        {"init-data", required_argument, NULL, OPT_INIT_DATA},                                     \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

static void
usage_kbs_options(FILE *out)
{
    fprintf(out,
            "KBS options:\n"
            "      --kbs-url URL       the Key Broker Service, https://HOST[:PORT] (required)\n"
            "      --kbs-cert FILE     PEM CA certificate of the KBS: the only one trusted\n"
            "                          (default: the system trust store)\n"
            "      --attester NAME     evidence source: auto (default: detect TDX, then SNP,\n"
            "                          and say which on stderr; else sample with a warning),\n"
            "                          tdx, snp (configfs-tsm; SNP also /dev/sev-guest), or\n"
            "                          sample (no TEE, tests only)\n"
            "      --init-data FILE    init-data TOML sent with every attestation; its digest\n"
            "                          must be the TEE's MRCONFIGID (TDX) / HOST_DATA (SNP)\n"
            "      --kbs-protocol-version V\n"
            "                          attestation protocol version "
            "(default " COCOIMG_KBS_PROTOCOL_VERSION ")\n"
            "      --kbs-insecure-http allow an http:// KBS URL (tests only)\n"
            "  -h, --help              show this help\n");
}

static void
usage_get_resource(FILE *out)
{
    fprintf(out,
            "Usage: coco-img get-resource --kbs-url URL [OPTIONS] kbs:///REPO/TYPE/TAG\n\n"
            "Attest to the KBS with this machine's TEE evidence and fetch one resource (a key,\n"
            "a secret): it arrives encrypted to a key that exists only in this process and is\n"
            "written decrypted to standard output or to FILE.  The host of a kbs://HOST/...\n"
            "URI is ignored: --kbs-url is used.  When the KBS refuses (policy, evidence,\n"
            "protocol version) or cannot be reached, the KBS's answer is shown, nothing is\n"
            "written and the exit status is non-zero.\n\n"
            "Options:\n"
            "  -o, --output FILE       write the resource to FILE (created with mode 0600,\n"
            "                          replaced only once the resource is complete)\n"
            "      --json              with --output: print {\"resource\", \"output\", \"bytes\"}\n"
            "                          on stdout (never the resource itself); errors as\n"
            "                          {\"error\":{\"code\",\"message\"}} on stderr\n");
    usage_kbs_options(out);
}

static void
usage_attest(FILE *out)
{
    fprintf(out, "Usage: coco-img attest --kbs-url URL [OPTIONS]\n\n"
                 "Attest to the KBS and print the claims of the attestation token it returns, as\n"
                 "JSON (a debugging aid: what the KBS saw and what its policies will match).\n\n");
    usage_kbs_options(out);
}

struct kbs_args {
    cocoimg_kbs_options o;
    const char *output;
    bool json;
};

/* Parse the options of @p cmd; returns -1 to go on, else an exit code. */
static int
parse(struct kbs_args *a, const char *cmd, int argc, char **argv, bool with_output,
      void (*usage)(FILE *))
{
    static const struct option opts_out[] = {KBS_LONGOPTS,
                                             {"output", required_argument, NULL, 'o'},
                                             {"json", no_argument, NULL, CLI_OPT_JSON},
                                             {NULL, 0, NULL, 0}};
    static const struct option opts_plain[] = {KBS_LONGOPTS, {NULL, 0, NULL, 0}};
    cocoimg_kbs_options_init(&a->o, COCOIMG_KBS_OPTIONS_VERSION);
    int c;
    while ((c = getopt_long(argc, argv, with_output ? "o:h" : "h",
                            with_output ? opts_out : opts_plain, NULL)) != -1) {
        switch (c) {
        case OPT_KBS_URL:
            a->o.url = optarg;
            break;
        case OPT_KBS_CERT:
            a->o.ca_file = optarg;
            break;
        case OPT_ATTESTER:
            a->o.attester = optarg;
            break;
        case OPT_KBS_PROTOCOL:
            a->o.protocol_version = optarg;
            break;
        case OPT_KBS_INSECURE_HTTP:
            a->o.insecure_http = 1;
            break;
        case OPT_INIT_DATA:
            a->o.init_data_file = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case CLI_OPT_JSON:
            a->json = true;
            cli_json_errors = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, "invalid option");
        }
    }
    if (!a->o.url)
        return cli_usage_error(cmd, "--kbs-url is required");
    return -1;
}

/* Write @p len bytes to FILE.tmp-XXXXXX (0600) and rename it to FILE. */
static int
write_output(const char *path, const uint8_t *buf, size_t len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof(".tmp-XXXXXX"));
    if (!tmp) {
        fprintf(stderr, "coco-img: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
    mode_t old = umask(077);
    int fd = mkstemp(tmp);
    umask(old);
    if (fd < 0) {
        fprintf(stderr, "coco-img: %s: %s\n", path, strerror(errno));
        free(tmp);
        return CLI_EXIT_FAIL;
    }
    size_t off = 0;
    int e = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            e = errno;
            break;
        }
        off += (size_t)w;
    }
    if (!e && fchmod(fd, 0600) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        fprintf(stderr, "coco-img: %s: %s\n", path, strerror(e));
        free(tmp);
        return CLI_EXIT_FAIL;
    }
    free(tmp);
    return CLI_EXIT_OK;
}

static int
write_stdout(const uint8_t *buf, size_t len)
{
    if (len && fwrite(buf, 1, len, stdout) != len) {
        fprintf(stderr, "coco-img: standard output: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "coco-img: standard output: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static int
cmd_get_resource(int argc, char **argv)
{
    struct kbs_args a = {0};
    int rc = parse(&a, "get-resource", argc, argv, true, usage_get_resource);
    if (rc >= 0)
        return rc;
    if (argc - optind != 1)
        return cli_usage_error("get-resource", "expected one kbs:///REPO/TYPE/TAG");
    if (a.json && !a.output)
        return cli_usage_error("get-resource", "--json needs --output (stdout carries the JSON)");
    cocoimg_context *ctx = cli_context();
    cocoimg_error *err = NULL;
    cocoimg_kbs *kbs = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cocoimg_kbs_new(&kbs, ctx, &a.o, &err) < 0 ||
        (cli_kbs_attester_line(kbs, &a.o),
         cocoimg_kbs_get_resource(&buf, &len, kbs, argv[optind], &err) < 0)) {
        cocoimg_kbs_free(kbs);
        cocoimg_context_free(ctx);
        return cli_error(err);
    }
    cocoimg_kbs_free(kbs);
    cocoimg_context_free(ctx);
    rc = a.output ? write_output(a.output, buf, len) : write_stdout(buf, len);
    cocoimg_kbs_resource_free(buf, len);
    if (rc == CLI_EXIT_OK && a.json) {
        json_t *j = json_pack("{s:s, s:s, s:I}", "resource", argv[optind], "output", a.output,
                              "bytes", (json_int_t)len);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (s)
            printf("%s\n", s);
        rc = s ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        free(s);
    }
    return rc;
}

static int
cmd_attest(int argc, char **argv)
{
    struct kbs_args a = {0};
    int rc = parse(&a, "attest", argc, argv, false, usage_attest);
    if (rc >= 0)
        return rc;
    if (argc - optind != 0)
        return cli_usage_error("attest", "unexpected argument '%s'", argv[optind]);
    cocoimg_context *ctx = cli_context();
    cocoimg_error *err = NULL;
    cocoimg_kbs *kbs = NULL;
    char *claims = NULL;
    if (cocoimg_kbs_new(&kbs, ctx, &a.o, &err) < 0 ||
        (cli_kbs_attester_line(kbs, &a.o), cocoimg_kbs_attest(&claims, kbs, &err) < 0)) {
        cocoimg_kbs_free(kbs);
        cocoimg_context_free(ctx);
        return cli_error(err);
    }
    cocoimg_kbs_free(kbs);
    cocoimg_context_free(ctx);
    json_t *j = json_loads(claims, 0, NULL);
    char *pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    rc =
        write_stdout((const uint8_t *)(pretty ? pretty : claims), strlen(pretty ? pretty : claims));
    if (rc == CLI_EXIT_OK)
        rc = write_stdout((const uint8_t *)"\n", 1);
    free(pretty);
    json_decref(j);
    cocoimg_free(claims);
    return rc;
}

const struct cli_command cli_cmd_get_resource = {
    "get-resource", cmd_get_resource, "attest to a KBS and fetch a resource (key, secret)",
    usage_get_resource};
const struct cli_command cli_cmd_attest = {
    "attest", cmd_attest, "attest to a KBS and print the token's claims", usage_attest};
