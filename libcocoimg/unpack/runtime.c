/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unpack/apply.h"
#include "unpack/runtime.h"
#include "util/json.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* umoci's defaults (runtime-tools with a minimal, non-privileged capability set) */
static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

static const char *const masked_paths[] = {
    "/proc/kcore",       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/sys/firmware",       "/proc/scsi",
};

static const char *const readonly_paths[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *
str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *
mount(const char *dest, const char *type, const char *source, const char *const *opts, size_t n)
{
    return json_pack("{s:s, s:s, s:s, s:o*}", "destination", dest, "type", type, "source", source,
                     "options", str_array(opts, n));
}

static json_t *
default_mounts(void)
{
    static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
    static const char *const pts[] = {"nosuid",        "noexec",    "newinstance",
                                      "ptmxmode=0666", "mode=0620", "gid=5"};
    static const char *const shm[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"};
    static const char *const mq[] = {"nosuid", "noexec", "nodev"};
    static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro"};
    static const char *const cg[] = {"nosuid", "noexec", "nodev", "relatime", "ro"};
    return json_pack(
        "[{s:s, s:s, s:s}, o*, o*, o*, o*, o*, o*]", "destination", "/proc", "type", "proc",
        "source", "proc", mount("/dev", "tmpfs", "tmpfs", dev, 4),
        mount("/dev/pts", "devpts", "devpts", pts, 6), mount("/dev/shm", "tmpfs", "shm", shm, 5),
        mount("/dev/mqueue", "mqueue", "mqueue", mq, 3), mount("/sys", "sysfs", "sysfs", sys, 4),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", cg, 5));
}

/* --- users --- */

static bool
parse_id(const char *s, size_t len, unsigned long *out)
{
    if (len == 0 || len > 10)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = v;
    return true;
}

/*
 * Read /etc/NAME of the rootfs; *buf NULL if missing.  The image chooses
 * what the path is, so it is resolved inside the rootfs (symlinks never
 * leave it) and opened only once it is known to be a regular file of at
 * most COCOIMG_RUNTIME_MAX_DB bytes: first as O_PATH (opening a fifo would
 * block, a device would reach its driver), then for reading with
 * O_NONBLOCK, checked to be the same file.
 */
static int
read_db(uint8_t **buf, int rootfd, const char *path, cocoimg_error **err)
{
    *buf = NULL;
    cocoimg_error *e = NULL;
    _cleanup_close_ int pfd = cocoimg__unpack_open_in_root(rootfd, path, O_PATH, false, &e);
    if (pfd == COCOIMG_ENOTFOUND) {
        cocoimg_error_free(e);
        return 0;
    }
    if (pfd < 0) {
        if (err && !*err)
            *err = e;
        else
            cocoimg_error_free(e);
        return pfd;
    }
    struct stat pst, st;
    if (fstat(pfd, &pst) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "%s", path);
    if (!S_ISREG(pst.st_mode))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s is not a regular file", path);
    if (pst.st_size > (off_t)COCOIMG_RUNTIME_MAX_DB)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s is larger than %u bytes", path,
                                  COCOIMG_RUNTIME_MAX_DB);
    int fd =
        cocoimg__unpack_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, false, err);
    if (fd < 0)
        return cocoimg__error_wrap(err, fd, "%s", path);
    if (fstat(fd, &st) < 0 || st.st_dev != pst.st_dev || st.st_ino != pst.st_ino) {
        close(fd);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s changed while being opened", path);
    }
    cocoimg__reader *r = NULL;
    int rc = cocoimg__reader_fd(&r, fd, true, err);
    size_t len = 0;
    if (rc == 0)
        rc = cocoimg__reader_to_mem(r, COCOIMG_RUNTIME_MAX_DB, buf, &len, err);
    cocoimg__reader_free(r);
    return rc < 0 ? cocoimg__error_wrap(err, rc, "%s", path) : 0;
}

/* Field @p idx (0-based, ':'-separated) of @p line: pointer and length. */
static bool
field(const char *line, size_t llen, int idx, const char **f, size_t *flen)
{
    const char *p = line, *end = line + llen;
    for (int i = 0; i < idx; i++) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (!c)
            return false;
        p = c + 1;
    }
    const char *c = memchr(p, ':', (size_t)(end - p));
    *f = p;
    *flen = c ? (size_t)(c - p) : (size_t)(end - p);
    return true;
}

