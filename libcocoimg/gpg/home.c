/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throw-away GnuPG homes (see gpg.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
};

static pthread_once_t gpgme_once = PTHREAD_ONCE_INIT;
static bool gpgme_ok;
static char gpgconf_path[4096];

static void
gpgme_init_once(void)
{
    gpgme_ok = gpgme_check_version(NULL) != NULL &&
               gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) == GPG_ERR_NO_ERROR;
    gpgme_engine_info_t info = NULL;
    if (gpgme_ok && gpgme_get_engine_info(&info) == 0)
        for (; info; info = info->next)
            if (info->protocol == GPGME_PROTOCOL_GPGCONF && info->file_name &&
                info->file_name[0] == '/')
                snprintf(gpgconf_path, sizeof(gpgconf_path), "%s", info->file_name);
}

int
cocoimg__gpg_init(cocoimg_error **err)
{
    pthread_once(&gpgme_once, gpgme_init_once);
    if (!gpgme_ok)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "GPGME or its OpenPGP engine (gpg) is not usable");
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

int
cocoimg__gpg_home_new(struct cocoimg__gpg_home **out, const char *tmpdir, cocoimg_error **err)
{
    int r = cocoimg__gpg_init(err);
    if (r < 0)
        return r;
    if (!tmpdir || !*tmpdir)
        tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    struct cocoimg__gpg_home *h = calloc(1, sizeof(*h));
    if (!h || asprintf(&h->dir, "%s/cocoimg-gnupg.XXXXXX", tmpdir) < 0) {
        free(h);
        return cocoimg__error_oom(err);
    }
    if (!mkdtemp(h->dir)) { /* mkdtemp makes it 0700 */
        int e = errno;
        free(h->dir);
        free(h);
        return cocoimg__error_set(err, COCOIMG_EIO, e, "cannot create a GnuPG home in %s", tmpdir);
    }
    *out = h;
    return 0;
}

const char *
cocoimg__gpg_home_dir(const struct cocoimg__gpg_home *h)
{
    return h->dir;
}

static gpgme_error_t
refuse_passphrase(void *hook, const char *uid_hint, const char *info, int prev_bad, int fd)
{
    (void)hook;
    (void)uid_hint;
    (void)info;
    (void)prev_bad;
    (void)fd;
    return gpg_error(GPG_ERR_NO_PASSPHRASE);
}

int
cocoimg__gpg_home_ctx(gpgme_ctx_t *out, const struct cocoimg__gpg_home *h, cocoimg_error **err)
{
    int r = cocoimg__gpg_init(err);
    if (r < 0)
        return r;
    gpgme_ctx_t ctx = NULL;
    gpgme_error_t e = gpgme_new(&ctx);
    if (e)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "cannot create a GPGME context: %s",
                                  gpgme_strerror(e));
    if ((e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) ||
        (e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, h->dir)) ||
        (e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK))) {
        gpgme_release(ctx);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "cannot configure a GPGME context: %s",
                                  gpgme_strerror(e));
    }
    gpgme_set_armor(ctx, 0);
    gpgme_set_offline(ctx, 1);
    gpgme_set_passphrase_cb(ctx, refuse_passphrase, NULL);
    *out = ctx;
    return 0;
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
    if (gpgme_data_new_from_mem(&d, data, len, 0))
        return cocoimg__error_oom(err);
    gpgme_error_t e = gpgme_op_import(ctx, d);
    if (e)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "cannot import OpenPGP keys: %s",
                                  gpgme_strerror(e));
    gpgme_import_result_t res = gpgme_op_import_result(ctx);
    if (n_public)
        *n_public = res ? (size_t)(res->imported + res->unchanged) : 0;
    if (n_secret)
        *n_secret = res ? (size_t)res->secret_read : 0;
    return 0;
}

extern char **environ;

void
cocoimg__gpg_home_remove_dir(const char *dir)
{
    pthread_once(&gpgme_once, gpgme_init_once);
    /* gpg started an agent for this home: stop it before removing its socket dir */
    const char *gpgconf = gpgconf_path[0] ? gpgconf_path : "/usr/bin/gpgconf";
    char *argv[] = {(char *)gpgconf,  (char *)"--homedir", (char *)dir,
                    (char *)"--kill", (char *)"all",       NULL};
    /* a minimal environment: nothing of ours (credentials, passwords) reaches gpgconf */
    char *envp[] = {(char *)"PATH=/usr/bin:/bin", (char *)"LC_ALL=C", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (posix_spawn(&pid, gpgconf, &fa, NULL, argv, envp) == 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    posix_spawn_file_actions_destroy(&fa);
    cocoimg__rm_rf(AT_FDCWD, dir, NULL);
}

void
cocoimg__gpg_home_free(struct cocoimg__gpg_home *h)
{
    if (!h)
        return;
    cocoimg__gpg_home_remove_dir(h->dir);
    free(h->dir);
    free(h);
}
