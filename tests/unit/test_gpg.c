/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gpg/: a private GnuPG home is created 0700 under the given directory,
 * imports count public and secret keys, its gpg-agent runs with a minimal
 * environment (no secrets of ours), and freeing the home stops the agent
 * and removes the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpg/gpg.h"
#include "ocivectors.h"
#include "tap.h"
#include "util/fs.h"

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    *len = n;
    return buf;
}

static char *
vec_file(const char *rel, size_t *len)
{
    char *p = vec_path(rel);
    char *d = p ? slurp(p, len) : NULL;
    free(p);
    return d;
}

/* The whole of /proc/PID/FILE (NUL-separated); NULL when unreadable. */
static char *
proc_file(const char *pid, const char *file, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "/proc/%.32s/%.32s", pid, file);
    return slurp(path, len);
}

static bool
has_entry(const char *buf, size_t len, const char *want, bool prefix)
{
    for (size_t off = 0; off < len; off += strlen(buf + off) + 1)
        if (prefix ? strncmp(buf + off, want, strlen(want)) == 0 : strcmp(buf + off, want) == 0)
            return true;
    return false;
}

/* The PID of a gpg-agent whose command line names @p home, "" when none. */
static void
find_agent(const char *home, char out[static 32])
{
    out[0] = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        size_t len = 0;
        char *cmd = proc_file(de->d_name, "cmdline", &len);
        if (cmd && len && strstr(cmd, "gpg-agent") && has_entry(cmd, len, home, false))
            snprintf(out, 32, "%.31s", de->d_name);
        free(cmd);
    }
    if (d)
        closedir(d);
}

static int
test_home(void)
{
    char base[] = "/tmp/cocoimg-test-gpg.XXXXXX";
    CHECK(mkdtemp(base) != NULL);
    cocoimg_error *e = NULL;
    struct cocoimg__gpg_home *h = NULL;
    CHECK_OK(cocoimg__gpg_home_new(&h, base, &e));
    const char *dir = cocoimg__gpg_home_dir(h);
    CHECK(dir && strncmp(dir, base, strlen(base)) == 0 &&
          strncmp(dir + strlen(base), "/cocoimg-gnupg.", 15) == 0);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
    char *saved = strdup(dir);

    size_t len = 0, n_pub = 99, n_sec = 99;
    char *pub = vec_file("keys/pgp_pub.asc", &len);
    CHECK(pub && len > 0);
    CHECK_OK(cocoimg__gpg_home_import(h, pub, len, &n_pub, &n_sec, &e));
    CHECK(n_pub == 1 && n_sec == 0);
    free(pub);
    char *sec = vec_file("keys/pgp_secring.gpg", &len);
    CHECK(sec && len > 0);
    CHECK_OK(cocoimg__gpg_home_import(h, sec, len, NULL, &n_sec, &e));
    CHECK(n_sec == 1);
    free(sec);
    CHECK(cocoimg__gpg_home_import(h, "no key", 6, &n_pub, &n_sec, &e) == 0 && n_pub == 0 &&
          n_sec == 0);

    /* a context bound to the home lists the imported secret key */
    gpgme_ctx_t ctx = NULL;
    CHECK_OK(cocoimg__gpg_home_ctx(&ctx, h, &e));
    gpgme_key_t key = NULL;
    CHECK(gpgme_op_keylist_start(ctx, NULL, 1) == 0 && gpgme_op_keylist_next(ctx, &key) == 0);
    gpgme_key_unref(key);
    gpgme_op_keylist_end(ctx);
    gpgme_release(ctx);

    /* the agent is ours, with our minimal environment */
    char pid[32];
    find_agent(saved, pid);
    CHECK(pid[0] != 0);
    size_t elen = 0;
    char *env = proc_file(pid, "environ", &elen);
    CHECK(env && elen > 0);
    CHECK(has_entry(env, elen, "PATH=/usr/bin:/bin", false));
    CHECK(!has_entry(env, elen, "COCOIMG_", true));
    CHECK(!has_entry(env, elen, "TEST_SECRET=", true));
    free(env);

    cocoimg__gpg_home_free(h);
    CHECK(stat(saved, &st) < 0 && errno == ENOENT);
    /* the agent is gone (it may take a moment to exit after KILLAGENT) */
    for (int i = 0; i < 50; i++) {
        find_agent(saved, pid);
        if (!pid[0])
            break;
        usleep(100 * 1000);
    }
    CHECK(pid[0] == 0);
    free(saved);
    cocoimg__gpg_home_free(NULL);
    CHECK(rmdir(base) == 0);
    return 0;
}

int
main(void)
{
    /* what a careless caller might keep in its environment */
    setenv("COCOIMG_KEY_PASSWORD", "k3y-secret", 1);
    setenv("COCOIMG_REGISTRY_PASSWORD", "r3g-secret", 1);
    setenv("TEST_SECRET", "x", 1);
    static const struct tap_test tests[] = {TAP_TEST(test_home), {0}};
    return tap_run(tests);
}
