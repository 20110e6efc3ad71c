/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_GPG_GPG_H
#define COCOIMG_GPG_GPG_H

/*
 * gpg: the GPGME plumbing shared by the OpenPGP key wrapper (crypt/) and
 * simple signing (signatures/).
 *
 * A home is a private, throw-away GnuPG home directory.  Its gpg-agent is
 * started by us, through gpgconf found at an absolute path (GPGME's
 * engine info, never $PATH), with a minimal environment (PATH=/usr/bin:/bin,
 * LANG=C, HOME=the home): the agent, which holds imported secret keys,
 * never inherits the caller's environment.  The home's gpg.conf says
 * no-autostart, so gpg never starts a second agent with the environment
 * GPGME passes it.  Freeing the home stops the agent and removes the
 * directory.
 *
 * GPGME runs gpg itself with the process environment (it has no knob for
 * it); the CLI takes its secrets (COCOIMG_KEY_PASSWORD,
 * COCOIMG_REGISTRY_PASSWORD) out of the environment first thing in main(),
 * and a library user must not keep secrets in the environment either.
 */

#include <gpgme.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/cleanup.h"
#include "util/error.h"

struct cocoimg__gpg_home; /* a private, throw-away GnuPG home */

/*
 * mkdtemp "<tmpdir or $TMPDIR or /tmp>/cocoimg-gnupg.XXXXXX" (0700) and
 * start its agent; GPGME is initialised once (COCOIMG_ENOTSUP with a clear
 * message if it or its OpenPGP engine is unusable).
 */
int cocoimg__gpg_home_new(struct cocoimg__gpg_home **out, const char *tmpdir, cocoimg_error **err);
const char *cocoimg__gpg_home_dir(const struct cocoimg__gpg_home *h);
/*
 * A new GPGME context: OpenPGP, bound to the home, loopback pinentry with a
 * refusing passphrase callback, armor off, offline.  Release with
 * gpgme_release.
 */
int cocoimg__gpg_home_ctx(gpgme_ctx_t *out, const struct cocoimg__gpg_home *h, cocoimg_error **err);
/*
 * Import keys (binary or armored); *n_public / *n_secret: how many keys /
 * secret keys of @p data are in the home now (imported, or there already);
 * either may be NULL.
 */
int cocoimg__gpg_home_import(struct cocoimg__gpg_home *h, const void *data, size_t len,
                             size_t *n_public, size_t *n_secret, cocoimg_error **err);
/* Stop the home's gpg-agent and remove the directory; NULL is fine. */
void cocoimg__gpg_home_free(struct cocoimg__gpg_home *h);
COCOIMG_DEFINE_CLEANUP(struct cocoimg__gpg_home, cocoimg__gpg_home_free)

/*
 * The same kind of context for any home directory (NULL: GnuPG's default,
 * e.g. the user's --gpg-homedir).  When the refusing passphrase callback
 * is called, *asked (if not NULL; it must outlive the context) is set.
 */
int cocoimg__gpg_ctx_new(gpgme_ctx_t *out, const char *homedir, bool *asked, cocoimg_error **err);

void cocoimg__gpgme_ctx_releasep(gpgme_ctx_t *c);
void cocoimg__gpgme_data_releasep(gpgme_data_t *d);

#endif
