/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platforms ("os/arch[/variant]") as used in image indexes, normalised the
 * way containerd's platforms package does it so that the usual spellings
 * (x86_64, aarch64, armhf, arm64/v8 ...) compare equal.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "oci/model.h"

static void
set_field(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    while (src && n + 1 < cap && src[n])
        n++;
    if (n)
        memmove(dst, src, n);
    dst[n] = '\0';
}

static void
lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static bool
is_any(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

void
cocoimg__platform_normalize(cocoimg__platform *p)
{
    lower(p->os);
    lower(p->architecture);
    lower(p->variant);
    if (strcmp(p->os, "macos") == 0)
        set_field(p->os, sizeof(p->os), "darwin");

    char *a = p->architecture, *v = p->variant;
    static const char *const x86[] = {"i386", "i486", "i586", "i686", "x86", NULL};
    static const char *const amd64[] = {"x86_64", "x86-64", "amd64", NULL};
    static const char *const arm64[] = {"aarch64", "arm64", NULL};
    if (is_any(a, x86)) {
        set_field(a, sizeof(p->architecture), "386");
        v[0] = '\0';
    } else if (is_any(a, amd64)) {
        set_field(a, sizeof(p->architecture), "amd64");
        /* v1 is the baseline, the same as no variant */
        if (strcmp(v, "v1") == 0)
            v[0] = '\0';
    } else if (is_any(a, arm64)) {
        set_field(a, sizeof(p->architecture), "arm64");
        /* v8 is the default arm64 variant */
        if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0)
            v[0] = '\0';
    } else if (strcmp(a, "armhf") == 0) {
        set_field(a, sizeof(p->architecture), "arm");
        set_field(v, sizeof(p->variant), "v7");
    } else if (strcmp(a, "armel") == 0) {
        set_field(a, sizeof(p->architecture), "arm");
        set_field(v, sizeof(p->variant), "v6");
    } else if (strcmp(a, "arm") == 0) {
        /* 32-bit arm without a variant means v7, as in containerd */
        if (v[0] == '\0' || strcmp(v, "7") == 0)
            set_field(v, sizeof(p->variant), "v7");
        else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0) {
            char t[8];
            snprintf(t, sizeof(t), "v%c", v[0]);
            set_field(v, sizeof(p->variant), t);
        }
    }
}

static bool
valid_component(const char *s, size_t n, size_t cap)
{
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return false;
    }
    return true;
}

int
cocoimg__platform_parse(cocoimg__platform *out, const char *s, cocoimg_error **err)
{
    cocoimg__platform p;
    memset(&p, 0, sizeof(p));
    char *fields[3] = {p.os, p.architecture, p.variant};
    const size_t caps[3] = {sizeof(p.os), sizeof(p.architecture), sizeof(p.variant)};
    const char *cur = s;
    size_t nf = 0;
    for (;;) {
        const char *slash = strchr(cur, '/');
        size_t n = slash ? (size_t)(slash - cur) : strlen(cur);
        if (nf == 3 || !valid_component(cur, n, caps[nf]))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "invalid platform '%.100s' (expected os/arch[/variant])", s);
        memcpy(fields[nf], cur, n);
        fields[nf][n] = '\0';
        nf++;
        if (!slash)
            break;
        cur = slash + 1;
    }
    if (nf < 2)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "invalid platform '%.100s' (expected os/arch[/variant])", s);
    cocoimg__platform_normalize(&p);
    *out = p;
    return 0;
}

void
cocoimg__platform_host(cocoimg__platform *out)
{
    cocoimg__platform p;
    memset(&p, 0, sizeof(p));
    struct utsname u;
    if (uname(&u) == 0) {
        set_field(p.os, sizeof(p.os), u.sysname);
        set_field(p.architecture, sizeof(p.architecture), u.machine);
    } else {
        set_field(p.os, sizeof(p.os), "linux");
    }
    /* "armv7l", "armv6l", "armv8l" (32-bit userland on a 64-bit core) */
    if (strncmp(p.architecture, "armv", 4) == 0 && isdigit((unsigned char)p.architecture[4])) {
        char v[3] = {'v', p.architecture[4], '\0'};
        set_field(p.variant, sizeof(p.variant), v);
        set_field(p.architecture, sizeof(p.architecture), "arm");
    }
    cocoimg__platform_normalize(&p);
    *out = p;
}

