/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz what a registry's headers make the client do: the WWW-Authenticate
 * parser, then the realm policy (https only for a verified registry,
 * credentials over plain http only to the registry's own host:port), the
 * upload Location policy and the Bearer token character check, each with
 * the invariants it promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hosts[] = {"reg.example", "127.0.0.1:5000", "[::1]:5000", "localhost"};
static const char *const schemes[] = {"https", "http"};

static void
check_url(const char *url)
{
    for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++)
        for (int s = 0; s < 2; s++)
            for (int insecure = 0; insecure < 2; insecure++) {
                bool send = false, same = false;
                cocoimg_error *e = NULL;
                int r = cocoimg__auth_realm_check(&send, url, hosts[h], schemes[s], insecure, &e);
                /* curl's parse decides the scheme ("https:/x" is https) */
                if (r == 0 && strncasecmp(url, "http", 4) != 0)
                    abort(); /* a scheme other than http(s) */
                if (r == 0 && !insecure && strncasecmp(url, "http:", 5) == 0)
                    abort(); /* a verified registry used a plain-http realm */
                if (r < 0 && (send || !e || !cocoimg_error_message(e)[0]))
                    abort();
                cocoimg_error_free(e);
                e = NULL;
                r = cocoimg__location_check(&same, url, hosts[h], schemes[s], insecure, &e);
                if (r == 0 && (strncasecmp(url, "http", 4) != 0 ||
                               (s == 0 && strncasecmp(url, "http:", 5) == 0)))
                    abort(); /* another scheme, or an https -> http downgrade, accepted */
                if (r < 0 && same)
                    abort();
                cocoimg_error_free(e);
            }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    /* the token check sees the raw bytes, NULs included */
    if (cocoimg__auth_token_ok((const char *)data, size))
        for (size_t i = 0; i < size; i++)
            if (data[i] <= 0x20 || data[i] >= 0x7f || data[i] == ',' || data[i] == '"')
                abort();
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    cocoimg__auth_challenge c;
    cocoimg_error *e = NULL;
    if (cocoimg__auth_challenge_parse(&c, s, &e) == 0) {
        if (c.scheme != COCOIMG_AUTH_BASIC && c.scheme != COCOIMG_AUTH_BEARER)
            abort();
        if (c.scheme == COCOIMG_AUTH_BEARER && (!c.realm || !*c.realm))
            abort();
        if (c.realm)
            check_url(c.realm);
        cocoimg__auth_challenge_clear(&c);
    } else if (!e || !cocoimg_error_message(e)[0]) {
        abort();
    }
    cocoimg_error_free(e);
    check_url(s);
    free(s);
    return 0;
}
