/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KEYPROVIDER_ATTESTER_H
#define COCOIMG_KEYPROVIDER_ATTESTER_H

/*
 * Attesters: where the evidence of an attestation comes from (spec 2).  One
 * small vtable per TEE, listed in attester.c's table in auto-detection
 * order.  A new attester (tdx.c, snp.c with configfs-tsm) defines a
 * `const cocoimg__attester` and adds it to that table; nothing else in the
 * KBS client changes.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/context.h"
#include "util/error.h"

/* What an attester may look at. */
struct cocoimg__attester_env {
    const cocoimg_context *ctx; /* log; may be NULL */
    /* prefix of /sys and /dev ("" normally; a fake tree in tests) */
    const char *root;
};

/*
 * What the hardware report says besides the evidence, for checks made
 * before the evidence is sent (init-data, spec 1.13).
 */
struct cocoimg__attester_claims {
    /* the launch-time init-data binding (TDX MRCONFIGID, SNP HOST_DATA) */
    const char *init_data_field; /* NULL: this TEE reports none (sample) */
    uint8_t init_data[64];
    size_t init_data_len;
};

typedef struct cocoimg__attester {
    const char *name; /* --attester NAME */
    const char *tee;  /* the Request's "tee" (kbs-types Tee, spec 1.10) */
    /*
     * Chosen by "auto" only when no other attester detects its TEE (the
     * choice is then logged as a warning).
     */
    bool fallback;
    /*
     * 1 when this machine has the TEE, 0 when not (*why: a static phrase
     * for the log, e.g. "no /sys/kernel/config/tsm/report"), < 0 on error.
     * NULL: never detected (fallback attesters).
     */
    int (*detect)(const struct cocoimg__attester_env *env, const char **why, cocoimg_error **err);
    /*
     * The primary evidence JSON (spec 2) over @p report_data, the
     * @p len-byte digest H(JCS(runtime data)) (32..64 bytes).  Hardware
     * attesters zero-pad it to their REPORTDATA size themselves; the sample
     * attester uses it as is.
     */
    int (*evidence)(json_t **out, struct cocoimg__attester_claims *claims,
                    const struct cocoimg__attester_env *env, const uint8_t *report_data, size_t len,
                    cocoimg_error **err);
} cocoimg__attester;

extern const cocoimg__attester cocoimg__attester_sample;
extern const cocoimg__attester cocoimg__attester_tdx;
extern const cocoimg__attester cocoimg__attester_snp;

/*
 * The checks and renderings of a hardware report, apart from how it was
 * obtained (for the attesters and the fuzz target): a TDX quote whose
 * REPORTDATA must be @p rd (its MRCONFIGID copied out), and an SNP report
 * (+ GHCB certificate table) whose REPORT_DATA must be @p rd, as evidence.
 */
int cocoimg__tdx_quote_check(const uint8_t *quote, size_t len, const uint8_t rd[64],
                             uint8_t mrconfigid[48], cocoimg_error **err);
int cocoimg__snp_evidence_json(json_t **out, const uint8_t *report, size_t len, const uint8_t *aux,
                               size_t aux_len, const uint8_t rd[64], cocoimg_error **err);

/* report_data zero-padded (or truncated) to a 64-byte REPORTDATA field */
void cocoimg__attester_pad64(uint8_t out[64], const uint8_t *report_data, size_t len);

/* 1 if root + @p path exists (any type), 0 if not */
int cocoimg__attester_exists(const struct cocoimg__attester_env *env, const char *path);

/*
 * The attester called @p name, or for NULL / "auto" the first of the table
 * that detects its TEE (falling back to a fallback attester, with a
 * warning on @p env->ctx).  *why: a static phrase saying why it was
 * chosen.  COCOIMG_EINVAL for an unknown name.
 */
int cocoimg__attester_select(const cocoimg__attester **out, const char **why, const char *name,
                             const struct cocoimg__attester_env *env, cocoimg_error **err);

#endif