typedef bool (*line_cb)(const char *line, size_t len, void *payload);

static void
each_line(const char *buf, line_cb cb, void *payload)
{
    const char *p = buf;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[0] != '#' && cb(p, len, payload))
            return;
        p = nl ? nl + 1 : NULL;
    }
}

struct pw_query {
    const char *name;  /* by name, or */
    unsigned long uid; /* by uid when name is NULL */
    bool found;
    unsigned long out_uid, out_gid;
    char *home;
};

static bool
pw_line(const char *line, size_t len, void *payload)
{
    struct pw_query *q = payload;
    const char *n, *u, *g, *h;
    size_t nl, ul, gl, hl;
    unsigned long uid, gid;
    if (!field(line, len, 0, &n, &nl) || !field(line, len, 2, &u, &ul) ||
        !field(line, len, 3, &g, &gl) || !parse_id(u, ul, &uid) || !parse_id(g, gl, &gid))
        return false;
    if (q->name ? (strlen(q->name) != nl || memcmp(q->name, n, nl) != 0) : uid != q->uid)
        return false;
    q->found = true;
    q->out_uid = uid;
    q->out_gid = gid;
    if (field(line, len, 5, &h, &hl) && hl)
        q->home = strndup(h, hl);
    return true;
}

struct gr_query {
    const char *name;   /* group by name, or */
    const char *member; /* every group listing this user */
    bool found;
    unsigned long gid;
    json_t *sgids;
};

static bool
gr_line(const char *line, size_t len, void *payload)
{
    struct gr_query *q = payload;
    const char *n, *g, *m;
    size_t nl, gl, ml;
    unsigned long gid;
    if (!field(line, len, 0, &n, &nl) || !field(line, len, 2, &g, &gl) || !parse_id(g, gl, &gid))
        return false;
    if (q->name) {
        if (strlen(q->name) != nl || memcmp(q->name, n, nl) != 0)
            return false;
        q->found = true;
        q->gid = gid;
        return true;
    }
    if (!field(line, len, 3, &m, &ml))
        return false;
    size_t ul = strlen(q->member);
    for (const char *p = m, *end = m + ml; p < end;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        size_t l = c ? (size_t)(c - p) : (size_t)(end - p);
        if (l == ul && memcmp(p, q->member, l) == 0) {
            json_array_append_new(q->sgids, json_integer((json_int_t)gid));
            break;
        }
        p = c ? c + 1 : end;
    }
    return false;
}

