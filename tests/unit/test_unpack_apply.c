/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer application: tars are built in memory with libarchive's writer and
 * applied to a temporary rootfs.  Every hostile case has a canary directory
 * next to the rootfs that must stay untouched.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "oci/model.h"
#include "tap.h"
#include "testfs.h"
#include "unpack/apply.h"
#include "unpack/runtime.h"
#include "util/fs.h"

static char tmpdir[4096];
static int tmpfd = -1, rootfd = -1, canaryfd = -1;
static char canary_path[4200];

static int
setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/cocoimg-apply-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    tmpfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmpfd < 0 || mkdirat(tmpfd, "rootfs", 0755) < 0 || mkdirat(tmpfd, "canary", 0755) < 0)
        return -1;
    rootfd = openat(tmpfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    canaryfd = openat(tmpfd, "canary", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(canary_path, sizeof(canary_path), "%s/canary", tmpdir);
    int fd = openat(canaryfd, "keep", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "canary", 6) != 6)
        return -1;
    close(fd);
    return rootfd < 0 || canaryfd < 0 ? -1 : 0;
}

static void
teardown(void)
{
    if (rootfd >= 0)
        close(rootfd);
    if (canaryfd >= 0)
        close(canaryfd);
    if (tmpfd >= 0)
        close(tmpfd);
    rootfd = canaryfd = tmpfd = -1;
    cocoimg__rm_rf(AT_FDCWD, tmpdir, NULL);
}

/* The canary holds exactly its "keep" file, unchanged, with one link; tmpdir has 2 entries. */
static bool
canary_intact(void)
{
    struct stat st;
    char buf[16] = {0};
    if (count_entries(canaryfd) != 1 || count_entries(tmpfd) != 2)
        return false;
    if (fstatat(canaryfd, "keep", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
        st.st_nlink != 1 || st.st_size != 6)
        return false;
    int fd = openat(canaryfd, "keep", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "canary", 6) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* --- in-memory tar builder --- */

#define TAR_CAP (4u << 20)

struct tb {
    struct archive *a;
    uint8_t *buf;
    size_t used;
};

static void
tb_init(struct tb *t)
{
    t->buf = malloc(TAR_CAP);
    t->used = 0;
    t->a = archive_write_new();
    archive_write_set_format_pax(t->a);
    archive_write_open_memory(t->a, t->buf, TAR_CAP, &t->used);
}

static struct archive_entry *
tb_entry(const char *path, mode_t type, mode_t perm)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, 1500000000, 0);
    return e;
}

static void
tb_put(struct tb *t, struct archive_entry *e, const char *data)
{
    if (data)
        archive_entry_set_size(e, (la_int64_t)strlen(data));
    archive_write_header(t->a, e);
    if (data)
        archive_write_data(t->a, data, strlen(data));
    archive_entry_free(e);
}

static void
tb_file(struct tb *t, const char *path, mode_t perm, const char *data)
{
    tb_put(t, tb_entry(path, AE_IFREG, perm), data);
}

static void
tb_dir(struct tb *t, const char *path, mode_t perm)
{
    tb_put(t, tb_entry(path, AE_IFDIR, perm), NULL);
}

static void
tb_symlink(struct tb *t, const char *path, const char *target)
{
    struct archive_entry *e = tb_entry(path, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target);
    tb_put(t, e, NULL);
}

static void
tb_hardlink(struct tb *t, const char *path, const char *target)
{
    struct archive_entry *e = tb_entry(path, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target);
    archive_entry_set_size(e, 0);
    tb_put(t, e, NULL);
}

static void
tb_close(struct tb *t)
{
    archive_write_close(t->a);
    archive_write_free(t->a);
    t->a = NULL;
}

static void
tb_free(struct tb *t)
{
    if (t->a)
        archive_write_free(t->a);
    free(t->buf);
}

/* Apply @p t (closed here) to the rootfs; returns the code, *msg_out a copy of the message. */
static int
apply_opts(struct tb *t, const cocoimg__apply_options *o, char **msg_out)
{
    if (t->a)
        tb_close(t);
    cocoimg__reader *r = NULL;
    cocoimg_error *err = NULL;
    int rc = cocoimg__reader_mem(&r, t->buf, t->used, &err);
    if (rc == 0)
        rc = cocoimg__unpack_apply(NULL, rootfd, r, o, NULL, &err);
    if (rc < 0)
        printf("# apply: %s\n", cocoimg_error_message(err));
    if (msg_out)
        *msg_out = err ? strdup(cocoimg_error_message(err)) : NULL;
    cocoimg_error_free(err);
    cocoimg__reader_free(r);
    tb_free(t);
    return rc;
}

static int
apply(struct tb *t)
{
    return apply_opts(t, NULL, NULL);
}

static bool
has(const char *path, mode_t type)
{
    struct stat st;
    return fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

static bool
missing(const char *path)
{
    struct stat st;
    return fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

static bool
content_is(const char *path, const char *want)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cocoimg__read_file(&buf, &len, rootfd, path, 1 << 20, NULL) < 0)
        return false;
    bool ok = len == strlen(want) && memcmp(buf, want, len) == 0;
    free(buf);
    return ok;
}

/* --- tests --- */

