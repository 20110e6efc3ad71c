/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key flags shared by the commands that take keys (imgcrypt and skopeo
 * spellings: --key and --decryption-key, --dec-recipient, --gpg-homedir,
 * --gpg; --pkcs7-allow-unauthenticated) and the COCOIMG_KEY_PASSWORD
 * environment variable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define PASSWORD_ENV "COCOIMG_KEY_PASSWORD"
#define REGISTRY_PASSWORD_ENV "COCOIMG_REGISTRY_PASSWORD"

/* The passwords from the environment, NULL when none; wiped at exit. */
static char *env_password, *env_registry_password;

static void
wipe_str(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static void
wipe_env_passwords(void)
{
    wipe_str(&env_password);
    wipe_str(&env_registry_password);
}

/* Move $NAME into *out (NULL when unset; "" stays "" for the registry password). */
static void
take_one(const char *name, char **out, bool keep_empty)
{
    char *v = getenv(name);
    if (!v)
        return;
    if ((*v || keep_empty) && !(*out = strdup(v))) {
        fprintf(stderr, "coco-img: out of memory\n");
        exit(CLI_EXIT_FAIL);
    }
    /*
     * unsetenv() only drops the pointer: the bytes stay where the kernel put
     * them and /proc/PID/environ still shows them.  Overwrite them first.
     */
    explicit_bzero(v, strlen(v));
    unsetenv(name);
}

void
cli_keys_take_env(void)
{
    /* gpg and gpg-agent (run by GPGME with our environment) must see neither */
    take_one(PASSWORD_ENV, &env_password, false);
    take_one(REGISTRY_PASSWORD_ENV, &env_registry_password, true);
    atexit(wipe_env_passwords);
}

const char *
cli_env_registry_password(void)
{
    return env_registry_password;
}

const char *
cli_flag_name(const struct option *opts, int longindex, int c, char buf[static 32])
{
    if (longindex >= 0)
        snprintf(buf, 32, "--%s", opts[longindex].name);
    else if (c > 0 && c < 128)
        snprintf(buf, 32, "-%c", c);
    else
        snprintf(buf, 32, "this option");
    return buf;
}

static bool
is_key_flag(int c)
{
    return c == CLI_OPT_KEY || (c >= CLI_OPT_DEC_RECIPIENT && c <= CLI_OPT_PKCS7_ALLOW_UNAUTH);
}

int
cli_keys_refuse(const char *cmd, int c, const char *flag)
{
    if (!is_key_flag(c))
        return 0;
    return cli_usage_error(cmd, "%s: %s takes no keys (it reads only what needs none)", flag, cmd);
}

int
cli_keys_parse(struct cli_keys *k, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case CLI_OPT_KEY:
        /* never quote a key spec: it may hold a password */
        if (!*arg)
            return cli_usage_error(cmd, "--key: empty value");
        if (k->n_keys >= CLI_KEYS_MAX)
            return cli_usage_error(cmd, "--key: at most %d keys", CLI_KEYS_MAX);
        k->keys[k->n_keys++] = arg;
        return 1;
    case CLI_OPT_DEC_RECIPIENT:
        if (!*arg)
            return cli_usage_error(cmd, "--dec-recipient: empty value");
        if (k->n_dec_recipients >= CLI_KEYS_MAX)
            return cli_usage_error(cmd, "--dec-recipient: at most %d certificates", CLI_KEYS_MAX);
        k->dec_recipients[k->n_dec_recipients++] = arg;
        return 1;
    case CLI_OPT_GPG_HOMEDIR:
        if (!*arg)
            return cli_usage_error(cmd, "--gpg-homedir: empty value");
        k->gpg_homedir = arg;
        k->gpg = true;
        return 1;
    case CLI_OPT_GPG:
        k->gpg = true;
        return 1;
    case CLI_OPT_PKCS7_ALLOW_UNAUTH:
        k->pkcs7_allow_unauthenticated = true;
        return 1;
    default:
        return 0;
    }
}

bool
cli_keys_any(const struct cli_keys *k)
{
    return k->n_keys || k->gpg;
}

