/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the credential parsers: a containers auth.json / docker
 * config.json looked up for a few hosts and repositories, and the same
 * bytes as the output of a docker credential helper.  No helper ever runs
 * (PATH is emptied): a credHelpers/credsStore entry ends in "not found".
 * The invariants: a lookup either finds a user name and a password or
 * nothing, and an error about helper output never quotes it (auth.json
 * errors may name an auths key, which is not secret).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hosts[] = {"docker.io", "reg.example:5000", "quay.io"};
static const char *const repos[] = {NULL, "library/alpine", "ns/app"};

/* An error message must not contain a long run of the input (secrets). */
static void
no_quote(const cocoimg_error *e, const uint8_t *data, size_t size)
{
    const char *m = e ? cocoimg_error_message(e) : NULL;
    if (!m || size < 24)
        return;
    for (size_t i = 0; i + 24 <= size; i += 8)
        if (memmem(m, strlen(m), data + i, 24))
            abort();
}

static void
result(int r, bool found, char *user, cocoimg__secret *pass, cocoimg_error *e, const uint8_t *data,
       size_t size, bool secret_input)
{
    if (r == 0 && found && (!user || !*user || !pass))
        abort();
    if (r == 0 && !found && (user || pass))
        abort();
    if (r < 0 && (!e || !cocoimg_error_message(e)[0] || user || pass))
        abort();
    if (secret_input)
        no_quote(e, data, size);
    free(user);
    cocoimg__secret_free(pass);
    cocoimg_error_free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        setenv("PATH", "/nonexistent-cocoimg-fuzz", 1);
        once = 1;
    }
    if (size > 65536)
        return 0;
    for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
        bool found = false;
        char *user = NULL;
        cocoimg__secret *pass = NULL;
        cocoimg_error *e = NULL;
        int r = cocoimg__authfile_lookup(&found, &user, &pass, data, size, hosts[h], repos[h],
                                         "auth.json", &e);
        result(r, found, user, pass, e, data, size, false);
    }
    bool found = false;
    char *user = NULL;
    cocoimg__secret *pass = NULL;
    cocoimg_error *e = NULL;
    int r = cocoimg__credhelper_parse(&found, &user, &pass, data, size, "docker-credential-fuzz",
                                      "reg.example", &e);
    result(r, found, user, pass, e, data, size, true);
    return 0;
}
