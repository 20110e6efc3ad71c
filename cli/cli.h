/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CLI_H
#define COCOIMG_CLI_H

#include <cocoimg/cocoimg.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/*
 * Exit codes of coco-img (documented in --help and README):
 *   0 success
 *   1 the operation failed
 *   2 usage error (bad option or argument)
 *   3 verification failed: digest, HMAC/tag, signature, policy, no usable key
 *   4 not found: image, ref, blob
 */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_VERIFY = 3,
    CLI_EXIT_NOTFOUND = 4,
};

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    void (*usage)(FILE *out);
};

/* The one place that prints a library error; returns the exit code. */
int cli_error(cocoimg_error *err);
/* Print "coco-img: MSG" to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A context with logging to stderr according to COCOIMG_DEBUG / --debug. */
cocoimg_context *cli_context(void);

extern bool cli_debug;

/*
 * Registry flags (registry_opts.c), shared by every command that takes
 * images.  A command adds CLI_REGISTRY_LONGOPTS (and, where source and
 * destination may differ, CLI_REGISTRY_SD_LONGOPTS) to its getopt table,
 * hands every option to cli_registry_parse(), and applies the result to
 * its context with cli_registry_apply().
 */
enum {
    CLI_OPT_CREDS = 0x2000,
    CLI_OPT_AUTHFILE,
    CLI_OPT_CERT_DIR,
    CLI_OPT_TLS_VERIFY,
    CLI_OPT_SRC_CREDS,
    CLI_OPT_SRC_AUTHFILE,
    CLI_OPT_SRC_CERT_DIR,
    CLI_OPT_SRC_TLS_VERIFY,
    CLI_OPT_DEST_CREDS,
    CLI_OPT_DEST_AUTHFILE,
    CLI_OPT_DEST_CERT_DIR,
    CLI_OPT_DEST_TLS_VERIFY,
    CLI_OPT_REGISTRIES_CONF,
};

#define CLI_REGISTRY_LONGOPTS                                                                      \
    {"creds", required_argument, NULL, CLI_OPT_CREDS},                                             \
        {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},                                   \
        {"cert-dir", required_argument, NULL, CLI_OPT_CERT_DIR},                                   \
        {"registries-conf", required_argument, NULL, CLI_OPT_REGISTRIES_CONF},                     \
    {                                                                                              \
        "tls-verify", optional_argument, NULL, CLI_OPT_TLS_VERIFY                                  \
    }

#define CLI_REGISTRY_SD_LONGOPTS                                                                   \
    {"src-creds", required_argument, NULL, CLI_OPT_SRC_CREDS},                                     \
        {"src-authfile", required_argument, NULL, CLI_OPT_SRC_AUTHFILE},                           \
        {"src-cert-dir", required_argument, NULL, CLI_OPT_SRC_CERT_DIR},                           \
        {"src-tls-verify", optional_argument, NULL, CLI_OPT_SRC_TLS_VERIFY},                       \
        {"dest-creds", required_argument, NULL, CLI_OPT_DEST_CREDS},                               \
        {"dest-authfile", required_argument, NULL, CLI_OPT_DEST_AUTHFILE},                         \
        {"dest-cert-dir", required_argument, NULL, CLI_OPT_DEST_CERT_DIR},                         \
    {                                                                                              \
        "dest-tls-verify", optional_argument, NULL, CLI_OPT_DEST_TLS_VERIFY                        \
    }

/* Per side: [0] every registry, [1] source, [2] destination. */
struct cli_registry {
    const char *creds[3];
    const char *authfile[3];
    const char *cert_dir[3];
    int tls_verify[3];           /* -1: not given */
    const char *registries_conf; /* --registries-conf, else $CONTAINERS_REGISTRIES_CONF */
};

#define CLI_REGISTRY_INIT                                                                          \
    {                                                                                              \
        .tls_verify = { -1, -1, -1 }                                                               \
    }

/*
 * Handle getopt result @p c with argument @p arg: 1 when it was a registry
 * flag, 0 when not, CLI_EXIT_USAGE (message printed) when its value is bad.
 */