/* Variant level for arm ("v7" -> 7) and amd64 ("v3" -> 3, "" -> 1); -1 if not a level. */
static int
variant_level(const char *arch, const char *v)
{
    if (strcmp(arch, "amd64") == 0 && v[0] == '\0')
        return 1;
    if ((strcmp(arch, "arm") != 0 && strcmp(arch, "amd64") != 0) || v[0] != 'v' ||
        !isdigit((unsigned char)v[1]) || v[2] != '\0')
        return -1;
    return v[1] - '0';
}

static void
entry_platform(cocoimg__platform *p, const char *os, const char *architecture, const char *variant)
{
    memset(p, 0, sizeof(*p));
    set_field(p->os, sizeof(p->os), os);
    set_field(p->architecture, sizeof(p->architecture), architecture);
    set_field(p->variant, sizeof(p->variant), variant);
    cocoimg__platform_normalize(p);
}

static bool
same_os_arch(const cocoimg__platform *a, const cocoimg__platform *b)
{
    return strcmp(a->os, b->os) == 0 && strcmp(a->architecture, b->architecture) == 0;
}

/*
 * How well does @p have satisfy @p want: 0 = not at all, higher is
 * better, UINT_MAX-ish for an exact match.  A want without variant takes
 * any variant; an arm v7 machine runs v6 and v5 images, an amd64 v3 one
 * runs v2 and baseline ones.
 */
static unsigned
match_score(const cocoimg__platform *want, const cocoimg__platform *have)
{
    if (!same_os_arch(want, have))
        return 0;
    if (strcmp(want->variant, have->variant) == 0)
        return 100;
    if (want->variant[0] == '\0')
        return 1;
    int wl = variant_level(want->architecture, want->variant);
    int hl = variant_level(have->architecture, have->variant);
    if (wl > 0 && hl > 0 && hl < wl)
        return 1 + (unsigned)hl;
    return 0;
}

bool
cocoimg__platform_matches(const cocoimg__platform *want, const char *os, const char *architecture,
                          const char *variant)
{
    if (!os || !architecture)
        return false;
    cocoimg__platform w = *want, h;
    cocoimg__platform_normalize(&w);
    entry_platform(&h, os, architecture, variant);
    return match_score(&w, &h) > 0;
}

void
cocoimg__platform_format(const cocoimg__platform *p, char *buf, size_t len)
{
    if (p->variant[0])
        snprintf(buf, len, "%s/%s/%s", p->os, p->architecture, p->variant);
    else
        snprintf(buf, len, "%s/%s", p->os, p->architecture);
}

int
cocoimg__index_select(size_t *out, const cocoimg__index *ix, const cocoimg__platform *want,
                      cocoimg_error **err)
{
    cocoimg__platform w = *want;
    cocoimg__platform_normalize(&w);
    size_t best = 0;
    unsigned best_score = 0;
    for (size_t i = 0; i < ix->n_manifests; i++) {
        const cocoimg__descriptor *d = &ix->manifests[i];
        if (!d->os || !d->architecture)
            continue;
        cocoimg__platform h;
        entry_platform(&h, d->os, d->architecture, d->variant);
        unsigned s = match_score(&w, &h);
        if (s > best_score) {
            best_score = s;
            best = i;
        }
    }
    if (best_score > 0) {
        *out = best;
        return 0;
    }

    /* list what there is, bounded */
    char avail[1024] = "";
    size_t used = 0, listed = 0;
    for (size_t i = 0; i < ix->n_manifests; i++) {
        const cocoimg__descriptor *d = &ix->manifests[i];
        if (!d->os || !d->architecture)
            continue;
        cocoimg__platform h;
        entry_platform(&h, d->os, d->architecture, d->variant);
        char one[200];
        cocoimg__platform_format(&h, one, sizeof(one));
        size_t need = strlen(one) + (listed ? 2 : 0);
        if (used + need + 5 >= sizeof(avail)) {
            snprintf(avail + used, sizeof(avail) - used, ", ...");
            break;
        }
        used +=
            (size_t)snprintf(avail + used, sizeof(avail) - used, "%s%s", listed ? ", " : "", one);
        listed++;
    }
    char ws[200];
    cocoimg__platform_format(&w, ws, sizeof(ws));
    return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0,
                              "no manifest for platform '%s' (available: %s)", ws,
                              listed ? avail : "none");
}
