/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_CONTEXT_H
#define COCOIMG_UTIL_CONTEXT_H

/*
 * The context: logging, the temporary directory and flags, plus one slot
 * per area that keeps settings of its own in it (the registry settings of
 * registry/settings.c).  util/ only stores a slot and frees it with the
 * context; what is in it belongs to its area.  The library never reads the
 * environment for these: the program does (cli/main.c) and sets them.
 */

#include <cocoimg/context.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum {
    COCOIMG__CONTEXT_SLOT_REGISTRY = 0, /* struct cocoimg__registry_settings[2] */
    COCOIMG__CONTEXT_SLOT_POLICY,       /* struct cocoimg__sigcheck (signatures/check.c) */
    COCOIMG__CONTEXT_SLOT_FETCH,        /* struct cocoimg__fetcher (keyprovider/kbs.c) */
    COCOIMG__CONTEXT_SLOT_REGCONF,      /* struct cocoimg__regconf (registry/regconf.c) */
    COCOIMG__CONTEXT_N_SLOTS,
} cocoimg__context_slot_id;

struct cocoimg__context_slot {
    void *data;
    void (*free)(void *data);
};

struct cocoimg_context {
    cocoimg_log_level log_level;
    cocoimg_log_cb log_cb;
    void *log_payload;
    char *tmpdir;       /* NULL: COCOIMG__DEFAULT_TMPDIR */
    unsigned int flags; /* cocoimg_context_flag */
    cocoimg_progress_cb progress_cb;
    void *progress_payload;
    struct cocoimg__context_slot slots[COCOIMG__CONTEXT_N_SLOTS];
};

/* Temporary files go here unless cocoimg_context_set_tmpdir() says otherwise. */
#define COCOIMG__DEFAULT_TMPDIR "/var/tmp"

/* Log through the context's callback; ctx may be NULL (silent). */
void cocoimg__log(const cocoimg_context *ctx, cocoimg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Report @p ev (version filled in here) to the context's progress
 * callback; 0, or COCOIMG_EUSER (error set) when the callback cancels.
 * ctx may be NULL.  Only from the operation's calling thread.
 */
int cocoimg__progress(const cocoimg_context *ctx, cocoimg_progress_event *ev, cocoimg_error **err);
/* Whether @p ctx has a progress callback. */
bool cocoimg__progress_wanted(const cocoimg_context *ctx);

/* The temporary directory of @p ctx (never NULL; ctx may be NULL). */
const char *cocoimg__context_tmpdir(const cocoimg_context *ctx);

/* The cocoimg_context_flag mask of @p ctx (0 for NULL). */
unsigned int cocoimg__context_flags(const cocoimg_context *ctx);

/* The data of slot @p id, NULL when unset (or ctx NULL). */
void *cocoimg__context_slot(const cocoimg_context *ctx, cocoimg__context_slot_id id);
/* Put @p data (freed by @p free_fn with the context) into slot @p id, freeing what was there. */
void cocoimg__context_slot_set(cocoimg_context *ctx, cocoimg__context_slot_id id, void *data,
                               void (*free_fn)(void *data));

/*
 * Where kbs:// paths come from: configuration given as a KBS resource
 * (--policy kbs:///..., --authfile kbs:///..., keys in a policy), as CoCo's
 * guest components take it.  Installed by cocoimg_context_set_kbs().
 */
struct cocoimg__fetcher {
    int (*fetch)(void *payload, const char *uri, uint8_t **out, size_t *len, cocoimg_error **err);
    void *payload;
};

/* @p path is a kbs:// or kbs+PLUGIN:// URI */
bool cocoimg__is_kbs_uri(const char *path);

/*
 * A whole file of at most @p max bytes (cocoimg__read_file() relative to
 * the working directory), or for a kbs:// URI the resource, fetched through
 * the context's fetcher (serialised: one fetch at a time); a kbs:// URI
 * without one is COCOIMG_EINVAL.  The buffer has a NUL after the last byte;
 * wipe it before free() when the content is secret.
 */
int cocoimg__context_read(const cocoimg_context *ctx, const char *path, uint8_t **out, size_t *len,
                          size_t max, cocoimg_error **err);

#endif
