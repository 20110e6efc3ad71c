/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KEYPROVIDER_TSM_H
#define COCOIMG_KEYPROVIDER_TSM_H

/*
 * configfs-tsm (Linux >= 6.7, Documentation/ABI/testing/configfs-tsm): the
 * kernel's TEE-neutral report interface under /sys/kernel/config/tsm/report.
 * One report is one fresh directory entry: mkdir, check `provider`, write
 * `inblob`, read `outblob` (and `auxblob`), check `generation`, rmdir.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attester.h"

#define COCOIMG__TSM_REPORT_DIR "/sys/kernel/config/tsm/report"

struct cocoimg__tsm_report {
    uint8_t *outblob;
    size_t outlen;
    uint8_t *auxblob; /* NULL when not asked for or empty */
    size_t auxlen;
};

void cocoimg__tsm_report_clear(struct cocoimg__tsm_report *r);

/*
 * 1 and the provider's name (e.g. "tdx_guest", without the newline) in
 * @p provider when configfs-tsm is there, 0 when it is not, < 0 on error.
 * Probing creates and removes one entry.
 */
int cocoimg__tsm_provider(char *provider, size_t size, const struct cocoimg__attester_env *env,
                          cocoimg_error **err);

/*
 * A report over the 64-byte @p inblob from a fresh entry whose provider is
 * @p provider.  Another writer on the same entry (generation moved by more
 * than our write) is retried with a new entry a few times, then an error.
 * The entry is removed on every path.
 */
int cocoimg__tsm_report(struct cocoimg__tsm_report *out, const struct cocoimg__attester_env *env,
                        const char *provider, const uint8_t inblob[64], bool want_aux,
                        cocoimg_error **err);

/* root + path, for attesters that read other files of the tree. */
int cocoimg__attester_path(char *buf, size_t size, const struct cocoimg__attester_env *env,
                           const char *path);

#endif