int cli_registry_parse(struct cli_registry *r, const char *cmd, int c, const char *arg);
/*
 * Set the registry settings of @p ctx from @p r.  A --creds USER without a
 * password takes it from $COCOIMG_REGISTRY_PASSWORD (never from the
 * terminal).  registries.conf: --registries-conf FILE, else
 * $CONTAINERS_REGISTRIES_CONF, else the containers defaults.  Returns CLI_EXIT_OK or an exit code
 * (message printed).
 */
int cli_registry_apply(const struct cli_registry *r, const char *cmd, cocoimg_context *ctx);
/* Help lines for the flags; @p src_dest adds the --src-/--dest- forms. */
void cli_registry_usage(FILE *out, bool src_dest);

/*
 * Progress and --json (progress.c), for the commands that move images
 * (copy, encrypt, decrypt, pull, unpack).  A command adds
 * CLI_PROGRESS_LONGOPTS (and sets json_ok to take --json), hands options to
 * cli_progress_parse(), calls cli_progress_start() before the operation and
 * cli_progress_end() after it, and cli_progress_clear() at the end.
 */
enum {
    CLI_OPT_QUIET = 0x2600,
    CLI_OPT_PROGRESS,
    CLI_OPT_JSON,
};
enum { CLI_PROGRESS_AUTO = 0, CLI_PROGRESS_NONE, CLI_PROGRESS_PLAIN, CLI_PROGRESS_TTY };

#define CLI_PROGRESS_LONGOPTS                                                                      \
    {"quiet", no_argument, NULL, CLI_OPT_QUIET},                                                   \
        {"progress", required_argument, NULL, CLI_OPT_PROGRESS},                                   \
    {                                                                                              \
        "json", no_argument, NULL, CLI_OPT_JSON                                                    \
    }

struct layer;
struct cli_progress {
    int mode;
    bool json_ok, json;
    const char *cmd;
    /* drawing */
    char op[16];
    struct layer *layers;
    size_t n_layers, count;
    unsigned int lines;
    double start, last_draw;
    /* the summary */
    char *manifest, *platform, *policy;
    size_t images, layers_done;
    uint64_t bytes;
    double seconds;
};

/* Errors go out as {"error":{"code","message"}} (set by --json). */
extern bool cli_json_errors;

int cli_progress_parse(struct cli_progress *p, const char *cmd, int c, const char *arg);
void cli_progress_start(struct cli_progress *p, cocoimg_context *ctx);
void cli_progress_end(struct cli_progress *p);
/* The --json summary on stdout. */
int cli_progress_summary(const struct cli_progress *p, const char *bundle);
void cli_progress_clear(struct cli_progress *p);
void cli_progress_usage(FILE *out, bool json);

/*
 * Key flags (key_opts.c), shared by every command that takes keys
 * (decrypt, encrypt, pull, unpack).  A command adds CLI_KEY_LONGOPTS to its
 * getopt table and CLI_KEY_SHORTOPTS to its short options, hands every
 * option to cli_keys_parse(), fills its crypt options with cli_keys_apply()
 * and wipes with cli_keys_clear().  A command that takes no keys lists the
 * flags too and refuses them with cli_keys_refuse(), so the user learns why.
 */
enum {
    CLI_OPT_KEY = 'k',
    CLI_OPT_DEC_RECIPIENT = 0x2100,
    CLI_OPT_GPG_HOMEDIR,
    CLI_OPT_GPG,
    CLI_OPT_PKCS7_ALLOW_UNAUTH, /* keep last: key flags are the range KEY, DEC_RECIPIENT.. */
};

#define CLI_KEY_SHORTOPTS "k:"
#define CLI_KEY_LONGOPTS                                                                           \
    {"key", required_argument, NULL, CLI_OPT_KEY},                                                 \
        {"decryption-key", required_argument, NULL, CLI_OPT_KEY},                                  \
        {"dec-recipient", required_argument, NULL, CLI_OPT_DEC_RECIPIENT},                         \
        {"gpg-homedir", required_argument, NULL, CLI_OPT_GPG_HOMEDIR},                             \
        {"gpg", no_argument, NULL, CLI_OPT_GPG},                                                   \
    {                                                                                              \
        "pkcs7-allow-unauthenticated", no_argument, NULL, CLI_OPT_PKCS7_ALLOW_UNAUTH               \
    }