static int
resolve_user(json_t *process, const char *spec, int rootfd, json_t *env, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *passwd = NULL;
    _cleanup_free_ uint8_t *group = NULL;
    int r;
    if ((r = read_db(&passwd, rootfd, "/etc/passwd", err)) < 0 ||
        (r = read_db(&group, rootfd, "/etc/group", err)) < 0)
        return r;

    const char *colon = spec ? strchr(spec, ':') : NULL;
    size_t ulen = spec ? (colon ? (size_t)(colon - spec) : strlen(spec)) : 0;
    const char *gspec = colon ? colon + 1 : NULL;
    _cleanup_free_ char *uname = spec ? strndup(spec, ulen) : strdup("");
    if (!uname)
        return cocoimg__error_oom(err);

    unsigned long uid = 0, gid = 0;
    struct pw_query pq = {0};
    if (!*uname) {
        pq.uid = 0;
    } else if (parse_id(uname, ulen, &uid)) {
        pq.uid = uid;
    } else {
        pq.name = uname;
    }
    if (passwd)
        each_line((const char *)passwd, pw_line, &pq);
    if (pq.name && !pq.found) {
        free(pq.home);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "user '%s' not found in /etc/passwd",
                                  uname);
    }
    if (pq.found) {
        uid = pq.out_uid;
        gid = pq.out_gid;
    }
    _cleanup_free_ char *home = pq.home;

    if (gspec && *gspec) {
        if (!parse_id(gspec, strlen(gspec), &gid)) {
            struct gr_query gq = {.name = gspec};
            if (group)
                each_line((const char *)group, gr_line, &gq);
            if (!gq.found)
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "group '%s' not found in /etc/group", gspec);
            gid = gq.gid;
        }
    }
    json_t *user = json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
    if (!user || json_object_set_new(process, "user", user) < 0)
        return cocoimg__error_oom(err);
    /* supplementary groups (only when no explicit group was given, like runc) */
    if (pq.found && !(gspec && *gspec) && group) {
        _cleanup_free_ char *name = NULL;
        if (!pq.name) {
            /* the name of the numeric uid's passwd line */
            const char *p = (const char *)passwd;
            while (p && *p && !name) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                const char *u, *n;
                size_t ul2, nl2;
                unsigned long v;
                if (field(p, len, 2, &u, &ul2) && parse_id(u, ul2, &v) && v == uid &&
                    field(p, len, 0, &n, &nl2))
                    name = strndup(n, nl2);
                p = nl ? nl + 1 : NULL;
            }
        }
        const char *member = pq.name ? pq.name : name;
        if (member) {
            struct gr_query gq = {.member = member, .sgids = json_array()};
            if (!gq.sgids)
                return cocoimg__error_oom(err);
            each_line((const char *)group, gr_line, &gq);
            if (json_array_size(gq.sgids))
                json_object_set_new(user, "additionalGids", gq.sgids);
            else
                json_decref(gq.sgids);
        }
    }
    /* HOME from the passwd entry unless the image sets it (runc/umoci) */
    bool have_home = false;
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        if (strncmp(json_string_value(v), "HOME=", 5) == 0)
            have_home = true;
    }
    if (!have_home) {
        _cleanup_free_ char *h = NULL;
        if (asprintf(&h, "HOME=%s", home ? home : "/") < 0)
            return cocoimg__error_oom(err);
        if (json_array_append_new(env, json_string(h)) < 0)
            return cocoimg__error_oom(err);
    }
    return 0;
}

/* --- the config --- */

static int
strings_of(json_t *dst, const json_t *src, const char *what, cocoimg_error **err)
{
    size_t i;
    json_t *v;
    if (!src || json_is_null(src))
        return 0;
    if (!json_is_array(src))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "config: '%s' must be an array", what);
    json_array_foreach(src, i, v)
    {
        if (!json_is_string(v))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "config: '%s' must hold strings",
                                      what);
        if (json_array_append(dst, v) < 0)
            return cocoimg__error_oom(err);
    }
    return 0;
}

static int
annotations(json_t *ann, const cocoimg__config *cfg, const json_t *c, cocoimg_error **err)
{
    const json_t *labels = c ? json_object_get(c, "Labels") : NULL;
    const char *k;
    json_t *v;
    if (labels && json_is_object(labels)) {
        json_object_foreach((json_t *)labels, k, v)
        {
            if (json_is_string(v) && json_object_set(ann, k, v) < 0)
                return cocoimg__error_oom(err);
        }
    }
    struct {
        const char *key;
        const char *val;
    } kv[] = {
        {"org.opencontainers.image.os", cfg->os},
        {"org.opencontainers.image.architecture", cfg->architecture},
        {"org.opencontainers.image.variant", cfg->variant},
        {"org.opencontainers.image.author", cocoimg__json_str(cfg->root, "author")},
        {"org.opencontainers.image.created", cfg->created},
        {"org.opencontainers.image.stopSignal", c ? cocoimg__json_str(c, "StopSignal") : NULL},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(kv); i++)
        if (kv[i].val && *kv[i].val &&
            json_object_set_new(ann, kv[i].key, json_string(kv[i].val)) < 0)
            return cocoimg__error_oom(err);
    const json_t *ports = c ? json_object_get(c, "ExposedPorts") : NULL;
    if (ports && json_is_object(ports) && json_object_size(ports)) {
        size_t len = 0;
        json_object_foreach((json_t *)ports, k, v) len += strlen(k) + 1;
        _cleanup_free_ char *s = calloc(1, len + 1);
        if (!s)
            return cocoimg__error_oom(err);
        json_object_foreach((json_t *)ports, k, v)
        {
            if (*s)
                strcat(s, ",");
            strcat(s, k);
        }
        if (json_object_set_new(ann, "org.opencontainers.image.exposedPorts", json_string(s)) < 0)
            return cocoimg__error_oom(err);
    }
    return 0;
}

