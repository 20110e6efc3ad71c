/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KBS resource URIs (spec 1.11): kbs[+PLUGIN]://[HOST[:PORT]]/SEG[/SEG...][?QUERY]
 * mapped to the path PLUGIN/SEG/...[?QUERY] below /kbs/v0/.  The authority is
 * ignored, as confidential-data-hub does: the client talks to its
 * configured KBS.  The scheme-less key ids of old coco_keyprovider images
 * ("/default/image-kek/...") are refused (spec 3.3).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kbs_int.h"

#define URI_MAX 4096

static bool
unreserved_or_sub(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static bool
hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 pchar* (plus '/' and '?' when @p query) over [s, e). */
static bool
valid_chars(const char *s, const char *e, bool query)
{
    for (const char *p = s; p < e; p++) {
        if (*p == '%') {
            if (e - p < 3 || !hex(p[1]) || !hex(p[2]))
                return false;
            p += 2;
        } else if (!unreserved_or_sub(*p) && !(query && (*p == '/' || *p == '?'))) {
            return false;
        }
    }
    return true;
}

static int
bad(cocoimg_error **err, const char *uri, const char *why)
{
    _cleanup_free_ char *p = cocoimg__kbs_printable(uri, strlen(uri), 200);
    return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "resource URI '%s': %s", p ? p : "?", why);
}

int
cocoimg__kbs_uri_path(char **out, const char *uri, cocoimg_error **err)
{
    if (strlen(uri) > URI_MAX)
        return bad(err, uri, "too long");
    const char *plugin = "resource";
    size_t plugin_len = strlen(plugin);
    const char *p;
    if (strncasecmp(uri, "kbs://", 6) == 0) {
        p = uri + 6;
    } else if (strncasecmp(uri, "kbs+", 4) == 0) {
        plugin = uri + 4;
        const char *sep = strstr(plugin, "://");
        if (!sep)
            return bad(err, uri, "expected kbs:///REPO/TYPE/TAG");
        plugin_len = (size_t)(sep - plugin);
        if (plugin_len == 0 || plugin_len > 64)
            return bad(err, uri, "bad plugin name");
        for (size_t i = 0; i < plugin_len; i++) {
            char c = plugin[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                return bad(err, uri, "bad plugin name");
        }
        p = sep + 3;
    } else {
        return bad(err, uri, "not a kbs:// URI (expected kbs:///REPO/TYPE/TAG)");
    }
    /* authority: ignored, but it must be one */
    const char *path = strchr(p, '/');
    if (!path)
        return bad(err, uri, "no resource path");
    if (!valid_chars(p, path, false))
        return bad(err, uri, "bad authority");
    if (strchr(path, '#'))
        return bad(err, uri, "fragments are not allowed");
    const char *q = strchr(path, '?');
    const char *pend = q ? q : path + strlen(path);
    if (q && !valid_chars(q + 1, q + strlen(q), true))
        return bad(err, uri, "bad query");
    /* segments: /SEG/SEG..., none empty, "." or ".." */
    size_t nseg = 0;
    for (const char *s = path; s < pend;) {
        const char *seg = s + 1;
        const char *e = memchr(seg, '/', (size_t)(pend - seg));
        if (!e)
            e = pend;
        size_t n = (size_t)(e - seg);
        if (n == 0)
            return bad(err, uri, "empty path segment");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return bad(err, uri, "'.' and '..' segments are not allowed");
        if (!valid_chars(seg, e, false))
            return bad(err, uri, "bad character in the path");
        nseg++;
        s = e;
    }
    if (nseg == 0)
        return bad(err, uri, "no resource path");
    char *o = NULL;
    if (asprintf(&o, "%.*s%s", (int)plugin_len, plugin, path) < 0)
        return cocoimg__error_oom(err);
    *out = o;
    return 0;
}