#define CLI_KEYS_MAX 64

struct cli_keys {
    const char *keys[CLI_KEYS_MAX];
    size_t n_keys;
    char *owned[CLI_KEYS_MAX]; /* "FILE:fd=N" for keys taking $COCOIMG_KEY_PASSWORD */
    int fds[CLI_KEYS_MAX];     /* read ends of those password pipes, -1: none */
    const char *dec_recipients[CLI_KEYS_MAX];
    size_t n_dec_recipients;
    const char *gpg_homedir;
    bool gpg;
    bool pkcs7_allow_unauthenticated;
};

#define CLI_KEYS_INIT                                                                              \
    {                                                                                              \
        .n_keys = 0                                                                                \
    }

/*
 * Once, first thing in main(): take $COCOIMG_KEY_PASSWORD and
 * $COCOIMG_REGISTRY_PASSWORD into private memory, overwrite the environment
 * strings and unsetenv() them, so neither /proc/PID/environ nor any child
 * (gpg, gpg-agent) sees them.
 */
void cli_keys_take_env(void);
/* $COCOIMG_REGISTRY_PASSWORD as cli_keys_take_env() found it, NULL when unset. */
const char *cli_env_registry_password(void);
/*
 * Handle getopt result @p c with argument @p arg: 1 when it was a key flag,
 * 0 when not, CLI_EXIT_USAGE (message printed) when its value is bad.
 */
int cli_keys_parse(struct cli_keys *k, const char *cmd, int c, const char *arg);
/*
 * For a command without keys: CLI_EXIT_USAGE with a message naming the flag
 * (@p flag as the user spelled it) when @p c is a key flag, else 0.
 */
int cli_keys_refuse(const char *cmd, int c, const char *flag);
/*
 * Fill the key fields of @p o from @p k.  A --key FILE without a password
 * gets $COCOIMG_KEY_PASSWORD through a pipe ("FILE:fd=N"), never on a
 * string an error message could quote.  Returns CLI_EXIT_OK or an exit
 * code (message printed).
 */
int cli_keys_apply(struct cli_keys *k, const char *cmd, cocoimg_crypt_options *o);
/* Wipe and free what cli_keys_apply() made, close its pipes. */
void cli_keys_clear(struct cli_keys *k);
/* True when some key or GnuPG home was given. */
bool cli_keys_any(const struct cli_keys *k);
/* Help lines for the flags; @p purpose says what the keys are for. */
void cli_keys_usage(FILE *out, const char *purpose);
/*
 * Signature policy flags (policy_opts.c): verify, copy, encrypt, decrypt,
 * pull and unpack.  The policy is always enforced unless --insecure-policy
 * is given (not for verify); no policy file anywhere is an error.
 */
enum {
    CLI_OPT_POLICY = 0x2200,
    CLI_OPT_REGISTRIES_D,
    CLI_OPT_INSECURE_POLICY,
};

#define CLI_POLICY_LONGOPTS                                                                        \
    {"policy", required_argument, NULL, CLI_OPT_POLICY},                                           \
        {"registries.d", required_argument, NULL, CLI_OPT_REGISTRIES_D},                           \
    {                                                                                              \
        "insecure-policy", no_argument, NULL, CLI_OPT_INSECURE_POLICY                              \
    }

struct cli_policy {
    const char *policy;
    const char *registries_d;
    bool insecure;
    bool allow_insecure; /* the command accepts --insecure-policy */
};

#define CLI_POLICY_INIT                                                                            \
    {                                                                                              \
        .allow_insecure = true                                                                     \
    }

/* 1 when @p c was a policy flag, 0 when not, CLI_EXIT_USAGE when bad. */
int cli_policy_parse(struct cli_policy *p, const char *cmd, int c, const char *arg);
/* Load the policy into @p ctx (unless --insecure-policy); an exit code. */
int cli_policy_apply(const struct cli_policy *p, const char *cmd, cocoimg_context *ctx);
void cli_policy_usage(FILE *out, bool insecure);
/* --registries.d, else ~/.config/containers/registries.d if it exists, else
 * /etc/containers/registries.d */