static int
test_normalize(void)
{
    static const char *cases[][2] = {
        {"a/b", "a/b"},          {"./a//b/", "a/b"}, {"/abs/path", "abs/path"},
        {"../escape", "escape"}, {"a/../../b", "b"}, {"./", ""},
        {"a/./b/..", "a"},       {"..", ""},         {"/../../etc/passwd", "etc/passwd"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_OK(cocoimg__unpack_normalize(out, sizeof(out), cases[i][0], NULL));
        if (strcmp(out, cases[i][1]) != 0) {
            printf("# '%s' -> '%s'\n", cases[i][0], out);
            return -1;
        }
    }
    CHECK(cocoimg__unpack_normalize(out, 4, "abcdef", NULL) == COCOIMG_ELIMIT);
    static const char *dotdot[] = {"..", "../x", "a/..", "a/../b", "/..", "./../x", "a//../b"};
    for (size_t i = 0; i < sizeof(dotdot) / sizeof(dotdot[0]); i++)
        CHECK(cocoimg__unpack_has_dotdot(dotdot[i]));
    static const char *plain[] = {"",      ".",     "./",    "/",       "a/b",      "...",
                                  "a/..b", "..a/b", "a/b..", ".wh...x", "/abs/path"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        CHECK(!cocoimg__unpack_has_dotdot(plain[i]));
    return 0;
}

static int
test_basic_types(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_dir(&t, "./", 0755);
    tb_dir(&t, "a", 0750);
    tb_file(&t, "a/f", 0644, "hello");
    struct archive_entry *e = tb_entry("a/suid", AE_IFREG, 04755);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 2000);
    archive_entry_set_mtime(e, 1234567890, 500);
    tb_put(&t, e, "x");
    tb_dir(&t, "tmp", 01777);
    tb_file(&t, "sgid", 02755, "");
    tb_symlink(&t, "a/l", "f");
    tb_symlink(&t, "abs", "/etc/passwd");
    tb_hardlink(&t, "a/h", "a/f");
    tb_put(&t, tb_entry("a/p", AE_IFIFO, 0640), NULL);
    e = tb_entry("dev/null", AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(e, 1);
    archive_entry_set_rdevminor(e, 3);
    tb_put(&t, e, NULL);
    tb_file(&t, "deep/er/implicit", 0600, "p"); /* parents without entries */
    CHECK(apply(&t) == 0);

    struct stat st, st2;
    CHECK(fstatat(rootfd, "a", &st, 0) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
    CHECK(st.st_mtime == 1500000000); /* fixed after a/f etc. were created */
    CHECK(content_is("a/f", "hello"));
    /* not root, setuid is dropped (test_setid_not_root) */
    CHECK(fstatat(rootfd, "a/suid", &st, 0) == 0 &&
          (st.st_mode & 07777) == (geteuid() == 0 ? 04755 : 0755));
    CHECK(st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 500);
    if (geteuid() == 0)
        CHECK(st.st_uid == 1000 && st.st_gid == 2000);
    CHECK(fstatat(rootfd, "tmp", &st, 0) == 0 && (st.st_mode & 07777) == 01777);
    CHECK(fstatat(rootfd, "sgid", &st, 0) == 0 &&
          (st.st_mode & 07777) == (geteuid() == 0 ? 02755 : 0755));
    char lnk[64] = {0};
    CHECK(readlinkat(rootfd, "a/l", lnk, sizeof(lnk)) == 1 && lnk[0] == 'f');
    memset(lnk, 0, sizeof(lnk));
    CHECK(readlinkat(rootfd, "abs", lnk, sizeof(lnk)) == 11 && strcmp(lnk, "/etc/passwd") == 0);
    CHECK(fstatat(rootfd, "a/h", &st, 0) == 0 && fstatat(rootfd, "a/f", &st2, 0) == 0);
    CHECK(st.st_ino == st2.st_ino && st.st_nlink == 2);
    CHECK(has("a/p", S_IFIFO));
    CHECK(fstatat(rootfd, "a/p", &st, 0) == 0 && (st.st_mode & 07777) == 0640);
    if (geteuid() == 0) {
        CHECK(fstatat(rootfd, "dev/null", &st, 0) == 0 && S_ISCHR(st.st_mode));
        CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
    }
    CHECK(content_is("deep/er/implicit", "p"));
    CHECK(fstatat(rootfd, "deep", &st, 0) == 0 && (st.st_mode & 0777) == 0755);
    teardown();
    return 0;
}

static int
test_rootless_skips_devices(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    struct archive_entry *e = tb_entry("null", AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(e, 1);
    archive_entry_set_rdevminor(e, 3);
    tb_put(&t, e, NULL);
    tb_put(&t, tb_entry("fifo", AE_IFIFO, 0600), NULL);
    cocoimg__apply_options o = {.rootless = true};
    CHECK(apply_opts(&t, &o, NULL) == 0);
    CHECK(missing("null"));
    CHECK(has("fifo", S_IFIFO));
    teardown();
    return 0;
}

static int
test_whiteouts(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_file(&t, "a/f", 0644, "f");
    tb_file(&t, "a/g", 0644, "g");
    tb_file(&t, "d/sub/x", 0644, "x");
    tb_symlink(&t, "s", "/");
    CHECK(apply(&t) == 0);
    tb_init(&t);
    tb_file(&t, "a/.wh.f", 0644, "");
    tb_file(&t, ".wh.d", 0644, "");
    tb_file(&t, ".wh.s", 0644, "");
    tb_file(&t, ".wh.nonexistent", 0644, "");
    tb_file(&t, "nodir/.wh.x", 0644, "");
    /* a file of this layer and its whiteout: whiteouts only hide lower layers */
    tb_file(&t, "a/same", 0644, "same");
    tb_file(&t, "a/.wh.same", 0644, "");
    CHECK(apply(&t) == 0);
    CHECK(missing("a/f") && content_is("a/g", "g") && missing("d") && missing("s"));
    CHECK(content_is("a/same", "same"));
    CHECK(missing("a/.wh.f") && missing(".wh.d") && missing("nodir/.wh.x"));
    teardown();
    return 0;
}

static int
test_opaque(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_file(&t, "o/x", 0644, "x");
    tb_file(&t, "o/sub/y", 0644, "y");
    tb_file(&t, "o/keep/lower", 0644, "l");
    tb_file(&t, "other/z", 0644, "z");
    CHECK(apply(&t) == 0);
    tb_init(&t);
    tb_dir(&t, "o", 0755);
    tb_file(&t, "o/new", 0644, "n");
    tb_file(&t, "o/keep/upper", 0644, "u"); /* keep/ exists below: kept, its lower content not */
    tb_file(&t, "o/.wh..wh..opq", 0644, "");
    tb_file(&t, "o/later", 0644, "L");
    CHECK(apply(&t) == 0);
    CHECK(missing("o/x") && missing("o/sub") && missing("o/.wh..wh..opq"));
    CHECK(content_is("o/new", "n") && content_is("o/later", "L"));
    CHECK(content_is("o/keep/upper", "u") && missing("o/keep/lower"));
    CHECK(content_is("other/z", "z"));
    teardown();
    return 0;
}

static int
test_replace(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_file(&t, "p", 0644, "file");
    tb_file(&t, "q/inner", 0644, "in");
    tb_dir(&t, "keepdir", 0700);
    tb_file(&t, "keepdir/old", 0644, "old");
    tb_symlink(&t, "r", "/etc");
    CHECK(apply(&t) == 0);
    tb_init(&t);
    tb_file(&t, "p/z", 0644, "z"); /* parent replaced needs "p" as a dir entry first */
    CHECK(apply(&t) < 0);          /* "p" is a file: refused */
    tb_init(&t);
    tb_dir(&t, "p", 0755);
    tb_file(&t, "p/z", 0644, "z");
    tb_file(&t, "q", 0600, "now a file");
    tb_dir(&t, "keepdir", 0755);
    tb_file(&t, "r", 0644, "not a link");
    CHECK(apply(&t) == 0);
    struct stat st;
    CHECK(has("p", S_IFDIR) && content_is("p/z", "z"));
    CHECK(content_is("q", "now a file"));
    CHECK(fstatat(rootfd, "keepdir", &st, 0) == 0 && (st.st_mode & 0777) == 0755);
    CHECK(content_is("keepdir/old", "old"));
    CHECK(has("r", S_IFREG) && content_is("r", "not a link"));
    teardown();
    return 0;
}

static int
test_long_names(void)
{
    CHECK(setup() == 0);
    char dir[160], file[400], target[300];
    memset(dir, 'd', 150);
    dir[150] = '\0';
    snprintf(file, sizeof(file), "%s/%s", dir,
             "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
             "ffffffffffffffffffffffffffff");
    memset(target, 't', 250);
    target[250] = '\0';
    struct tb t;
    tb_init(&t);
    tb_file(&t, file, 0644, "long");
    tb_symlink(&t, "longlink", target);
    char hl[420];
    snprintf(hl, sizeof(hl), "%s/hard-%s", dir,
             "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
             "hhhhhhhhhhh");
    tb_hardlink(&t, hl, file);
    CHECK(apply(&t) == 0);
    CHECK(content_is(file, "long") && content_is(hl, "long"));
    char buf[400] = {0};
    CHECK(readlinkat(rootfd, "longlink", buf, sizeof(buf)) == 250 && strcmp(buf, target) == 0);
    teardown();
    return 0;
}

static int
test_xattrs(void)
{
    CHECK(setup() == 0);
    if (fsetxattr(rootfd, "user.probe", "1", 1, 0) < 0) {
        teardown();
        return 77; /* no user xattrs on this filesystem */
    }
    struct tb t;
    tb_init(&t);
    struct archive_entry *e = tb_entry("x", AE_IFREG, 0644);
    archive_entry_xattr_add_entry(e, "user.foo", "bar", 3);
    archive_entry_xattr_add_entry(e, "security.selinux", "ignored", 7);
    tb_put(&t, e, "data");
    e = tb_entry("xd", AE_IFDIR, 0755);
    archive_entry_xattr_add_entry(e, "user.dir", "yes", 3);
    tb_put(&t, e, NULL);
    CHECK(apply(&t) == 0);
    char v[16] = {0};
    int fd = openat(rootfd, "x", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(fgetxattr(fd, "user.foo", v, sizeof(v)) == 3 && memcmp(v, "bar", 3) == 0);
    CHECK(fgetxattr(fd, "security.selinux", v, sizeof(v)) < 0 || memcmp(v, "ignored", 7) != 0);
    close(fd);
    fd = openat(rootfd, "xd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0 && fgetxattr(fd, "user.dir", v, sizeof(v)) == 3);
    close(fd);
    teardown();
    return 0;
}

static int
test_drains_and_verifies(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_file(&t, "f", 0644, "data");
    tb_close(&t);
    /* trailing zeros after the end-of-archive blocks must reach the hash */
    memset(t.buf + t.used, 0, 5000);
    size_t len = t.used + 5000;
    cocoimg__digest d;
    CHECK_OK(cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, t.buf, len, NULL));
    cocoimg__reader *r = NULL;
    cocoimg_error *err = NULL;
    CHECK_OK(cocoimg__reader_mem(&r, t.buf, len, NULL));
    CHECK_OK(cocoimg__reader_verify(&r, r, &d, (int64_t)len, NULL));
    CHECK(cocoimg__unpack_apply(NULL, rootfd, r, NULL, NULL, &err) == 0);
    cocoimg__reader_free(r);
    /* a wrong digest: the verdict comes out of apply */
    d.bytes[0] ^= 1;
    CHECK_OK(cocoimg__reader_mem(&r, t.buf, len, NULL));
    CHECK_OK(cocoimg__reader_verify(&r, r, &d, (int64_t)len, NULL));
    CHECK(cocoimg__unpack_apply(NULL, rootfd, r, NULL, NULL, &err) == COCOIMG_EDIGEST);
    CHECK(err && strstr(cocoimg_error_message(err), "digest"));
    cocoimg_error_free(err);
    cocoimg__reader_free(r);
    tb_free(&t);
    teardown();
    return 0;
}

static int
test_malformed_and_limits(void)
{
    CHECK(setup() == 0);
    static const char garbage[2048] = "this is not a tar archive at all";
    cocoimg__reader *r = NULL;
    cocoimg_error *err = NULL;
    CHECK_OK(cocoimg__reader_mem(&r, garbage, sizeof(garbage), NULL));
    CHECK(cocoimg__unpack_apply(NULL, rootfd, r, NULL, NULL, &err) == COCOIMG_EFORMAT);
    cocoimg_error_free(err);
    err = NULL;
    cocoimg__reader_free(r);

    struct tb t;
    tb_init(&t);
    tb_file(&t, "1", 0644, "");
    tb_file(&t, "2", 0644, "");
    tb_file(&t, "3", 0644, "");
    cocoimg__apply_options o = {.max_entries = 2};
    CHECK(apply_opts(&t, &o, NULL) == COCOIMG_ELIMIT);

    char *msg = NULL;
    tb_init(&t);
    tb_hardlink(&t, "self", "self");
    CHECK(apply_opts(&t, NULL, &msg) == COCOIMG_EFORMAT);
    CHECK(msg && strstr(msg, "'self'") && strstr(msg, "itself"));
    free(msg);

    tb_init(&t);
    tb_file(&t, "dir", 0644, "");
    tb_hardlink(&t, "dirlink", "/");
    CHECK(apply_opts(&t, NULL, NULL) == COCOIMG_EFORMAT);
    teardown();
    return 0;
}

/* --- hostile layers --- */

/* Apply a one-entry layer that must be refused for its '..': nothing may be written. */
static int
refused_dotdot(struct tb *t)
{
    char *msg = NULL;
    size_t before = count_entries(rootfd);
    int r = apply_opts(t, NULL, &msg);
    bool ok = r == COCOIMG_EFORMAT && msg && strstr(msg, "'..'");
    free(msg);
    return ok && count_entries(rootfd) == before && canary_intact() ? 0 : -1;
}

static int
test_hostile_dotdot_and_absolute(void)
{
    CHECK(setup() == 0);
    struct tb t;
    /* ".." components are refused, never clamped into the rootfs */
    static const char *names[] = {"../escape",      "../../../../../../escape2",
                                  "../canary/x",    "a/../b",
                                  "a/b/../../../c", "./../x",
                                  "/../etc/x",      "a/.."};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tb_init(&t);
        tb_file(&t, names[i], 0644, "e");
        if (refused_dotdot(&t) < 0) {
            printf("# '%s' not refused\n", names[i]);
            return -1;
        }
    }
    tb_init(&t);
    tb_dir(&t, "d/../e", 0755);
    CHECK(refused_dotdot(&t) == 0);
    tb_init(&t);
    tb_symlink(&t, "../l", "x");
    CHECK(refused_dotdot(&t) == 0);
    /* an entry after good ones: the layer fails as a whole */
    tb_init(&t);
    tb_file(&t, "good", 0644, "g");
    tb_file(&t, "../bad", 0644, "b");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    CHECK(missing("bad") && canary_intact());
    teardown();

    /* absolute and "./" names are relative to the rootfs, as in tar */
    CHECK(setup() == 0);
    tb_init(&t);
    char abs[4300];
    snprintf(abs, sizeof(abs), "%s/x", canary_path);
    tb_file(&t, abs, 0644, "abs");
    tb_file(&t, "/abs/path", 0644, "a");
    tb_file(&t, "./dot/x", 0644, "d");
    tb_file(&t, "a...b/..c/...", 0644, "dots"); /* dots that are no ".." component */
    CHECK(apply(&t) == 0);
    CHECK(canary_intact());
    CHECK(content_is(abs + 1, "abs") && content_is("abs/path", "a") && content_is("dot/x", "d"));
    CHECK(content_is("a...b/..c/...", "dots"));
    teardown();
    return 0;
}

static int
test_hostile_symlink_escape(void)
{
    /* evil -> /abs/canary then evil/x */
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_symlink(&t, "evil", canary_path);
    tb_file(&t, "evil/x", 0644, "pwned");
    int r = apply(&t);
    CHECK(canary_intact());
    CHECK(r < 0 || missing("x"));
    teardown();

    /* evil -> ../../.. then evil/x: lands in the rootfs itself */
    CHECK(setup() == 0);
    tb_init(&t);
    tb_symlink(&t, "evil", "../../..");
    tb_file(&t, "evil/x", 0644, "inside");
    tb_file(&t, "evil/canary/y", 0644, "inside");
    tb_symlink(&t, "up", "..");
    tb_file(&t, "up/up/canary/z", 0644, "inside");
    r = apply(&t);
    CHECK(canary_intact());
    CHECK(r == 0 && content_is("x", "inside") && content_is("canary/y", "inside"));
    CHECK(content_is("canary/z", "inside"));
    teardown();

    /* evil -> / then evil/<tmpdir>/canary/keep overwritten? */
    CHECK(setup() == 0);
    tb_init(&t);
    tb_symlink(&t, "root", "/");
    char p[4300];
    snprintf(p, sizeof(p), "root%s/keep", canary_path);
    tb_file(&t, p, 0644, "pwned");
    r = apply(&t);
    CHECK(canary_intact());
    teardown();
    return 0;
}

static int
test_hostile_symlink_lower_layer(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_symlink(&t, "lnk", canary_path);
    tb_symlink(&t, "rel", "../canary");
    tb_symlink(&t, "rel2", "../nothere");
    tb_dir(&t, "d", 0755);
    tb_symlink(&t, "d/up", "../../../../..");
    CHECK(apply(&t) == 0);
    tb_init(&t);
    tb_file(&t, "lnk/x", 0644, "pwned");
    CHECK(apply(&t) < 0); /* rootfs/<canary_path> does not exist: refused */
    CHECK(canary_intact());
    tb_init(&t);
    tb_file(&t, "rel2/x", 0644, "in");
    CHECK(apply(&t) == COCOIMG_EFORMAT); /* dangling symlink parent: like Go's MkdirAll */
    tb_init(&t);
    tb_dir(&t, "canary", 0755);
    tb_file(&t, "rel/x", 0644, "in");
    CHECK(apply(&t) == 0);
    CHECK(content_is("canary/x", "in"));
    tb_init(&t);
    tb_file(&t, "d/up/canary/keep", 0644, "in");
    tb_hardlink(&t, "lnk/h", "d/up/canary/keep");
    int r = apply(&t);
    CHECK(canary_intact());
    CHECK(content_is("canary/keep", "in"));
    (void)r;
    /* the entry itself is never followed: writing "lnk" replaces the symlink */
    tb_init(&t);
    tb_file(&t, "lnk", 0644, "plain");
    CHECK(apply(&t) == 0);
    CHECK(canary_intact() && content_is("lnk", "plain"));
    teardown();
    return 0;
}

static int
test_hostile_hardlinks(void)
{
    CHECK(setup() == 0);
    struct tb t;
    char abs[4300];
    snprintf(abs, sizeof(abs), "%s/keep", canary_path);
    tb_init(&t);
    tb_hardlink(&t, "h1", "../../etc/passwd");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_hardlink(&t, "h2", abs);
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_hardlink(&t, "h3", "../canary/keep");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    /* a '..' target is refused even when it would resolve inside the rootfs */
    tb_init(&t);
    tb_file(&t, "f", 0644, "f");
    CHECK(apply(&t) == 0);
    char *msg = NULL;
    tb_init(&t);
    tb_hardlink(&t, "h7", "sub/../f");
    CHECK(apply_opts(&t, NULL, &msg) == COCOIMG_EFORMAT);
    CHECK(msg && strstr(msg, "'..'") && strstr(msg, "hardlink"));
    free(msg);
    tb_init(&t);
    tb_hardlink(&t, "h8", "../rootfs/f");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    /* through a symlinked parent */
    tb_init(&t);
    tb_symlink(&t, "sl", canary_path);
    tb_symlink(&t, "sl2", "../canary");
    tb_hardlink(&t, "h4", "sl/keep");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_hardlink(&t, "h5", "sl2/keep");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    CHECK(canary_intact());
    CHECK(missing("h1") && missing("h2") && missing("h3") && missing("h4") && missing("h5"));
    CHECK(missing("h7") && missing("h8"));
    /* a hardlink to a symlink links the symlink itself */
    tb_init(&t);
    tb_hardlink(&t, "h6", "sl");
    CHECK(apply(&t) == 0);
    CHECK(has("h6", S_IFLNK) && canary_intact());
    teardown();
    return 0;
}

static int
test_hostile_whiteouts(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_file(&t, ".wh...", 0644, "");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_file(&t, "a/.wh..", 0644, "");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    /* a whiteout naming something outside its directory is refused, not clamped */
    tb_init(&t);
    tb_file(&t, "victim/x", 0644, "x");
    tb_file(&t, "d/f", 0644, "f");
    CHECK(apply(&t) == 0);
    static const char *names[] = {"../.wh.canary",   "../../.wh.canary", "../canary/.wh.keep",
                                  "d/../.wh.victim", "../.wh..wh..opq",  "d/../.wh..wh..opq"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tb_init(&t);
        tb_file(&t, names[i], 0644, "");
        if (refused_dotdot(&t) < 0) {
            printf("# '%s' not refused\n", names[i]);
            return -1;
        }
    }
    CHECK(content_is("victim/x", "x") && content_is("d/f", "f"));
    /* through symlinks: resolved inside the rootfs */
    tb_init(&t);
    char abs[4300];
    snprintf(abs, sizeof(abs), "%s/.wh.keep", canary_path);
    tb_file(&t, abs, 0644, "");
    tb_symlink(&t, "c", canary_path);
    tb_symlink(&t, "c2", "../canary");
    tb_file(&t, "c/.wh.keep", 0644, "");
    tb_file(&t, "c2/.wh.keep", 0644, "");
    tb_file(&t, "c/.wh..wh..opq", 0644, "");
    tb_file(&t, "c2/.wh..wh..opq", 0644, "");
    CHECK(apply(&t) == 0);
    CHECK(canary_intact());
    teardown();
    return 0;
}

static int
test_fallback_walk(void)
{
    CHECK(setup() == 0);
    cocoimg__apply_options o = {.no_openat2 = true};
    struct tb t;
    tb_init(&t);
    tb_file(&t, "a/b/c", 0644, "c");
    tb_file(&t, "/x", 0644, "x");
    tb_symlink(&t, "evil", canary_path);
    CHECK(apply_opts(&t, &o, NULL) == 0);
    CHECK(content_is("a/b/c", "c") && content_is("x", "x"));
    tb_init(&t);
    tb_file(&t, "../y", 0644, "y");
    CHECK(apply_opts(&t, &o, NULL) == COCOIMG_EFORMAT);
    CHECK(missing("y"));
    tb_init(&t);
    tb_file(&t, "evil/y", 0644, "pwned");
    char *msg = NULL;
    CHECK(apply_opts(&t, &o, &msg) == COCOIMG_EFORMAT);
    CHECK(msg && strstr(msg, "symlink"));
    free(msg);
    tb_init(&t);
    tb_hardlink(&t, "h", "evil/keep");
    CHECK(apply_opts(&t, &o, NULL) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_file(&t, "evil/.wh.keep", 0644, "");
    CHECK(apply_opts(&t, &o, NULL) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_file(&t, "evil/.wh..wh..opq", 0644, "");
    CHECK(apply_opts(&t, &o, NULL) == COCOIMG_EFORMAT);
    tb_init(&t);
    tb_file(&t, "a/b/c/.wh.x", 0644, ""); /* parent is a file: nothing to hide */
    tb_file(&t, "a/b/.wh.c", 0644, "");
    tb_file(&t, "a/.wh..wh..opq", 0644, "");
    CHECK(apply_opts(&t, &o, NULL) == 0);
    CHECK(missing("a/b"));
    CHECK(canary_intact());
    teardown();
    return 0;
}

static int
test_open_in_root(void)
{
    CHECK(setup() == 0);
    struct tb t;
    tb_init(&t);
    tb_file(&t, "etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n");
    tb_symlink(&t, "etc/group", canary_path); /* hostile: a symlink out */
    CHECK(apply(&t) == 0);
    int fd = cocoimg__unpack_open_in_root(rootfd, "/etc/passwd", O_RDONLY, false, NULL);
    CHECK(fd >= 0);
    close(fd);
    fd = cocoimg__unpack_open_in_root(rootfd, "/etc/group", O_RDONLY, false, NULL);
    CHECK(fd == COCOIMG_ENOTFOUND);
    fd = cocoimg__unpack_open_in_root(rootfd, "../../canary/keep", O_RDONLY, false, NULL);
    CHECK(fd == COCOIMG_ENOTFOUND);
    teardown();
    return 0;
}

/* --- metadata of hostile layers --- */

/*
 * A racer swaps each fifo "pN" of the layer, as soon as it appears, for a
 * symlink "sN" to the canary file: chmod (and chown) by path after mknod
 * would follow it and change a file outside the rootfs.
 */
#define SWAP_N 1500
static atomic_int swap_stop;

static void *
swap_racer(void *arg)
{
    (void)arg;
    for (int i = 0; i < SWAP_N && !atomic_load(&swap_stop);) {
        char p[32], s[32];
        snprintf(p, sizeof(p), "p%d", i);
        snprintf(s, sizeof(s), "s%d", i);
        if (faccessat(rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
            (void)renameat(rootfd, s, rootfd, p);
            i++;
        }
    }
    return NULL;
}

static int
test_special_file_swap(void)
{
    CHECK(setup() == 0);
    char keep[4300];
    snprintf(keep, sizeof(keep), "%s/keep", canary_path);
    for (int i = 0; i < SWAP_N; i++) {
        char s[32];
        snprintf(s, sizeof(s), "s%d", i);
        CHECK(symlinkat(keep, rootfd, s) == 0);
    }
    struct stat before;
    CHECK(fstatat(canaryfd, "keep", &before, 0) == 0);
    struct tb t;
    tb_init(&t);
    for (int i = 0; i < SWAP_N; i++) {
        char p[32];
        snprintf(p, sizeof(p), "p%d", i);
        struct archive_entry *e = tb_entry(p, AE_IFIFO, 0606);
        archive_entry_set_uid(e, 4321);
        archive_entry_set_gid(e, 4321);
        tb_put(&t, e, NULL);
    }
    tb_close(&t);
    atomic_store(&swap_stop, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, swap_racer, NULL) == 0);
    int r = apply(&t); /* may fail: "entry replaced while it was created" */
    atomic_store(&swap_stop, 1);
    pthread_join(th, NULL);
    struct stat st;
    CHECK(fstatat(canaryfd, "keep", &st, 0) == 0);
    printf("# apply: %d, canary mode %o owner %u\n", r, (unsigned)(st.st_mode & 07777),
           (unsigned)st.st_uid);
    CHECK(st.st_mode == before.st_mode && st.st_uid == before.st_uid && st.st_gid == before.st_gid);
    CHECK(canary_intact());
    teardown();
    return 0;
}

/* Owner and times of a symlink are its own: the target is never touched. */
static int
test_symlink_metadata_not_followed(void)
{
    CHECK(setup() == 0);
    struct stat before, st;
    CHECK(fstatat(canaryfd, "keep", &before, 0) == 0);
    struct tb t;
    tb_init(&t);
    char keep[4300];
    snprintf(keep, sizeof(keep), "%s/keep", canary_path);
    struct archive_entry *e = tb_entry("l", AE_IFLNK, 0777);
    archive_entry_set_symlink(e, keep);
    archive_entry_set_uid(e, 4321);
    archive_entry_set_gid(e, 4321);
    archive_entry_set_mtime(e, 1000000000, 0);
    tb_put(&t, e, NULL);
    e = tb_entry("fifo", AE_IFIFO, 0640);
    archive_entry_set_uid(e, 4321);
    archive_entry_set_gid(e, 4322);
    archive_entry_set_mtime(e, 1000000001, 0);
    tb_put(&t, e, NULL);
    CHECK(apply(&t) == 0);
    CHECK(fstatat(rootfd, "l", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
    CHECK(st.st_mtime == 1000000000);
    if (geteuid() == 0)
        CHECK(st.st_uid == 4321 && st.st_gid == 4321);
    CHECK(fstatat(rootfd, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode));
    CHECK((st.st_mode & 07777) == 0640 && st.st_mtime == 1000000001);
    if (geteuid() == 0)
        CHECK(st.st_uid == 4321 && st.st_gid == 4322);
    CHECK(fstatat(canaryfd, "keep", &st, 0) == 0);
    CHECK(st.st_mode == before.st_mode && st.st_uid == before.st_uid &&
          st.st_mtim.tv_sec == before.st_mtim.tv_sec &&
          st.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    CHECK(canary_intact());
    teardown();
    return 0;
}

/* A "./" entry cannot change the rootfs itself: mode, owner, times, xattrs stay. */
static int
test_root_entry_ignored(void)
{
    CHECK(setup() == 0);
    CHECK(fchmod(rootfd, 0755) == 0);
    struct stat before, st;
    CHECK(fstat(rootfd, &before) == 0);
    static const char *roots[] = {"./", "/", ".", "//./"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        struct tb t;
        tb_init(&t);
        struct archive_entry *e = tb_entry(roots[i], AE_IFDIR, 07777);
        archive_entry_set_uid(e, 4321);
        archive_entry_set_gid(e, 4321);
        archive_entry_set_mtime(e, 1000000000, 0);
        archive_entry_xattr_add_entry(e, "user.root", "x", 1);
        archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
        tb_put(&t, e, NULL);
        tb_file(&t, "f", 0644, "f");
        CHECK(apply(&t) == 0);
        CHECK(fstat(rootfd, &st) == 0);
        if ((st.st_mode & 07777) != 0755 || st.st_uid != before.st_uid ||
            st.st_gid != before.st_gid || st.st_mtime == 1000000000) {
            printf("# '%s': rootfs mode %o owner %u:%u\n", roots[i], (unsigned)(st.st_mode & 07777),
                   (unsigned)st.st_uid, (unsigned)st.st_gid);
            return -1;
        }
        char v[4];
        CHECK(fgetxattr(rootfd, "user.root", v, sizeof(v)) < 0);
        CHECK(fgetxattr(rootfd, "trusted.overlay.opaque", v, sizeof(v)) < 0);
    }
    /* still: the root must be a directory */
    struct tb t;
    tb_init(&t);
    tb_file(&t, ".", 0644, "");
    CHECK(apply(&t) == COCOIMG_EFORMAT);
    teardown();
    return 0;
}

/* Which xattrs a layer may set (see apply.h). */
static int
test_xattr_policy(void)
{
    if (geteuid() != 0)
        return 77; /* trusted.* and security.* need root */
    CHECK(setup() == 0);
    /* the file system must take trusted.* at all, or the test proves nothing */
    if (fsetxattr(rootfd, "trusted.probe", "1", 1, 0) < 0 ||
        fsetxattr(rootfd, "user.probe", "1", 1, 0) < 0) {
        teardown();
        return 77;
    }
    fremovexattr(rootfd, "trusted.probe");
    fremovexattr(rootfd, "user.probe");
    /* a valid v2 file capability (cap_net_raw=ep) */
    static const uint8_t cap[20] = {0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0};
    struct tb t;
    tb_init(&t);
    static const char *kinds[] = {"f", "d"};
    for (size_t i = 0; i < 2; i++) {
        struct archive_entry *e = tb_entry(kinds[i], i ? AE_IFDIR : AE_IFREG, 0755);
        archive_entry_xattr_add_entry(e, "user.keep", "1", 1);
        archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
        archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4);
        archive_entry_xattr_add_entry(e, "trusted.other", "1", 1);
        archive_entry_xattr_add_entry(e, "user.overlay.opaque", "y", 1);
        archive_entry_xattr_add_entry(e, "user.containers.override_stat", "0:0:04755", 9);
        archive_entry_xattr_add_entry(e, "user.fuseoverlayfs.override_stat", "0:0:04755", 9);
        archive_entry_xattr_add_entry(e, "security.ima", "\x03\x02", 2);
        if (!i)
            archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
        tb_put(&t, e, i ? NULL : "#!/bin/true\n");
    }
    CHECK(apply(&t) == 0);
    for (size_t i = 0; i < 2; i++) {
        int fd = openat(rootfd, kinds[i], O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        char names[1024];
        ssize_t n = flistxattr(fd, names, sizeof(names));
        CHECK(n >= 0);
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
            bool ok = strcmp(p, "user.keep") == 0 || strcmp(p, "security.selinux") == 0 ||
                      (!i && strcmp(p, "security.capability") == 0);
            if (!ok) {
                printf("# '%s' has xattr '%s'\n", kinds[i], p);
                close(fd);
                return -1;
            }
        }
        char v[64];
        CHECK(fgetxattr(fd, "user.keep", v, sizeof(v)) == 1);
        if (!i)
            CHECK(fgetxattr(fd, "security.capability", v, sizeof(v)) == (ssize_t)sizeof(cap));
        close(fd);
    }
    teardown();
    return 0;
}

/* Not root: setuid/setgid dropped from files unless asked; directories keep setgid. */
static int
test_setid_not_root(void)
{
    for (int keep = 0; keep < 2; keep++) {
        CHECK(setup() == 0);
        struct tb t;
        tb_init(&t);
        tb_file(&t, "suid", 04755, "x");
        tb_file(&t, "sgid", 02711, "x");
        tb_file(&t, "both", 06775, "x");
        tb_file(&t, "sticky", 01755, "x");
        tb_dir(&t, "gdir", 02775);
        tb_put(&t, tb_entry("pipe", AE_IFIFO, 04640), NULL);
        cocoimg__apply_options o = {.rootless = true, .keep_setid = keep};
        CHECK(apply_opts(&t, &o, NULL) == 0);
        struct {
            const char *name;
            mode_t want, want_kept;
        } c[] = {
            {"suid", 0755, 04755},    {"sgid", 0711, 02711},  {"both", 0775, 06775},
            {"sticky", 01755, 01755}, {"gdir", 02775, 02775}, {"pipe", 0640, 04640},
        };
        for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
            struct stat st;
            CHECK(fstatat(rootfd, c[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0);
            mode_t want = keep ? c[i].want_kept : c[i].want;
            if ((st.st_mode & 07777) != want) {
                printf("# keep=%d '%s': mode %o, want %o\n", keep, c[i].name,
                       (unsigned)(st.st_mode & 07777), (unsigned)want);
                return -1;
            }
        }
        teardown();
    }
    return 0;
}

/*
 * cocoimg__runtime_config() over the rootfs in a child with a deadline: an
 * /etc/passwd that is a fifo blocked open(2) forever.  Returns the code, or
 * 1000 when the child did not finish in time.
 */
static int
runtime_config_code(const char *user)
{
    fflush(stdout); /* or the child would print it again */
    pid_t pid = fork();
    if (pid < 0)
        return -1000;
    if (pid == 0) {
        alarm(10);
        char js[256];
        snprintf(js, sizeof(js),
                 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"%s\"},"
                 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                 user);
        cocoimg__config *c = NULL;
        cocoimg_error *err = NULL;
        if (cocoimg__config_parse(&c, js, strlen(js), &err) < 0)
            _exit(99);
        json_t *spec = NULL;
        int r = cocoimg__runtime_config(&spec, c, rootfd, &err);
        if (r < 0)
            printf("# runtime config: %s\n", cocoimg_error_message(err));
        fflush(stdout);
        json_decref(spec);
        cocoimg_error_free(err);
        cocoimg__config_free(c);
        _exit(r < 0 ? -r : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1000;
    if (WIFSIGNALED(status))
        return 1000;
    return -WEXITSTATUS(status);
}

static int
test_passwd_not_regular(void)
{
    static const char *files[] = {"etc/passwd", "etc/group"};
    for (size_t i = 0; i < 2; i++) {
        /* a fifo, then a symlink to a fifo elsewhere in the rootfs */
        for (int via_link = 0; via_link < 2; via_link++) {
            CHECK(setup() == 0);
            struct tb t;
            tb_init(&t);
            tb_file(&t, "etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/\n");
            tb_file(&t, "etc/group", 0644, "root:x:0:\napp:x:1000:\n");
            tb_put(&t, tb_entry("run/pipe", AE_IFIFO, 0644), NULL);
            CHECK(apply(&t) == 0);
            CHECK(unlinkat(rootfd, files[i], 0) == 0);
            if (via_link)
                CHECK(symlinkat("/run/pipe", rootfd, files[i]) == 0);
            else
                CHECK(mkfifoat(rootfd, files[i], 0644) == 0);
            int r = runtime_config_code(i ? "app:app" : "app");
            if (r != COCOIMG_EFORMAT) {
                printf("# %s (%s): %d\n", files[i], via_link ? "symlink" : "fifo", r);
                return -1;
            }
            teardown();
        }
    }
    /* a directory, and a file over the size bound */
    CHECK(setup() == 0);
    CHECK(mkdirat(rootfd, "etc", 0755) == 0 && mkdirat(rootfd, "etc/passwd", 0755) == 0);
    CHECK(runtime_config_code("app") == COCOIMG_EFORMAT);
    CHECK(unlinkat(rootfd, "etc/passwd", AT_REMOVEDIR) == 0);
    int fd = openat(rootfd, "etc/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, COCOIMG_RUNTIME_MAX_DB + 1) == 0);
    close(fd);
    CHECK(runtime_config_code("app") == COCOIMG_ELIMIT);
    /* the regular file case still works */
    CHECK(unlinkat(rootfd, "etc/passwd", 0) == 0);
    fd = openat(rootfd, "etc/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && write(fd, "app:x:7:8::/h:/\n", 16) == 16);
    close(fd);
    CHECK(runtime_config_code("app") == 0);
    teardown();
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_normalize),
    TAP_TEST(test_basic_types),
    TAP_TEST(test_rootless_skips_devices),
    TAP_TEST(test_whiteouts),
    TAP_TEST(test_opaque),
    TAP_TEST(test_replace),
    TAP_TEST(test_long_names),
    TAP_TEST(test_xattrs),
    TAP_TEST(test_drains_and_verifies),
    TAP_TEST(test_malformed_and_limits),
    TAP_TEST(test_hostile_dotdot_and_absolute),
    TAP_TEST(test_hostile_symlink_escape),
    TAP_TEST(test_hostile_symlink_lower_layer),
    TAP_TEST(test_hostile_hardlinks),
    TAP_TEST(test_hostile_whiteouts),
    TAP_TEST(test_fallback_walk),
    TAP_TEST(test_open_in_root),
    TAP_TEST(test_special_file_swap),
    TAP_TEST(test_symlink_metadata_not_followed),
    TAP_TEST(test_root_entry_ignored),
    TAP_TEST(test_xattr_policy),
    TAP_TEST(test_setid_not_root),
    TAP_TEST(test_passwd_not_regular),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
