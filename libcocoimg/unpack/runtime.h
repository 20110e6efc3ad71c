/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UNPACK_RUNTIME_H
#define COCOIMG_UNPACK_RUNTIME_H

/*
 * An OCI runtime-spec 1.0.2 config.json for a bundle, generated from the
 * image config the way `umoci unpack` does (runtime-tools defaults plus the
 * image-spec "conversion" rules): process.args = Entrypoint + Cmd, Env
 * (default PATH when none), cwd = WorkingDir or "/", user resolved against
 * the rootfs' /etc/passwd and /etc/group (opened inside the rootfs, only
 * when they are regular files, never blocking, bounded), terminal false, root.path "rootfs",
 * default mounts, namespaces and capabilities, annotations from the labels and the
 * org.opencontainers.image.* conversion keys.
 */

#include <jansson.h>

#include "oci/model.h"
#include "util/context.h"

/* Largest /etc/passwd or /etc/group read. */
#define COCOIMG_RUNTIME_MAX_DB (4u * 1024 * 1024)

/*
 * Build the config; @p rootfd is the applied rootfs (for user names).
 * Fails with COCOIMG_EFORMAT for a malformed image config member, a user
 * or group name that the rootfs does not define, or an /etc/passwd or
 * /etc/group that is not a regular file (a fifo, a device, a directory);
 * COCOIMG_ELIMIT when one is larger than COCOIMG_RUNTIME_MAX_DB.
 */
int cocoimg__runtime_config(json_t **out, const cocoimg__config *cfg, int rootfd,
                            cocoimg_error **err);

#endif