const char *cli_policy_registries_d(const struct cli_policy *p);
/*
 * Read a passphrase file (first line, without its newline) into wiped
 * memory; NULL (message printed) on failure.  Free with cli_secret_free().
 */
char *cli_read_passphrase_file(const char *cmd, const char *path);
void cli_secret_free(char *s);
/*
 * The passphrase of a sigstore private key: the first line of @p passfile,
 * else $COSIGN_PASSWORD, else asked on the terminal (twice with
 * @p confirm).  NULL on failure (message printed) or, with *refused set
 * and nothing printed, when there is no terminal to ask on.
 */
char *cli_sigstore_passphrase(const char *cmd, const char *passfile, bool confirm, bool *refused);

/*
 * Key release through a KBS (kbs_opts.c): pull, unpack and decrypt unwrap
 * attestation-agent layer keys with --kbs-url (the KEK fetched after
 * attestation); encrypt wraps provider:attestation-agent recipients
 * natively.
 */
enum {
    CLI_OPT_KBS_URL = 0x2500,
    CLI_OPT_KBS_CERT,
    CLI_OPT_KBS_ATTESTER,
    CLI_OPT_KBS_PROTOCOL,
    CLI_OPT_KBS_INSECURE_HTTP,
    CLI_OPT_KBS_INIT_DATA,
};

#define CLI_KBS_LONGOPTS                                                                           \
    {"kbs-url", required_argument, NULL, CLI_OPT_KBS_URL},                                         \
        {"kbs-cert", required_argument, NULL, CLI_OPT_KBS_CERT},                                   \
        {"attester", required_argument, NULL, CLI_OPT_KBS_ATTESTER},                               \
        {"kbs-protocol-version", required_argument, NULL, CLI_OPT_KBS_PROTOCOL},                   \
        {"kbs-insecure-http", no_argument, NULL, CLI_OPT_KBS_INSECURE_HTTP},                       \
    {                                                                                              \
        "init-data", required_argument, NULL, CLI_OPT_KBS_INIT_DATA                                \
    }

struct cli_kbs {
    cocoimg_kbs_options o;
    bool any; /* a KBS flag was given */
    cocoimg_kbs *kbs;
    cocoimg_keyprovider native;          /* attestation-agent, in process */
    cocoimg_kp_client *client;           /* native + $OCICRYPT_KEYPROVIDER_CONFIG */
    cocoimg_keyprovider kp;              /* what the crypt options get */
    const char *file_keys[CLI_KEYS_MAX]; /* --key values that are not provider:... */
    const char *dparams[CLI_KEYS_MAX];   /* provider:NAME[:PARAMS] keys, without "provider:" */
    size_t n_dparams;
};

void cli_kbs_init(struct cli_kbs *k);
/* 1 when @p c was a KBS flag, 0 when not, CLI_EXIT_USAGE when bad. */
int cli_kbs_parse(struct cli_kbs *k, const char *cmd, int c, const char *arg);
/*
 * The key providers of @p o: the ocicrypt keyprovider client for the
 * providers of $OCICRYPT_KEYPROVIDER_CONFIG, and the native
 * attestation-agent provider: decrypt side with --kbs-url (a KBS client for
 * @p ctx; it then serves attestation-agent even if the file names it),
 * encrypt side (@p encrypt) when a recipient is provider:attestation-agent
 * and the file does not name it.  --key provider:NAME[:PARAMS] values are
 * taken out of o->keys and go to provider NAME only.  Call after
 * cli_keys_apply().  Returns an exit code (message printed).
 */
int cli_kbs_apply(struct cli_kbs *k, const char *cmd, cocoimg_context *ctx,
                  cocoimg_crypt_options *o, bool encrypt);
void cli_kbs_clear(struct cli_kbs *k);
/* The one stderr line naming the auto-detected attester and why. */
void cli_kbs_attester_line(const cocoimg_kbs *kbs, const cocoimg_kbs_options *o);
void cli_kbs_usage(FILE *out);

/* The flag as the user spelled it, for messages: "--NAME" or "-C". */
const char *cli_flag_name(const struct option *opts, int longindex, int c, char buf[static 32]);

#endif