static bool
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* "FILE:fd=N" with the environment password waiting in a pipe at N. */
static int
key_with_env_password(struct cli_keys *k, size_t i)
{
    size_t len = strlen(env_password);
    int p[2];
    if (len > 4096) {
        fprintf(stderr, "coco-img: $" PASSWORD_ENV " is longer than 4096 bytes\n");
        return CLI_EXIT_USAGE;
    }
    /* close-on-exec: no child inherits the read end */
    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "coco-img: pipe: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    /* a pipe holds at least 4096 bytes: the write never blocks */
    ssize_t n;
    do
        n = write(p[1], env_password, len);
    while (n < 0 && errno == EINTR);
    close(p[1]);
    char *spec = NULL;
    if (n != (ssize_t)len || asprintf(&spec, "%s:fd=%d", k->keys[i], p[0]) < 0) {
        close(p[0]);
        fprintf(stderr, "coco-img: cannot hand over $" PASSWORD_ENV "\n");
        return CLI_EXIT_FAIL;
    }
    k->owned[i] = spec;
    k->fds[i] = p[0];
    k->keys[i] = spec;
    return CLI_EXIT_OK;
}

int
cli_keys_apply(struct cli_keys *k, const char *cmd, cocoimg_crypt_options *o)
{
    for (size_t i = 0; i < k->n_keys; i++) {
        const char *spec = k->keys[i];
        if (strncmp(spec, "provider:", 9) == 0)
            continue; /* not a file: the library answers */
        const char *colon = strrchr(spec, ':');
        /*
         * FILE:PASSWORD whose FILE is missing: say so here, naming only
         * FILE (the library would quote the whole spec).
         */
        if (colon && !exists(spec)) {
            size_t flen = (size_t)(colon - spec);
            char *file = strndup(spec, flen);
            if (!file) {
                fprintf(stderr, "coco-img: out of memory\n");
                return CLI_EXIT_FAIL;
            }
            bool found = exists(file);
            if (!found)
                fprintf(stderr, "coco-img %s: --key: key file '%s' not found\n", cmd, file);
            free(file);
            if (!found)
                return CLI_EXIT_NOTFOUND;
            continue;
        }
        if (!exists(spec)) {
            fprintf(stderr, "coco-img %s: --key: key file '%s' not found\n", cmd, spec);
            return CLI_EXIT_NOTFOUND;
        }
        if (env_password && !colon) {
            int r = key_with_env_password(k, i);
            if (r != CLI_EXIT_OK)
                return r;
        }
    }
    o->keys = k->keys;
    o->n_keys = k->n_keys;
    o->dec_recipients = k->dec_recipients;
    o->n_dec_recipients = k->n_dec_recipients;
    o->gpg_homedir = k->gpg_homedir;
    o->use_gpg_keys = k->gpg;
    o->pkcs7_allow_unauthenticated = k->pkcs7_allow_unauthenticated;
    return CLI_EXIT_OK;
}

void
cli_keys_clear(struct cli_keys *k)
{
    for (size_t i = 0; i < CLI_KEYS_MAX; i++) {
        if (k->owned[i]) {
            explicit_bzero(k->owned[i], strlen(k->owned[i]));
            free(k->owned[i]);
            k->owned[i] = NULL;
            close(k->fds[i]); /* unread password: gone with the pipe */
        }
    }
    k->n_keys = 0;
    wipe_str(&env_password);
}

void
cli_keys_usage(FILE *out, const char *purpose)
{
    fprintf(out,
            "\nKey options (%s):\n"
            "  -k, --key K, --decryption-key K\n"
            "                            private key (PEM/DER PKCS#1, PKCS#8, encrypted\n"
            "                            PKCS#8, legacy encrypted PEM, SEC1 EC, JWK), X.509\n"
            "                            certificate (PKCS7) or OpenPGP secret keyring:\n"
            "                            FILE, FILE:PASSWORD, FILE:pass=PASSWORD,\n"
            "                            FILE:file=PWFILE, FILE:fd=N; or provider:NAME[:PARAMS]\n"
            "                            (a key provider of $OCICRYPT_KEYPROVIDER_CONFIG,\n"
            "                            PARAMS for it only); repeatable\n"
            "      --dec-recipient pkcs7:CERT\n"
            "                            certificate of a PKCS7 private key; repeatable\n"
            "      --gpg-homedir DIR     unwrap pgp-wrapped keys with this GnuPG home's\n"
            "                            secret keys (also the keyring of pgp: recipients)\n"
            "      --gpg                 the same with GnuPG's default home\n"
            "      --pkcs7-allow-unauthenticated\n"
            "                            also unwrap PKCS7 keys with unauthenticated\n"
            "                            content encryption (AES-CBC, 3DES; refused by\n"
            "                            default: a padding oracle on tampered images)\n"
            "Environment: $" PASSWORD_ENV " is the password of every --key FILE given\n"
            "without one (it stays off the command line; children never see it).\n",
            purpose);
}
