/* SPDX-License-Identifier: Apache-2.0 */
/* coco-img encrypt / decrypt / layerinfo (imgcrypt and skopeo conventions). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

#define MAX_ARGS 64

struct crypt_args {
    const char *recipients[MAX_ARGS];
    size_t n_recipients;
    struct cli_keys keys;
    int layers[MAX_ARGS];
    size_t n_layers;
    int json;
    struct cli_registry reg;
    struct cli_policy pol;
    struct cli_kbs kbs;
    struct cli_progress prog;
};

static void
usage_encrypt(FILE *out)
{
    fprintf(
        out,
        "Usage: coco-img encrypt --recipient PROTO:VALUE [--recipient ...] [--layer N ...]\n"
        "                        [--platform OS/ARCH[/VARIANT] | --all] [--key K ...] SRC DST\n\n"
        "Copy SRC to DST encrypting the selected layers (ocicrypt AES_256_CTR_HMAC_SHA256),\n"
        "each layer key wrapped for every recipient.  skopeo, podman, buildah and\n"
        "containerd/imgcrypt decrypt the result.  Layers that are already encrypted get the\n"
        "new recipients added (their key is unwrapped with --key; the blob is unchanged).\n\n"
        "Options:\n"
        "  -r, --recipient R     jwe:PUBKEY-FILE (PEM/DER SPKI or JWK), pkcs7:CERT-FILE,\n"
        "                        pgp:EMAIL-OR-KEYID (from the GnuPG keyring)\n"
        "  -l, --layer N         layer to encrypt, 0-based from the bottom, negative from\n"
        "                        the top (-1 = topmost); repeatable or N,M; default: all\n"
        "  -p, --platform P      from an index, the manifest for P (default: host)\n"
        "  -a, --all             every manifest of an index\n"
        "  -h, --help            show this help\n\n"
        "SRC and DST: oci:DIR[:REF], oci-archive:FILE[:REF],\n"
        "docker://HOST[:PORT]/REPO[:TAG][@DIGEST].  Docker schema2 images are converted to\n"
        "OCI.  On failure DST is left as it was (a registry may keep blobs; the tag is\n"
        "not written).\n");
    cli_keys_usage(out, "to add recipients to encrypted layers; --gpg-homedir is also\n"
                        "the keyring of pgp: recipients");
    cli_registry_usage(out, true);
    cli_policy_usage(out, true);
    cli_progress_usage(out, false);
}

static void
usage_decrypt(FILE *out)
{
    fprintf(
        out,
        "Usage: coco-img decrypt --key FILE[:PASSWORD] [--key ...] [--dec-recipient pkcs7:CERT]\n"
        "                        [--gpg-homedir DIR | --gpg] [--layer N ...]\n"
        "                        [--platform OS/ARCH[/VARIANT] | --all] SRC DST\n\n"
        "Copy SRC to DST decrypting the selected encrypted layers.  A layer is written only\n"
        "after its HMAC and digest were verified; on any failure DST is left as it was.\n\n"
        "Options:\n"
        "  -l, --layer N         layer to decrypt (as for encrypt); default: all\n"
        "  -p, --platform P      from an index, the manifest for P (default: host)\n"
        "  -a, --all             every manifest of an index\n"
        "  -h, --help            show this help\n\n"
        "SRC and DST: oci:DIR[:REF], oci-archive:FILE[:REF],\n"
        "docker://HOST[:PORT]/REPO[:TAG][@DIGEST].\n");
    cli_keys_usage(out, "at least one --key, --gpg-homedir or --gpg");
    cli_registry_usage(out, true);
    cli_policy_usage(out, true);
    cli_kbs_usage(out);
    cli_progress_usage(out, false);
}

static void
usage_layerinfo(FILE *out)
{
    fprintf(out, "Usage: coco-img layerinfo [--json] [--layer N ...] [--platform P | --all] SRC\n\n"
                 "List the layers of SRC: index, digest, platform, size, whether encrypted, the\n"
                 "key-wrapping schemes and the recipients that can be derived without keys\n"
                 "(JWE algorithms, PKCS7 certificate subjects, OpenPGP key ids).\n\n"
                 "Options:\n"
                 "      --json            print a JSON array instead of a table\n"
                 "  -l, --layer N         only these layers (as for encrypt)\n"
                 "  -p, --platform P      from an index, only the manifest for P\n"
                 "  -a, --all             every manifest of an index (default for layerinfo)\n"
                 "  -h, --help            show this help\n\n"
                 "layerinfo takes no keys: the key options of decrypt are refused.\n\n"
                 "SRC: oci:DIR[:REF], oci-archive:FILE[:REF],\n"
                 "docker://HOST[:PORT]/REPO[:TAG][@DIGEST].\n");
    cli_registry_usage(out, false);
}

static int
parse_layers(struct crypt_args *a, const char *cmd, const char *s)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long v = strtol(tok, &end, 10);
        if (errno || end == tok || *end || v < INT_MIN || v > INT_MAX || a->n_layers >= MAX_ARGS) {
            free(copy);
            cli_usage_error(cmd, "invalid layer index '%s'", tok);
            return -1;
        }
        a->layers[a->n_layers++] = (int)v;
    }
    free(copy);
    return 0;
}

static int
push(const char **arr, size_t *n, const char *cmd, const char *v)
{
    if (*n >= MAX_ARGS) {
        cli_usage_error(cmd, "too many arguments of one kind (max %d)", MAX_ARGS);
        return -1;
    }
    arr[(*n)++] = v;
    return 0;
}

static void
free_args(struct crypt_args *a)
{
    cli_kbs_clear(&a->kbs);
    cli_keys_clear(&a->keys);
}

enum { OPT_JSON = 1000 };

static int
parse(struct crypt_args *a, cocoimg_crypt_options *o, const char *cmd, int argc, char **argv,
      void (*usage)(FILE *))
{
    static const struct option opts[] = {{"recipient", required_argument, NULL, 'r'},
                                         {"layer", required_argument, NULL, 'l'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_KEY_LONGOPTS,
                                         CLI_REGISTRY_LONGOPTS,
                                         CLI_REGISTRY_SD_LONGOPTS,
                                         CLI_POLICY_LONGOPTS,
                                         CLI_KBS_LONGOPTS,
                                         {"quiet", no_argument, NULL, CLI_OPT_QUIET},
                                         {"progress", required_argument, NULL, CLI_OPT_PROGRESS},
                                         {NULL, 0, NULL, 0}};
    bool enc = strcmp(cmd, "encrypt") == 0, info = strcmp(cmd, "layerinfo") == 0;
    int c, li = -1;
    char flag[32];
    while ((c = getopt_long(argc, argv, "r:l:p:ah" CLI_KEY_SHORTOPTS, opts, &li)) != -1) {
        int kr = info ? cli_keys_refuse(cmd, c, cli_flag_name(opts, li, c, flag))
                      : cli_keys_parse(&a->keys, cmd, c, optarg);
        li = -1;
        if (kr == 1)
            continue;
        if (kr != 0)
            return kr;
        switch (c) {
        case 'r':
            if (!enc)
                return cli_usage_error(cmd, "--recipient is an encrypt option");
            if (push(a->recipients, &a->n_recipients, cmd, optarg) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'l':
            if (parse_layers(a, cmd, optarg) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'p':
            o->platform = optarg;
            break;
        case 'a':
            o->all = 1;
            break;
        case OPT_JSON:
            if (!info)
                return cli_usage_error(cmd, "--json is a layerinfo option");
            a->json = 1;
            cli_json_errors = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default: {
            if (info && c >= CLI_OPT_SRC_CREDS && c <= CLI_OPT_DEST_TLS_VERIFY)
                return cli_usage_error(cmd, "layerinfo has one image: use --creds, --authfile, "
                                            "--cert-dir, --tls-verify");
            if (info && c >= CLI_OPT_POLICY && c <= CLI_OPT_INSECURE_POLICY)
                return cli_usage_error(cmd, "layerinfo does not check signatures (use "
                                            "'coco-img verify')");
            if (info && c >= CLI_OPT_KBS_URL && c <= CLI_OPT_KBS_INIT_DATA)
                return cli_usage_error(cmd, "layerinfo needs no keys (no KBS options)");
            int rr = cli_policy_parse(&a->pol, cmd, c, optarg);
            if (rr == 0)
                rr = cli_kbs_parse(&a->kbs, cmd, c, optarg);
            if (rr == 0)
                rr = cli_registry_parse(&a->reg, cmd, c, optarg);
            if (rr == 0 && !info)
                rr = cli_progress_parse(&a->prog, cmd, c, optarg);
            if (rr == 1)
                break;
            return rr ? rr : cli_usage_error(cmd, "invalid option");
        }
        }
    }
    if (o->all && o->platform)
        return cli_usage_error(cmd, "--all and --platform are mutually exclusive");
    o->recipients = a->recipients;
    o->n_recipients = a->n_recipients;
    o->layers = a->layers;
    o->n_layers = a->n_layers;
    return 0;
}

static int
run_copy_like(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
              int (*fn)(cocoimg_context *, const char *, const char *,
                        const cocoimg_crypt_options *, cocoimg_error **))
{
    struct crypt_args a = {.reg = CLI_REGISTRY_INIT, .pol = CLI_POLICY_INIT};
    cli_kbs_init(&a.kbs);
    cocoimg_crypt_options o = COCOIMG_CRYPT_OPTIONS_INIT;
    int r = parse(&a, &o, cmd, argc, argv, usage);
    if (r != 0) {
        free_args(&a);
        return r < 0 ? CLI_EXIT_OK : r;
    }
    if (argc - optind != 2) {
        free_args(&a);
        return cli_usage_error(cmd, "expected SRC and DST");
    }
    if (strcmp(cmd, "encrypt") == 0 && !a.n_recipients) {
        free_args(&a);
        return cli_usage_error(cmd, "no --recipient given: nothing to encrypt for");
    }
    const char *kpc = getenv("OCICRYPT_KEYPROVIDER_CONFIG");
    if (strcmp(cmd, "decrypt") == 0 && !cli_keys_any(&a.keys) && !a.kbs.any && !(kpc && *kpc)) {
        free_args(&a);
        return cli_usage_error(cmd, "no --key (or --gpg-homedir/--gpg, --kbs-url, or key "
                                    "providers in OCICRYPT_KEYPROVIDER_CONFIG) given");
    }
    if ((r = cli_keys_apply(&a.keys, cmd, &o)) != CLI_EXIT_OK) {
        free_args(&a);
        return r;
    }
    cocoimg_context *ctx = cli_context();
    if ((r = cli_registry_apply(&a.reg, cmd, ctx)) != CLI_EXIT_OK ||
        (r = cli_kbs_apply(&a.kbs, cmd, ctx, &o, strcmp(cmd, "encrypt") == 0)) != CLI_EXIT_OK ||
        (r = cli_policy_apply(&a.pol, cmd, ctx)) != CLI_EXIT_OK) {
        free_args(&a);
        cocoimg_context_free(ctx);
        return r;
    }
    cocoimg_error *err = NULL;
    a.prog.cmd = cmd;
    cli_progress_start(&a.prog, ctx);
    r = fn(ctx, argv[optind], argv[optind + 1], &o, &err);
    cli_progress_end(&a.prog);
    cli_progress_clear(&a.prog);
    free_args(&a);
    cocoimg_context_free(ctx);
    return r < 0 ? cli_error(err) : CLI_EXIT_OK;
}

static int
cmd_encrypt(int argc, char **argv)
{
    return run_copy_like(argc, argv, "encrypt", usage_encrypt, cocoimg_encrypt);
}

static int
cmd_decrypt(int argc, char **argv)
{
    return run_copy_like(argc, argv, "decrypt", usage_decrypt, cocoimg_decrypt);
}

/* The imgcrypt `layerinfo` table: #, DIGEST, PLATFORM, SIZE, ENCRYPTION, RECIPIENTS. */
static void
print_table(const cocoimg_layer_list *list)
{
    printf("%3s  %-71s  %-14s  %10s  %-16s  %s\n", "#", "DIGEST", "PLATFORM", "SIZE", "ENCRYPTION",
           "RECIPIENTS");
    for (size_t i = 0; i < cocoimg_layer_list_count(list); i++) {
        const cocoimg_layer_info *l = cocoimg_layer_list_get(list, i);
        char schemes[256] = "", rcpts[2048] = "";
        for (size_t j = 0; j < cocoimg_layer_info_scheme_count(l); j++) {
            size_t n = strlen(schemes);
            snprintf(schemes + n, sizeof(schemes) - n, "%s%s", n ? "," : "",
                     cocoimg_layer_info_scheme(l, j));
        }
        for (size_t j = 0; j < cocoimg_layer_info_recipient_count(l); j++) {
            size_t n = strlen(rcpts);
            snprintf(rcpts + n, sizeof(rcpts) - n, "%s%s", n ? ", " : "",
                     cocoimg_layer_info_recipient(l, j));
        }
        const char *plat = cocoimg_layer_info_platform(l);
        printf("%3lld  %-71s  %-14s  %10lld  %-16s  %s\n", (long long)cocoimg_layer_info_index(l),
               cocoimg_layer_info_digest(l), plat ? plat : "-",
               (long long)cocoimg_layer_info_size(l), *schemes ? schemes : "-", rcpts);
    }
}

