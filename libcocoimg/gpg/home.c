/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private GnuPG homes and GPGME contexts (see gpg.h).
 *
 * The agent of a home is started here (gpgconf --launch gpg-agent), not by
 * gpg: gpg would hand it the environment GPGME gave gpg, that is ours.
 * gpgconf is run by the absolute path GPGME knows, with a minimal
 * environment, no descriptor but /dev/null on 0-2, default signal
 * handling.  gpg.conf in the home says no-autostart, so a dead agent is an
 * error, not a new agent with our environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpg/gpg.h"
#include "util/fs.h"

struct cocoimg__gpg_home {
    char *dir;
    bool agent; /* gpgconf --launch succeeded: stop it on free */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static const char *init_problem; /* NULL: GPGME and gpg are usable */
static char *gpgconf_path;       /* absolute, or NULL */

static void
init_gpgme(void)
{
    if (!gpgme_check_version(NULL)) {
        init_problem = "GPGME cannot be initialised";
        return;
    }
    if (gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != GPG_ERR_NO_ERROR) {
        init_problem = "GPGME finds no usable OpenPGP engine (gpg)";
        return;
    }
    gpgme_engine_info_t info = NULL;
    if (gpgme_get_engine_info(&info) == GPG_ERR_NO_ERROR)
        for (; info; info = info->next)
            if (info->protocol == GPGME_PROTOCOL_GPGCONF && info->file_name &&
                info->file_name[0] == '/')
                gpgconf_path = strdup(info->file_name);
    if (!gpgconf_path)
        init_problem = "GPGME knows no gpgconf at an absolute path (needed to run gpg-agent)";
}

static int
check_init(cocoimg_error **err)
{
    pthread_once(&init_once, init_gpgme);
    if (init_problem)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "gpg: %s", init_problem);
    return 0;
}

void
cocoimg__gpgme_ctx_releasep(gpgme_ctx_t *c)
{
    if (*c)
        gpgme_release(*c);
}

void
cocoimg__gpgme_data_releasep(gpgme_data_t *d)
{
    if (*d)
        gpgme_data_release(*d);
}

static int
gpg_fail(cocoimg_error **err, int code, gpgme_error_t e, const char *what)
{
    return cocoimg__error_set(err, code, 0, "gpg: %s: %s", what, gpgme_strerror(e));
}

/*
 * Run "gpgconf --homedir DIR ARG1 ARG2"; 0 when it exited 0.  The
 * environment is built here, nothing of ours is passed on.
 */
static int
run_gpgconf(const char *dir, const char *arg1, const char *arg2)
{
    _cleanup_free_ char *home_env = NULL;
    if (asprintf(&home_env, "HOME=%s", dir) < 0)
        return -1;
    char *envp[] = {(char *)"PATH=/usr/bin:/bin", (char *)"LANG=C", home_env, NULL};
    char *argv[] = {gpgconf_path, (char *)"--homedir", (char *)dir,
                    (char *)arg1, (char *)arg2,        NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawn(&pid, gpgconf_path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
write_conf(const char *dir, const char *name, const char *text, cocoimg_error **err)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return cocoimg__error_oom(err);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "gpg: cannot write '%s'", path);
    return 0;
}

int
cocoimg__gpg_home_new(struct cocoimg__gpg_home **out, const char *tmpdir, cocoimg_error **err)
{
    int r = check_init(err);
    if (r < 0)
        return r;
    if (!tmpdir || !*tmpdir)
        tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    _cleanup_(cocoimg__gpg_home_freep) struct cocoimg__gpg_home *h = calloc(1, sizeof(*h));
    char *dir = NULL;
    if (!h || asprintf(&dir, "%s/cocoimg-gnupg.XXXXXX", tmpdir) < 0)
        return cocoimg__error_oom(err);
    if (!mkdtemp(dir)) {
        int e = errno;
        free(dir);
        return cocoimg__error_set(err, COCOIMG_EIO, e, "gpg: cannot create a GnuPG home in '%s'",
                                  tmpdir);
    }
    h->dir = dir;
    if (chmod(h->dir, 0700) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "gpg: chmod '%s'", h->dir);
    /* gpg never starts an agent itself; no key server, no pinentry */
    if ((r = write_conf(h->dir, "gpg.conf", "no-autostart\n", err)) < 0 ||
        (r = write_conf(h->dir, "gpg-agent.conf", "allow-loopback-pinentry\n", err)) < 0)
        return r;
    if (run_gpgconf(h->dir, "--launch", "gpg-agent") < 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "gpg: cannot start gpg-agent for a private GnuPG home");
    h->agent = true;
    *out = TAKE_PTR(h);
    return 0;
}

const char *
cocoimg__gpg_home_dir(const struct cocoimg__gpg_home *h)
{
    return h ? h->dir : NULL;
}

void
cocoimg__gpg_home_free(struct cocoimg__gpg_home *h)
{
    if (!h)
        return;
    if (h->dir) {
        /* the agent first: its socket directory goes with the home */
        if (h->agent)
            (void)run_gpgconf(h->dir, "--kill", "all");
        cocoimg__rm_rf(AT_FDCWD, h->dir, NULL);
        free(h->dir);
    }
    free(h);
}

static gpgme_error_t
refuse_passphrase(void *hook, const char *uid_hint, const char *info, int prev_bad, int fd)
{
    (void)uid_hint;
    (void)info;
    (void)prev_bad;
    (void)fd;
    if (hook)
        *(bool *)hook = true;
    return gpg_error(GPG_ERR_NO_PASSPHRASE);
}

int
cocoimg__gpg_ctx_new(gpgme_ctx_t *out, const char *homedir, bool *asked, cocoimg_error **err)
{
    int r = check_init(err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    gpgme_error_t e = gpgme_new(&ctx);
    if (e)
        return gpg_fail(err, COCOIMG_ERROR, e, "cannot create a GPGME context");
    if ((e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) ||
        (e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, homedir)) ||
        (e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK)))
        return gpg_fail(err, COCOIMG_ERROR, e, "cannot configure the GPGME context");
    gpgme_set_armor(ctx, 0);
    gpgme_set_offline(ctx, 1);
    gpgme_set_passphrase_cb(ctx, refuse_passphrase, asked);
    *out = TAKE_PTR(ctx);
    return 0;
}

int
cocoimg__gpg_home_ctx(gpgme_ctx_t *out, const struct cocoimg__gpg_home *h, cocoimg_error **err)
{
    if (!h || !h->dir)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "gpg: no GnuPG home");
    return cocoimg__gpg_ctx_new(out, h->dir, NULL, err);
}

int
cocoimg__gpg_home_import(struct cocoimg__gpg_home *h, const void *data, size_t len,
                         size_t *n_public, size_t *n_secret, cocoimg_error **err)
{
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    int r = cocoimg__gpg_home_ctx(&ctx, h, err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t d = NULL;
    gpgme_error_t e = gpgme_data_new_from_mem(&d, data, len, 0);
    if (e)
        return gpg_fail(err, COCOIMG_ENOMEM, e, "cannot create a data buffer");
    /* the message names no key material: what gpg says is about the format */
    if ((e = gpgme_op_import(ctx, d)))
        return gpg_fail(err, COCOIMG_EFORMAT, e, "key import failed");
    gpgme_import_result_t res = gpgme_op_import_result(ctx);
    /* a key that was already there counts too: it is in the home now */
    if (n_public)
        *n_public = res ? (size_t)res->imported + (size_t)res->unchanged : 0;
    if (n_secret)
        *n_secret = res ? (size_t)res->secret_imported + (size_t)res->secret_unchanged : 0;
    return 0;
}