int
cocoimg__runtime_config(json_t **out, const cocoimg__config *cfg, int rootfd, cocoimg_error **err)
{
    const json_t *c = cfg->config && json_is_object(cfg->config) ? cfg->config : NULL;
    int r;
    _cleanup_json_ json_t *args = json_array();
    _cleanup_json_ json_t *env = json_array();
    _cleanup_json_ json_t *ann = json_object();
    if (!args || !env || !ann)
        return cocoimg__error_oom(err);
    if (c) {
        if ((r = strings_of(args, json_object_get(c, "Entrypoint"), "Entrypoint", err)) < 0 ||
            (r = strings_of(args, json_object_get(c, "Cmd"), "Cmd", err)) < 0 ||
            (r = strings_of(env, json_object_get(c, "Env"), "Env", err)) < 0)
            return r;
        if ((r = cocoimg__json_opt_string(c, "User", "config", err)) < 0 ||
            (r = cocoimg__json_opt_string(c, "WorkingDir", "config", err)) < 0)
            return r;
    }
    bool have_path = false;
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        if (strncmp(json_string_value(v), "PATH=", 5) == 0)
            have_path = true;
    }
    if (!have_path && json_array_insert_new(env, 0, json_string(DEFAULT_PATH)) < 0)
        return cocoimg__error_oom(err);
    const char *cwd = c ? cocoimg__json_str(c, "WorkingDir") : NULL;
    if (!cwd || !*cwd)
        cwd = "/";

    json_t *caps = str_array(default_caps, COCOIMG_ARRAY_SIZE(default_caps));
    _cleanup_json_ json_t *process = json_pack(
        "{s:b, s:{s:i, s:i}, s:O, s:O, s:s, s:{s:O, s:O, s:O, s:O, s:O}, s:[{s:s, s:i, s:i}], "
        "s:b}",
        "terminal", 0, "user", "uid", 0, "gid", 0, "args", args, "env", env, "cwd", cwd,
        "capabilities", "bounding", caps, "effective", caps, "inheritable", caps, "permitted", caps,
        "ambient", caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
        "noNewPrivileges", 1);
    json_decref(caps);
    if (!process)
        return cocoimg__error_oom(err);
    r = resolve_user(process, c ? cocoimg__json_str(c, "User") : NULL, rootfd,
                     json_object_get(process, "env"), err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "config: user");
    if ((r = annotations(ann, cfg, c, err)) < 0)
        return r;

    json_t *spec = json_pack(
        "{s:s, s:O, s:{s:s, s:b}, s:s, s:o, s:O, s:{s:{s:[{s:b, s:s}]}, s:[{s:s}, {s:s}, {s:s}, "
        "{s:s}, {s:s}], s:o, s:o}}",
        "ociVersion", "1.0.2", "process", process, "root", "path", "rootfs", "readonly", 0,
        "hostname", "coco-img", "mounts", default_mounts(), "annotations", ann, "linux",
        "resources", "devices", "allow", 0, "access", "rwm", "namespaces", "type", "pid", "type",
        "network", "type", "ipc", "type", "uts", "type", "mount", "maskedPaths",
        str_array(masked_paths, COCOIMG_ARRAY_SIZE(masked_paths)), "readonlyPaths",
        str_array(readonly_paths, COCOIMG_ARRAY_SIZE(readonly_paths)));
    if (!spec)
        return cocoimg__error_oom(err);
    *out = spec;
    return 0;
}
