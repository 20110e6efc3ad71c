/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_GPG_GPG_H
#define COCOIMG_GPG_GPG_H

/*
 * Private, throw-away GnuPG homes for GPGME (internal): the OpenPGP key
 * wrapper and simple-signing verification import the keys they need into a
 * fresh home and remove it afterwards, so the user's keyring and trust
 * database never decide anything.
 *
 * A home is a 0700 directory "<tmpdir>/cocoimg-gnupg.XXXXXX".  GnuPG starts
 * a gpg-agent for it on first use; cocoimg__gpg_home_free() stops it with
 * gpgconf found at the absolute path GPGME reports (never through PATH),
 * run with a minimal environment, then removes the directory.
 */

#include <gpgme.h>
#include <stddef.h>

#include "util/error.h"

struct cocoimg__gpg_home;

/* GPGME initialised once; COCOIMG_ENOTSUP when it or gpg is unusable. */
int cocoimg__gpg_init(cocoimg_error **err);

/* A new home under @p tmpdir (NULL: $TMPDIR, else /tmp). */
int cocoimg__gpg_home_new(struct cocoimg__gpg_home **out, const char *tmpdir, cocoimg_error **err);
const char *cocoimg__gpg_home_dir(const struct cocoimg__gpg_home *h);
/*
 * A new GPGME context bound to the home: OpenPGP, loopback pinentry with a
 * passphrase callback that refuses (a protected key fails, nothing
 * prompts), armor off, offline.  Release with gpgme_release().
 */
int cocoimg__gpg_home_ctx(gpgme_ctx_t *out, const struct cocoimg__gpg_home *h, cocoimg_error **err);
/* Import keys (binary or armored); counts of imported public/secret keys (either may be NULL). */
int cocoimg__gpg_home_import(struct cocoimg__gpg_home *h, const void *data, size_t len,
                             size_t *n_public, size_t *n_secret, cocoimg_error **err);
/* Stop the home's gpg-agent and remove the directory; NULL is fine. */
void cocoimg__gpg_home_free(struct cocoimg__gpg_home *h);
COCOIMG_DEFINE_CLEANUP(struct cocoimg__gpg_home, cocoimg__gpg_home_free)

/* Stop the gpg-agent of any home directory @p dir, then remove @p dir. */
void cocoimg__gpg_home_remove_dir(const char *dir);

void cocoimg__gpgme_ctx_releasep(gpgme_ctx_t *c);
void cocoimg__gpgme_data_releasep(gpgme_data_t *d);

#endif
