/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CONTEXT_H
#define COCOIMG_CONTEXT_H

/*
 * The context carries process-wide settings (logging, temporary directory,
 * flags, registry credentials and TLS settings).  The library does not
 * read these from the environment: a program that wants $TMPDIR or
 * $COCOIMG_NO_ISAL honoured passes them in (the coco-img CLI does).  Only
 * the containers configuration locations are looked up the containers way
 * ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR, $HOME: see
 * cocoimg_registry_options), and, for now, the temporary GnuPG home made
 * for an OpenPGP keyring given as a key still goes under $TMPDIR (/tmp).
 * Configure a context before its first operation; from then on it is only
 * read, and may be shared by operations running at once in several
 * threads (its log callback is then called from all of them).
 */

#include <stddef.h>
#include <stdint.h>

#include <cocoimg/common.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

typedef struct cocoimg_context cocoimg_context;

typedef enum {
    COCOIMG_LOG_ERROR = 0,
    COCOIMG_LOG_WARNING = 1,
    COCOIMG_LOG_INFO = 2,
    COCOIMG_LOG_DEBUG = 3,
} cocoimg_log_level;

/** Log callback: @p msg is one line without newline, never a secret. */
typedef void (*cocoimg_log_cb)(cocoimg_log_level level, const char *msg, void *payload);

/** Create a context; free with cocoimg_context_free(). */
COCOIMG_EXTERN(int) cocoimg_context_new(cocoimg_context **out, cocoimg_error **err);
/** Free @p ctx; NULL is allowed. */
COCOIMG_EXTERN(void) cocoimg_context_free(cocoimg_context *ctx);
/** Install a log callback (default: silent) for messages up to @p max_level. */
COCOIMG_EXTERN(void)
cocoimg_context_set_log(cocoimg_context *ctx, cocoimg_log_level max_level, cocoimg_log_cb cb,
                        void *payload);
/**
 * Directory for temporary files (unpacked oci-archive: sources, archives
 * being written); default /var/tmp, whatever $TMPDIR says.  Copied; NULL
 * restores the default.
 * @return 0, COCOIMG_EINVAL for an empty @p dir, or COCOIMG_ENOMEM.
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_tmpdir(cocoimg_context *ctx, const char *dir, cocoimg_error **err);

/** Flags of cocoimg_context_set_flags(). */
typedef enum {
    /**
     * Inflate gzip layers with zlib even when the library was built with
     * ISA-L (the coco-img CLI sets it when $COCOIMG_NO_ISAL is set).
     */
    COCOIMG_CONTEXT_NO_ISAL = 1u << 0,
} cocoimg_context_flag;

/**
 * Replace the flags of @p ctx with @p flags, a mask of cocoimg_context_flag
 * (default 0).
 * @return 0, or COCOIMG_EINVAL for an unknown flag (nothing changed).
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_flags(cocoimg_context *ctx, unsigned int flags, cocoimg_error **err);

/**
 * Which side of an operation registry settings apply to: the source image,
 * the destination image, or both (a bit mask).
 */
typedef enum {
    COCOIMG_SIDE_SRC = 1u << 0,
    COCOIMG_SIDE_DST = 1u << 1,
} cocoimg_side;

#define COCOIMG_REGISTRY_OPTIONS_VERSION 2

/**
 * Settings for the registries of a docker:// reference (skopeo's --creds,
 * --authfile, --cert-dir and --tls-verify).  Every pointer may be NULL,
 * and a zeroed struct with only @p version set is the safe default (TLS
 * verified).
 *
 *   cocoimg_registry_options ro = COCOIMG_REGISTRY_OPTIONS_INIT;
 *   ro.username = "alice"; ro.password = pw; ro.insecure = 1;
 *   cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC | COCOIMG_SIDE_DST, &ro, &err);
 */
typedef struct cocoimg_registry_options {
    unsigned int version; /**< COCOIMG_REGISTRY_OPTIONS_VERSION */
    /**
     * Explicit credentials.  NULL username: look in @p authfile, or when
     * that is NULL in $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/
     * auth.json, ~/.config/containers/auth.json, ~/.docker/config.json.
     */
    const char *username;
    const char *password;
    const char *authfile;
    /**
     * Directory with .crt files (CAs) and a .cert + .key pair (client certificate);
     * NULL: the certs.d directories of the host ($HOME/.config/containers/
     * certs.d/HOST, /etc/containers/certs.d/HOST, /etc/docker/certs.d/HOST).
     */
    const char *cert_dir;
    /**
     * 0 (default): verify TLS, https only; non-zero: no TLS verification
     * and plain HTTP allowed (--tls-verify=false).
     *
     * Version 1 of this struct had `int tls_verify` here (1: verify, 0:
     * not) with 1 as the default.  A struct whose @p version is 1 keeps that
     * meaning: the library reads this field as tls_verify and sets
     * insecure = !tls_verify, so old binaries behave as before.  Source that
     * used tls_verify no longer compiles: write insecure = !tls_verify.
     */
    int insecure;
    /* --- version 2 --- */
    /**
     * Seconds without any byte from a registry (a stalled answer, headers
     * sent and then nothing) before the transfer is given up: a blob
     * download is then resumed with a Range request, a few times at most,
     * other requests are retried; then the operation fails with
     * COCOIMG_ENET.  0: the default, 30 s.
     */
    unsigned int stall_timeout;
} cocoimg_registry_options;

