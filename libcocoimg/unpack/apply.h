/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UNPACK_APPLY_H
#define COCOIMG_UNPACK_APPLY_H

/*
 * Apply one OCI layer (an uncompressed tar stream) onto a root filesystem
 * directory, with the semantics of umoci / containers-storage:
 *
 * - `.wh.NAME` removes NAME (file or whole tree) of a lower layer;
 *   `.wh..wh..opq` empties its directory of the entries of lower layers
 *   (entries this layer writes, before or after the marker, stay).
 *   Whiteouts apply to lower layers only and are never written.
 * - files, directories (an existing directory is kept, its metadata
 *   updated), hardlinks, symlinks (target stored verbatim, never followed
 *   when the entry itself is created), fifos, devices (only as root: else
 *   skipped with a warning), modes incl. setuid/setgid/sticky (after chown),
 *   ownership (as root), mtimes (directories at the end of the layer),
 *   xattrs (user.*, and trusted.* / security.capability as root).
 * - an entry replacing one of a lower layer: removed then created, except a
 *   directory over a directory (kept).
 *
 * Path safety.  Names are normalised lexically: leading "/" and "./" are
 * dropped, "//" and "." collapse, ".." pops a component and is clamped at
 * the root, i.e. every name is resolved as if the rootfs were "/" (umoci
 * and RESOLVE_IN_ROOT semantics).  The parent directory of each entry is
 * then opened with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|
 * RESOLVE_NO_XDEV): symlinks in the parent chain (from this or lower
 * layers) are followed but can never leave the rootfs: `/` and `..` in
 * their targets stop at the rootfs.  The entry itself is created with *at()
 * calls relative to that parent fd and never followed.  Hardlink targets
 * are resolved the same way.  Kernels without openat2 (ENOSYS) use a
 * component-by-component walk with O_NOFOLLOW that refuses any symlink in a
 * parent path (COCOIMG_EFORMAT) instead of following it inside the root.
 *
 * Errors name the entry; the rootfs may be left partially applied (callers
 * stage it and throw it away on failure).
 */

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/reader.h"
#include "util/context.h"
#include "util/error.h"

#define COCOIMG_APPLY_MAX_ENTRIES (1u << 20)
#define COCOIMG_APPLY_MAX_PATH 4096u
/* Bytes of path names remembered per layer (directory metadata fixed at the end). */
#define COCOIMG_APPLY_MAX_TRACKED (64u * 1024 * 1024)

typedef struct cocoimg__apply_options {
    uint64_t max_entries; /* 0: COCOIMG_APPLY_MAX_ENTRIES */
    bool rootless;        /* behave as non-root even when running as root */
    bool no_openat2;      /* force the fallback walk (tests) */
} cocoimg__apply_options;

typedef struct cocoimg__apply_stats {
    uint64_t entries;
    uint64_t whiteouts;
    uint64_t skipped; /* device nodes and sockets not created */
} cocoimg__apply_stats;

/*
 * Apply the tar read from @p tar (borrowed; read to EOF, including any
 * bytes after the end-of-archive marker, so verifying stages upstream give
 * their verdict, which is returned) onto the directory @p rootfd.
 * @p opts and @p stats may be NULL.
 * Returns 0; COCOIMG_EFORMAT for a malformed or refused tar (hostile
 * names, hardlink loops, whiteouts of "." or ".."); COCOIMG_ELIMIT beyond
 * the limits; COCOIMG_EIO; or the error of the reader.
 */
int cocoimg__unpack_apply(const cocoimg_context *ctx, int rootfd, cocoimg__reader *tar,
                          const cocoimg__apply_options *opts, cocoimg__apply_stats *stats,
                          cocoimg_error **err);

/*
 * Normalise a tar name as described above into @p out (@p outsz bytes):
 * "" is the root itself.  COCOIMG_ELIMIT if it does not fit.
 */
int cocoimg__unpack_normalize(char *out, size_t outsz, const char *name, cocoimg_error **err);

/*
 * Open @p path (normalised or not) inside @p rootfd with the rules above
 * (symlinks in the path followed inside the root; the last component is
 * followed too unless @p nofollow); @p flags are open(2) flags.
 * Returns an fd or a negative COCOIMG_E* code (COCOIMG_ENOTFOUND if it does
 * not exist).  Used to read /etc/passwd safely.
 */
int cocoimg__unpack_open_in_root(int rootfd, const char *path, int flags, bool nofollow,
                                 cocoimg_error **err);

#endif
