/* SPDX-License-Identifier: Apache-2.0 */
/*
 * standalone-sign and standalone-verify (skopeo's commands), and the
 * passphrase-file helper of copy --sign-passphrase-file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

#define MAX_FILE (16u << 20)

void
cli_secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* a whole file (at most MAX_FILE); NULL with a message naming @p what */
static unsigned char *
read_all(const char *cmd, const char *what, const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "coco-img %s: %s %s: %s\n", cmd, what, path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf)
            break;
        if (n == cap) {
            if (cap >= MAX_FILE) {
                fprintf(stderr, "coco-img %s: %s %s is too large\n", cmd, what, path);
                explicit_bzero(buf, n);
                free(buf);
                buf = NULL;
                break;
            }
            unsigned char *nb = malloc(cap * 2 + 1);
            if (nb)
                memcpy(nb, buf, n);
            explicit_bzero(buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "coco-img %s: %s %s: %s\n", cmd, what, path, strerror(errno));
            explicit_bzero(buf, n);
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) {
            buf[n] = '\0';
            *len = n;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    return buf;
}

char *
cli_read_passphrase_file(const char *cmd, const char *path)
{
    size_t n = 0;
    char *s = (char *)read_all(cmd, "passphrase file", path, &n);
    if (!s)
        return NULL;
    /* the first line, as skopeo reads it */
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

static void
usage_sign(FILE *out)
{
    fprintf(out, "Usage: coco-img standalone-sign [-o SIGNATURE] [--passphrase-file FILE]\n"
                 "                                [--gpg-homedir DIR] MANIFEST DOCKER-REFERENCE\n"
                 "                                KEY-FINGERPRINT\n\n"
                 "Make a simple signature (containers-signature(5)) of the manifest file MANIFEST\n"
                 "for DOCKER-REFERENCE with the secret key KEY-FINGERPRINT of the GnuPG home\n"
                 "(--gpg-homedir, else $GNUPGHOME or ~/.gnupg), as skopeo standalone-sign does.\n\n"
                 "Options:\n"
                 "  -o, --output FILE       write the signature to FILE (required)\n"
                 "      --passphrase-file F the key's passphrase is the first line of F\n"
                 "      --gpg-homedir DIR   the GnuPG home with the secret key\n"
                 "  -h, --help              show this help\n");
}

enum { OPT_PASSFILE = 0x2300, OPT_HOMEDIR, OPT_PUBKEY };

static int
cmd_standalone_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
                                         {"gpg-homedir", required_argument, NULL, OPT_HOMEDIR},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *output = NULL, *passfile = NULL, *homedir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case OPT_PASSFILE:
            passfile = optarg;
            break;
        case OPT_HOMEDIR:
            homedir = optarg;
            break;
        case 'h':
            usage_sign(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("standalone-sign", "invalid option");
        }
    }
    if (argc - optind != 3)
        return cli_usage_error("standalone-sign",
                               "expected MANIFEST, DOCKER-REFERENCE and KEY-FINGERPRINT");
    if (!output)
        return cli_usage_error("standalone-sign", "--output is required");
    size_t mlen = 0;
    unsigned char *m = read_all("standalone-sign", "manifest", argv[optind], &mlen);
    if (!m)
        return CLI_EXIT_FAIL;
    char *pass = NULL;
    if (passfile && !(pass = cli_read_passphrase_file("standalone-sign", passfile))) {
        free(m);
        return CLI_EXIT_FAIL;
    }
    unsigned char *sig = NULL;
    size_t slen = 0;
    cocoimg_error *err = NULL;
    int r = cocoimg_standalone_sign(&sig, &slen, m, mlen, argv[optind + 1], argv[optind + 2], pass,
                                    homedir, &err);
    cli_secret_free(pass);
    free(m);
    if (r < 0)
        return cli_error(err);
    FILE *f = fopen(output, "wbe");
    int rc = CLI_EXIT_OK;
    if (!f || fwrite(sig, 1, slen, f) != slen || fclose(f) != 0) {
        fprintf(stderr, "coco-img standalone-sign: cannot write %s: %s\n", output, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    cocoimg_free(sig);
    return rc;
}

static void
usage_verify(FILE *out)
{
    fprintf(out, "Usage: coco-img standalone-verify [--public-key-file FILE] [--gpg-homedir DIR]\n"
                 "                                  MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS\n"
                 "                                  SIGNATURE\n\n"
                 "Verify the simple signature SIGNATURE of the manifest file MANIFEST for\n"
                 "DOCKER-REFERENCE, as skopeo standalone-verify does: KEY-FINGERPRINTS is a\n"
                 "comma-separated list of the keys that may have signed, taken from the GnuPG\n"
                 "home; with --public-key-file the keys come from that file and\n"
                 "KEY-FINGERPRINTS may be \"any\".  Verification runs in a throw-away GnuPG home\n"
                 "holding only those keys.\n\n"
                 "Exit status: 0 verified; 3 the signature is not accepted (the reason is\n"
                 "printed); 1 other failures.\n\n"
                 "Options:\n"
                 "      --public-key-file F the public keys that may have signed\n"
                 "      --gpg-homedir DIR   the GnuPG home the fingerprints are looked up in\n"
                 "  -h, --help              show this help\n");
}

#define MAX_FPRS 64

static int
cmd_standalone_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"public-key-file", required_argument, NULL, OPT_PUBKEY},
                                         {"gpg-homedir", required_argument, NULL, OPT_HOMEDIR},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *pubkey = NULL, *homedir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PUBKEY:
            pubkey = optarg;
            break;
        case OPT_HOMEDIR:
            homedir = optarg;
            break;
        case 'h':
            usage_verify(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("standalone-verify", "invalid option");
        }
    }
    if (argc - optind != 4)
        return cli_usage_error("standalone-verify",
                               "expected MANIFEST, DOCKER-REFERENCE, KEY-FINGERPRINTS and "
                               "SIGNATURE");
    char *list = strdup(argv[optind + 2]), *save = NULL;
    const char *fprs[MAX_FPRS];
    size_t n = 0;
    if (!list)
        return CLI_EXIT_FAIL;
    if (strcmp(list, "any") != 0)
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n == MAX_FPRS) {
                free(list);
                return cli_usage_error("standalone-verify", "too many fingerprints");
            }
            fprs[n++] = t;
        }
    else if (!pubkey) {
        free(list);
        return cli_usage_error("standalone-verify",
                               "\"any\" needs --public-key-file (which keys would be trusted?)");
    }
    if (n == 0 && !pubkey) {
        free(list);
        return cli_usage_error("standalone-verify", "no key fingerprint given");
    }
    size_t mlen = 0, slen = 0;
    unsigned char *m = read_all("standalone-verify", "manifest", argv[optind], &mlen);
    unsigned char *sig =
        m ? read_all("standalone-verify", "signature", argv[optind + 3], &slen) : NULL;
    if (!m || !sig) {
        free(m);
        free(list);
        return CLI_EXIT_FAIL;
    }
    char *fpr = NULL, *digest = NULL;
    cocoimg_error *err = NULL;
    int r = cocoimg_standalone_verify(&fpr, &digest, m, mlen, argv[optind + 1], fprs, n, pubkey,
                                      homedir, sig, slen, &err);
    free(m);
    free(sig);
    free(list);
    if (r < 0)
        return cli_error(err);
    printf("Signature verified using fingerprint %s, digest %s\n", fpr, digest);
    cocoimg_free(fpr);
    cocoimg_free(digest);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_standalone_sign = {"standalone-sign", cmd_standalone_sign,
                                                    "make a simple signature of a manifest file",
                                                    usage_sign};
const struct cli_command cli_cmd_standalone_verify = {
    "standalone-verify", cmd_standalone_verify, "verify a simple signature of a manifest file",
    usage_verify};