#define COCOIMG_REGISTRY_OPTIONS_INIT                                                              \
    {                                                                                              \
        COCOIMG_REGISTRY_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0                             \
    }

/**
 * Initialise @p opts to the defaults of @p version (1 up to
 * COCOIMG_REGISTRY_OPTIONS_VERSION): for version 1 the last field is
 * tls_verify and is set to 1, for version 2 insecure is set to 0.
 * @return 0, or COCOIMG_EINVAL for an unknown version.
 */
COCOIMG_EXTERN(int)
cocoimg_registry_options_init(cocoimg_registry_options *opts, unsigned int version);

/**
 * Use @p opts for the registries of the sides in @p sides (a mask of
 * cocoimg_side) of every later operation of @p ctx: copy, inspect,
 * encrypt, decrypt, layerinfo.  The strings are copied (the password is
 * wiped when replaced or when the context is freed).  @p opts NULL resets
 * the sides to the defaults.
 * @return 0, COCOIMG_EINVAL (no side, unknown version, empty user name),
 *         COCOIMG_ENOMEM.
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_registry(cocoimg_context *ctx, unsigned int sides,
                             const cocoimg_registry_options *opts, cocoimg_error **err);

/** cocoimg_context_set_registries_conf() flag: use no registries.conf at all. */
#define COCOIMG_REGISTRIES_CONF_NONE 0x1u

/**
 * Read containers-registries.conf(5) (version 2) for every later operation
 * of @p ctx: [[registry]] prefixes with their location rewrite, insecure,
 * blocked and mirrors ([[registry.mirror]], pull-from-mirror,
 * mirror-by-digest-only: tried in order, then the registry), short names
 * ([aliases], unqualified-search-registries, short-name-mode).  @p path:
 * that file alone (it must exist; kbs:// URIs are read through the
 * context's KBS); NULL: the containers defaults,
 * ~/.config/containers/registries.conf if it exists else
 * /etc/containers/registries.conf (either may be missing), then the
 * drop-ins of /etc/containers/registries.conf.d and
 * ~/.config/containers/registries.conf.d (*.conf, in lexical order; a later
 * file redefines a prefix and replaces the settings it sets).  Without a
 * call, no registries.conf is used.  The signature policy always sees the
 * reference the user wrote (a short name: the name it resolved to), never
 * the mirror that served it.
 * @return 0, COCOIMG_EFORMAT (invalid file, with file, line and field),
 *         COCOIMG_ENOTSUP (version 1 format), COCOIMG_ENOTFOUND, COCOIMG_EIO.
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_registries_conf(cocoimg_context *ctx, const char *path, unsigned int flags,
                                    cocoimg_error **err);

/** What a cocoimg_progress_event reports. */
typedef enum cocoimg_progress_kind {
    /** An image starts: @c digest its manifest, @c platform, @c count its layers. */
    COCOIMG_PROGRESS_IMAGE = 1,
    /** Layer @c index of @c count starts: @c digest, @c total its blob size (-1: unknown). */
    COCOIMG_PROGRESS_LAYER_START,
    /** Layer @c index: @c done bytes of its blob read so far. */
    COCOIMG_PROGRESS_LAYER_DATA,
    /** Layer @c index is complete (@c done bytes). */
    COCOIMG_PROGRESS_LAYER_DONE,
    /** Layer @c index needs no transfer (the destination has it, or it is mounted). */
    COCOIMG_PROGRESS_LAYER_SKIPPED,
    /** The signature policy accepted the image: @c message says by what. */
    COCOIMG_PROGRESS_POLICY,
} cocoimg_progress_kind;

#define COCOIMG_PROGRESS_EVENT_VERSION 1

/**
 * One progress event.  Fields may be added at the end in later versions
 * (@c version says which are there); strings are borrowed for the call.
 */
typedef struct cocoimg_progress_event {
    unsigned int version; /**< COCOIMG_PROGRESS_EVENT_VERSION */
    cocoimg_progress_kind kind;
    const char *operation; /**< "copy", "encrypt", "decrypt" or "unpack"; NULL for POLICY */
    const char *digest;    /**< the layer blob's digest (the manifest's for IMAGE, POLICY) */
    const char *platform;  /**< IMAGE: "os/arch[/variant]", or NULL */
    const char *message;   /**< POLICY: the accepting requirements; else NULL */
    size_t index;          /**< the layer, 0 at the bottom */
    size_t count;          /**< layers of the image */
    uint64_t done;         /**< bytes of the source blob read */
    int64_t total;         /**< the blob's size, -1 when unknown */
} cocoimg_progress_event;

/**
 * Progress callback: called on the thread that called the operation
 * (never on a library thread), never concurrently.  copy, encrypt and
 * decrypt move several layers at once, so their events interleave (each
 * names its layer's index); unpack applies layers in order.  Return 0 to go on; anything else
 * cancels the operation, which then fails with COCOIMG_EUSER and leaves nothing behind.
 */
typedef int (*cocoimg_progress_cb)(const cocoimg_progress_event *ev, void *payload);

/**
 * Report the progress of every later copy, encrypt, decrypt and unpack of
 * @p ctx to @p cb (NULL: none).  The callback of cocoimg_unpack_options is
 * called as before, in addition.
 */
COCOIMG_EXTERN(void)
cocoimg_context_set_progress(cocoimg_context *ctx, cocoimg_progress_cb cb, void *payload);

COCOIMG_END_DECL

#endif
