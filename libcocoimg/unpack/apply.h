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
 *   skipped with a warning), modes incl. sticky and setuid/setgid (after
 *   chown; see below for non-root), ownership (as root), mtimes
 *   (directories at the end of the layer), xattrs (see below).
 * - an entry replacing one of a lower layer: removed then created, except a
 *   directory over a directory (kept).
 *
 * Metadata that could grant more than the image's own files may have:
 *
 * - the root entry ("./", "/"): must be a directory, its metadata (mode,
 *   owner, times, xattrs) is ignored, as containers-storage's overlay driver
 *   does (pkg/archive Unpack skips "." when the destination directory
 *   exists): the rootfs keeps the mode and owner its creator gave it.
 * - xattrs: user.* always, security.capability as root; nothing else.
 *   trusted.* (trusted.overlay.* would steer an overlayfs mounted over the
 *   rootfs: opaque, redirect, metacopy) and user.overlay.* (the same for
 *   userxattr mounts) are dropped, so are the ownership overrides that
 *   containers-storage and fuse-overlayfs read (user.containers.override_stat,
 *   user.fuseoverlayfs.*) and every security.* but security.capability
 *   (security.selinux is the host's business, as containers-storage has it;
 *   security.ima is left to the guest's policy).  containers-storage writes
 *   only user.*, security.capability and security.ima into the layers it
 *   makes.
 * - setuid/setgid: not running as root (or @c rootless), every file
 *   belongs to the unpacking user, so the bits would make it run with that
 *   user's rights whoever starts it: they are dropped from non-directories
 *   unless @c keep_setid (like libarchive, which restores them only when
 *   the owner on disk is the archive's).  A directory keeps its setgid bit
 *   (group inheritance, no privilege).
 *
 * Path safety.  A name or hardlink target with a ".." component is refused
 * (COCOIMG_EFORMAT), like Docker and containers-storage refuse a name that
 * leaves the root and GNU tar refuses ".." members: nothing is clamped.
 * Absolute names are relative to the rootfs, as in tar.  Names are then
 * normalised lexically: leading "/" and "./" are dropped, "//" and "."
 * collapse.  A whiteout names an entry of its own directory only (".wh.."
 * and ".wh..." are refused).  The parent directory of each entry is
 * then opened with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|
 * RESOLVE_NO_XDEV): symlinks in the parent chain (from this or lower
 * layers) are followed but can never leave the rootfs: `/` and `..` in
 * their targets stop at the rootfs.  The entry itself is created with *at()
 * calls relative to that parent fd and never followed; its owner and mode
 * are set through a file descriptor of the node created (an O_PATH one,
 * checked to still be that node, for symlinks, fifos and devices), never
 * by a path that could have been swapped meanwhile.  Hardlink targets
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
    bool keep_setid;      /* keep setuid/setgid when not root */
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
 * Normalise a tar name lexically into @p out (@p outsz bytes): "/" and "."
 * components dropped, ".." pops a component and stops at the root (names
 * with ".." never get here: cocoimg__unpack_has_dotdot() refuses them
 * first); "" is the root itself.  COCOIMG_ELIMIT if it does not fit.
 */
int cocoimg__unpack_normalize(char *out, size_t outsz, const char *name, cocoimg_error **err);

/* Whether @p name has a ".." component ("..", "../x", "a/../b", "a/.."). */
bool cocoimg__unpack_has_dotdot(const char *name);

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