static int
cmd_layerinfo(int argc, char **argv)
{
    struct crypt_args a = {.reg = CLI_REGISTRY_INIT, .pol = CLI_POLICY_INIT};
    cli_kbs_init(&a.kbs);
    cocoimg_crypt_options o = COCOIMG_CRYPT_OPTIONS_INIT;
    int r = parse(&a, &o, "layerinfo", argc, argv, usage_layerinfo);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (argc - optind != 1)
        return cli_usage_error("layerinfo", "expected SRC");
    if (!o.platform)
        o.all = 1;
    cocoimg_context *ctx = cli_context();
    if ((r = cli_registry_apply(&a.reg, "layerinfo", ctx)) != CLI_EXIT_OK) {
        free_args(&a);
        cocoimg_context_free(ctx);
        return r;
    }
    cocoimg_error *err = NULL;
    cocoimg_layer_list *list = NULL;
    r = cocoimg_layer_list_load(&list, ctx, argv[optind], &o, &err);
    cocoimg_context_free(ctx);
    if (r < 0)
        return cli_error(err);
    if (a.json) {
        char *out = NULL;
        if (cocoimg_layer_list_to_json(&out, list, &err) < 0) {
            cocoimg_layer_list_free(list);
            return cli_error(err);
        }
        printf("%s\n", out);
        cocoimg_free(out);
    } else {
        print_table(list);
    }
    cocoimg_layer_list_free(list);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_encrypt = {
    "encrypt", cmd_encrypt, "encrypt image layers (ocicrypt-compatible)", usage_encrypt};
const struct cli_command cli_cmd_decrypt = {"decrypt", cmd_decrypt, "decrypt image layers",
                                            usage_decrypt};
const struct cli_command cli_cmd_layerinfo = {
    "layerinfo", cmd_layerinfo, "show layers, encryption and recipients", usage_layerinfo};
