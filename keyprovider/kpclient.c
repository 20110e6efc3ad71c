/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocicrypt's keyprovider client (ocicrypt config/keyprovider-config and
 * keywrap/keyprovider; spec ocicrypt 6.5): the providers of a
 * configuration file, each behind a transport (cmd: a child process, grpc:
 * one unary call), presented as one cocoimg_keyprovider.
 *
 * What a provider is sent: its own parameters and the one blob, nothing
 * else (ocicrypt forwards the whole EncryptConfig/DecryptConfig, private
 * keys and passwords included, to every provider).  A cmd child gets a
 * minimal environment and dies at the deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cocoimg/keyprovider.h>

#include "grpc.h"
#include "kp_int.h"
#include "util/fs.h"
#include "util/json.h"

#define KP_CONFIG_MAX (256u * 1024)
#define KP_STDERR_MAX 4096
#define KP_TIMEOUT_DEFAULT_MS 30000

extern char **environ;

enum kp_kind { KP_CMD, KP_GRPC, KP_UNSUPPORTED };

struct kp_entry {
    char *name;
    enum kp_kind kind;
    char *path;   /* cmd */
    char **argv;  /* cmd: path, args..., NULL */
    char *target; /* grpc */
    struct cocoimg__grpc_tls tls;
    char *tls_ca, *tls_cert, *tls_key, *tls_name;
    const char *unsupported; /* "ttrpc", "native" */
};

struct cocoimg_kp_client {
    struct kp_entry *e;
    size_t n;
    char **dparams; /* "NAME[:PARAMS]" */
    size_t n_dparams;
    const cocoimg_keyprovider *native;
    char *native_name;
    bool native_overrides;
    int timeout_ms;
};

int
cocoimg_kp_client_options_init(cocoimg_kp_client_options *o, unsigned int version)
{
    if (!o || version == 0 || version > COCOIMG_KP_CLIENT_OPTIONS_VERSION)
        return COCOIMG_EINVAL;
    cocoimg_kp_client_options def = COCOIMG_KP_CLIENT_OPTIONS_INIT;
    *o = def;
    o->version = version;
    return 0;
}

static void
entry_clear(struct kp_entry *e)
{
    free(e->name);
    free(e->path);
    if (e->argv)
        for (char **a = e->argv; *a; a++)
            free(*a);
    free(e->argv);
    free(e->target);
    free(e->tls_ca);
    free(e->tls_cert);
    free(e->tls_key);
    free(e->tls_name);
}

void
cocoimg_kp_client_free(cocoimg_kp_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_clear(&c->e[i]);
    free(c->e);
    for (size_t i = 0; i < c->n_dparams; i++)
        cocoimg__free_wipe_str(c->dparams[i]);
    free(c->dparams);
    free(c->native_name);
    free(c);
}
COCOIMG_DEFINE_CLEANUP(cocoimg_kp_client, cocoimg_kp_client_free)

/* Only the listed members may appear in @p obj. */
static int
only_members(const json_t *obj, const char *const *allowed, const char *what, cocoimg_error **err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: unknown member '%.64s'", what,
                                      k);
    }
    return 0;
}

static int
dup_str(char **out, const json_t *obj, const char *key, bool required, const char *what,
        cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' is required", what, key);
        return 0;
    }
    if (!json_is_string(v) || !json_string_length(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be a non-empty string",
                                  what, key);
    return (*out = strdup(json_string_value(v))) ? 0 : cocoimg__error_oom(err);
}

static int
parse_cmd(struct kp_entry *e, const json_t *cmd, const char *what, cocoimg_error **err)
{
    static const char *const allowed[] = {"path", "args", NULL};
    if (!json_is_object(cmd))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'cmd' must be an object", what);
    int r = only_members(cmd, allowed, what, err);
    if (r < 0 || (r = dup_str(&e->path, cmd, "path", true, what, err)) < 0)
        return r;
    if (e->path[0] != '/')
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: cmd path must be absolute (no PATH lookup)", what);
    json_t *args = json_object_get(cmd, "args");
    if (args && !json_is_null(args) && !json_is_array(args))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: cmd args must be a list", what);
    size_t n = args && json_is_array(args) ? json_array_size(args) : 0;
    if (n > 256)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s: too many cmd args", what);
    if (!(e->argv = calloc(n + 2, sizeof(char *))) || !(e->argv[0] = strdup(e->path)))
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(args, i);
        if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: cmd args must be strings",
                                      what);
        if (!(e->argv[i + 1] = strdup(json_string_value(a))))
            return cocoimg__error_oom(err);
    }
    e->kind = KP_CMD;
    return 0;
}

static int
parse_tls(struct kp_entry *e, const json_t *tls, const char *what, cocoimg_error **err)
{
    static const char *const allowed[] = {
        "root-ca-file", "cert-file", "key-file", "server-name", "insecure-skip-verify", NULL};
    if (!json_is_object(tls))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'grpc-tls' must be an object",
                                  what);
    int r = only_members(tls, allowed, what, err);
    if (r < 0 || (r = dup_str(&e->tls_ca, tls, "root-ca-file", false, what, err)) < 0 ||
        (r = dup_str(&e->tls_cert, tls, "cert-file", false, what, err)) < 0 ||
        (r = dup_str(&e->tls_key, tls, "key-file", false, what, err)) < 0 ||
        (r = dup_str(&e->tls_name, tls, "server-name", false, what, err)) < 0)
        return r;
    json_t *skip = json_object_get(tls, "insecure-skip-verify");
    if (skip && !json_is_boolean(skip))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: 'insecure-skip-verify' must be true or false", what);
    if (json_is_true(skip))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "%s: insecure-skip-verify is refused: give root-ca-file", what);
    if (!e->tls_cert != !e->tls_key)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: cert-file and key-file go together",
                                  what);
    e->tls.enabled = true;
    e->tls.root_ca_file = e->tls_ca;
    e->tls.cert_file = e->tls_cert;
    e->tls.key_file = e->tls_key;
    e->tls.server_name = e->tls_name;
    return 0;
}

static int
parse_entry(struct kp_entry *e, const char *name, const json_t *v, cocoimg_error **err)
{
    static const char *const allowed[] = {"cmd", "grpc", "grpc-tls", "ttrpc", "native", NULL};
    char what[128];
    snprintf(what, sizeof(what), "keyprovider config: provider '%.64s'", name);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "%s: names are letters, digits, '-', '_', '.'", what);
    if (!*name || !(e->name = strdup(name)))
        return *name ? cocoimg__error_oom(err)
                     : cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: empty name", what);
    if (!json_is_object(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s must be an object", what);
    int r = only_members(v, allowed, what, err);
    if (r < 0)
        return r;
    json_t *cmd = json_object_get(v, "cmd"), *tls = json_object_get(v, "grpc-tls");
    if (cmd && !json_is_null(cmd)) /* cmd wins over grpc, as in ocicrypt */
        return parse_cmd(e, cmd, what, err);
    if ((r = dup_str(&e->target, v, "grpc", false, what, err)) < 0)
        return r;
    if (e->target) {
        e->kind = KP_GRPC;
        return tls && !json_is_null(tls) ? parse_tls(e, tls, what, err) : 0;
    }
    /* written by CDH for itself; kept so that using them says why not */
    e->kind = KP_UNSUPPORTED;
    if (json_object_get(v, "ttrpc"))
        e->unsupported = "ttrpc";
    else if (json_object_get(v, "native"))
        e->unsupported = "native";
    else
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: needs 'cmd' or 'grpc'", what);
    return 0;
}

static int
load_config(cocoimg_kp_client *c, const char *path, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    int r = cocoimg__read_file(&buf, &len, AT_FDCWD, path, KP_CONFIG_MAX, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "keyprovider config %s", path);
    _cleanup_json_ json_t *doc = NULL;
    if ((r = cocoimg__json_loadb(&doc, buf, len, KP_CONFIG_MAX, true, path, err)) < 0)
        return r;
    static const char *const top[] = {"key-providers", NULL};
    if ((r = only_members(doc, top, path, err)) < 0)
        return r;
    json_t *kps = json_object_get(doc, "key-providers");
    if (!kps || json_is_null(kps))
        return 0;
    if (!json_is_object(kps))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'key-providers' must be an object",
                                  path);
    size_t n = json_object_size(kps);
    if (n > 64)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s: more than 64 key providers", path);
    if (!(c->e = calloc(n ? n : 1, sizeof(*c->e))))
        return cocoimg__error_oom(err);
    const char *k;
    json_t *v;
    json_object_foreach(kps, k, v)
    {
        r = parse_entry(&c->e[c->n], k, v, err);
        c->n++;
        if (r < 0)
            return cocoimg__error_wrap(err, r, "%s", path);
    }
    return 0;
}

static const struct kp_entry *
find_entry(const cocoimg_kp_client *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0)
            return &c->e[i];
    return NULL;
}

int
cocoimg_kp_client_new(cocoimg_kp_client **out, const cocoimg_kp_client_options *o,
                      cocoimg_error **err)
{
    if (!out || !o || !COCOIMG__VERSION_OK(o->version, COCOIMG_KP_CLIENT_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "keyprovider client: bad options");
    if (o->native &&
        (!o->native_name || !COCOIMG__VERSION_OK(o->native->version, COCOIMG_KEYPROVIDER_VERSION)))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "keyprovider client: a native provider needs a name");
    _cleanup_(cocoimg_kp_client_freep) cocoimg_kp_client *c = calloc(1, sizeof(*c));
    if (!c)
        return cocoimg__error_oom(err);
    c->native = o->native;
    c->native_overrides = o->native_overrides != 0;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KP_TIMEOUT_DEFAULT_MS;
    if (o->native && !(c->native_name = strdup(o->native_name)))
        return cocoimg__error_oom(err);
    int r;
    if (o->config_file && (r = load_config(c, o->config_file, err)) < 0)
        return r;
    if (o->n_decrypt_params) {
        if (!(c->dparams = calloc(o->n_decrypt_params, sizeof(char *))))
            return cocoimg__error_oom(err);
        for (size_t i = 0; i < o->n_decrypt_params; i++) {
            if (!o->decrypt_params[i] || !*o->decrypt_params[i] || *o->decrypt_params[i] == ':')
                return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                          "provider key needs a name (provider:NAME[:PARAMS])");
            if (!(c->dparams[c->n_dparams++] = strdup(o->decrypt_params[i])))
                return cocoimg__error_oom(err);
        }
    }
    *out = TAKE_PTR(c);
    return 0;
}

/* native serves @p name? */
static bool
use_native(const cocoimg_kp_client *c, const char *name)
{
    return c->native && strcmp(c->native_name, name) == 0 &&
           (c->native_overrides || !find_entry(c, name));
}

bool
cocoimg_kp_client_has(const cocoimg_kp_client *c, const char *name)
{
    return c && name && (use_native(c, name) || find_entry(c, name));
}

/* --- cmd transport ------------------------------------------------------- */

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The environment a cmd provider gets: a few harmless variables, no secrets. */
static char **
child_env(void)
{
    static const char *const keep[] = {"HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", NULL};
    char **env = calloc(8, sizeof(char *));
    if (!env)
        return NULL;
    size_t n = 0;
    const char *path = getenv("PATH");
    if (asprintf(&env[n], "PATH=%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin") < 0)
        goto oom;
    n++;
    for (const char *const *k = keep; *k; k++) {
        const char *v = getenv(*k);
        if (!v)
            continue;
        if (asprintf(&env[n], "%s=%s", *k, v) < 0)
            goto oom;
        n++;
    }
    return env;
oom:
    for (size_t i = 0; i < n; i++)
        free(env[i]);
    free(env);
    return NULL;
}

static void
env_free(char **env)
{
    if (!env)
        return;
    for (char **e = env; *e; e++)
        free(*e);
    free(env);
}

/* the provider's stderr, one line, printable, bounded (it is its own words) */
static void
clean_line(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            if (!p[1] || (p[1] == '\n' && !p[2])) {
                *p = '\0';
                break;
            }
            *p = ' ';
        } else if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
            *p = '?';
        }
    }
    if (strlen(s) > 300)
        strcpy(s + 297, "...");
}

struct child_io {
    int in, out, errfd;
    const cocoimg__secret *req;
    size_t sent;
    cocoimg__secret *reply;
    size_t got;
    bool too_big;
    char errbuf[KP_STDERR_MAX + 1];
    size_t errlen;
};

/* one poll round; returns 1 when stdout and stderr are at EOF */
static int
child_pump(struct child_io *io, int timeout, cocoimg_error **err)
{
    struct pollfd p[3] = {{.fd = io->in, .events = POLLOUT},
                          {.fd = io->out, .events = POLLIN},
                          {.fd = io->errfd, .events = POLLIN}};
    int n = poll(p, 3, timeout);
    if (n < 0 && errno != EINTR)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "poll");
    if (n <= 0)
        return 0;
    if (io->in >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t w = send(io->in, io->req->ptr + io->sent, io->req->len - io->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            io->sent += (size_t)w;
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            io->sent = io->req->len; /* it stopped reading: its exit status tells */
        if (io->sent == io->req->len) {
            close(io->in);
            io->in = -1;
        }
    }
    if (io->out >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
        uint8_t buf[16384];
        ssize_t r = read(io->out, buf, sizeof(buf));
        if (r > 0 && io->got + (size_t)r > COCOIMG__KP_MSG_MAX)
            io->too_big = true;
        else if (r > 0) {
            if (!io->reply || io->got + (size_t)r > io->reply->len) {
                size_t cap = io->reply ? io->reply->len * 2 : 65536;
                while (cap < io->got + (size_t)r)
                    cap *= 2;
                cocoimg__secret *ns = NULL;
                if (cocoimg__secret_new(&ns, cap, err) < 0)
                    return COCOIMG_ENOMEM;
                if (io->reply)
                    memcpy(ns->ptr, io->reply->ptr, io->got);
                cocoimg__secret_free(io->reply);
                io->reply = ns;
            }
            memcpy(io->reply->ptr + io->got, buf, (size_t)r);
            io->got += (size_t)r;
        }
        cocoimg__wipe(buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
            close(io->out);
            io->out = -1;
        }
    }
    if (io->errfd >= 0 && (p[2].revents & (POLLIN | POLLERR | POLLHUP))) {
        char buf[1024];
        ssize_t r = read(io->errfd, buf, sizeof(buf));
        if (r > 0) {
            size_t take = (size_t)r;
            if (take > KP_STDERR_MAX - io->errlen)
                take = KP_STDERR_MAX - io->errlen;
            memcpy(io->errbuf + io->errlen, buf, take);
            io->errlen += take;
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(io->errfd);
            io->errfd = -1;
        }
    }
    return io->out < 0 && io->errfd < 0;
}

static int
cmd_call(cocoimg__secret **reply, const struct kp_entry *e, const cocoimg__secret *req,
         int timeout_ms, cocoimg_error **err)
{
    int sv[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(po, O_CLOEXEC) < 0 ||
        pipe2(pe, O_CLOEXEC) < 0) {
        int e2 = errno;
        for (int i = 0; i < 2; i++) {
            if (sv[i] >= 0)
                close(sv[i]);
            if (po[i] >= 0)
                close(po[i]);
            if (pe[i] >= 0)
                close(pe[i]);
        }
        return cocoimg__error_set(err, COCOIMG_EIO, e2, "cmd %s: pipes", e->path);
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char **env = child_env();
    pid_t pid = -1;
    int sr = env ? posix_spawn(&pid, e->path, &fa, &at, e->argv, env) : ENOMEM;
    env_free(env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(sv[1]);
    close(po[1]);
    close(pe[1]);
    if (sr != 0) {
        close(sv[0]);
        close(po[0]);
        close(pe[0]);
        return cocoimg__error_set(err, COCOIMG_EIO, sr, "cmd %s: cannot run it", e->path);
    }
    struct child_io io = {.in = sv[0], .out = po[0], .errfd = pe[0], .req = req};
    fcntl(io.in, F_SETFL, fcntl(io.in, F_GETFL) | O_NONBLOCK);
    int64_t deadline = now_ms() + timeout_ms;
    int r = 0;
    bool timed_out = false;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        r = child_pump(&io, (int)(left > 1000 ? 1000 : left), err);
        if (r != 0)
            break;
    }
    if (timed_out || r < 0)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (io.in >= 0)
        close(io.in);
    if (io.out >= 0)
        close(io.out);
    if (io.errfd >= 0)
        close(io.errfd);
    _cleanup_secret_ cocoimg__secret *got = io.reply;
    if (r < 0)
        return r;
    if (timed_out)
        return cocoimg__error_set(err, COCOIMG_ENET, 0, "cmd %s: no answer within %d ms", e->path,
                                  timeout_ms);
    io.errbuf[io.errlen] = '\0';
    clean_line(io.errbuf);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        if (WIFEXITED(status))
            snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
        else
            snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0, "cmd %s %s%s%s", e->path, how,
                                  io.errlen ? ": " : "", io.errbuf);
    }
    if (io.too_big)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "cmd %s: answer over %u bytes", e->path,
                                  COCOIMG__KP_MSG_MAX);
    if (!got)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "cmd %s: no answer on stdout", e->path);
    got->len = io.got; /* the rest of the buffer is zeros */
    *reply = TAKE_PTR(got);
    return 0;
}

/* --- one call, either transport -------------------------------------------- */

/* *out: the result bytes, malloc'd (the library wipes and frees them) */
static int
call(uint8_t **out, size_t *out_len, const cocoimg_kp_client *c, const struct kp_entry *e,
     enum cocoimg__kp_op op, const char *const *params, size_t n_params, const uint8_t *data,
     size_t len, cocoimg_error **err)
{
    if (e->kind == KP_UNSUPPORTED)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "%s providers are not supported here (use grpc or cmd)",
                                  e->unsupported);
    _cleanup_secret_ cocoimg__secret *req = NULL, *reply = NULL;
    int r = cocoimg__kp_request_build(&req, op, e->name, params, n_params, data, len, err);
    if (r < 0)
        return r;
    if (e->kind == KP_CMD) {
        r = cmd_call(&reply, e, req, c->timeout_ms, err);
    } else {
        uint8_t *got = NULL;
        size_t got_len = 0;
        r = cocoimg__grpc_call(
            e->target, &e->tls, op == COCOIMG__KP_OP_WRAP ? COCOIMG__KP_WRAP : COCOIMG__KP_UNWRAP,
            req->ptr, req->len, &got, &got_len, COCOIMG__KP_MSG_MAX, c->timeout_ms, err);
        if (r == 0) {
            r = cocoimg__secret_dup(&reply, got, got_len, err);
            cocoimg__wipe(got, got_len);
            free(got);
        }
    }
    if (r < 0)
        return r;
    _cleanup_secret_ cocoimg__secret *res = NULL;
    if ((r = cocoimg__kp_reply_parse(&res, op, reply->ptr, reply->len, err)) < 0)
        return r;
    if (!(*out = malloc(res->len)))
        return cocoimg__error_oom(err);
    memcpy(*out, res->ptr, res->len);
    *out_len = res->len;
    return 0;
}

static int
kp_wrap(uint8_t **out, size_t *out_len, const char *provider, const char *params,
        const uint8_t *optsdata, size_t optsdata_len, cocoimg_error **err, void *payload)
{
    const cocoimg_kp_client *c = payload;
    if (use_native(c, provider)) {
        if (!c->native->wrap)
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "cannot encrypt");
        return c->native->wrap(out, out_len, provider, params, optsdata, optsdata_len, err,
                               c->native->payload);
    }
    const struct kp_entry *e = find_entry(c, provider);
    if (!e)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "not configured (OCICRYPT_KEYPROVIDER_CONFIG names no "
                                  "provider '%.64s')",
                                  provider);
    const char *plist[1] = {params};
    return call(out, out_len, c, e, COCOIMG__KP_OP_WRAP, plist, params ? 1 : 0, optsdata,
                optsdata_len, err);
}

static int
kp_unwrap(uint8_t **out, size_t *out_len, const char *provider, const uint8_t *wrapped,
          size_t wrapped_len, cocoimg_error **err, void *payload)
{
    const cocoimg_kp_client *c = payload;
    if (use_native(c, provider)) {
        if (!c->native->unwrap)
            return cocoimg__error_set(err, COCOIMG_ENOKEY, 0, "cannot decrypt");
        return c->native->unwrap(out, out_len, provider, wrapped, wrapped_len, err,
                                 c->native->payload);
    }
    const struct kp_entry *e = find_entry(c, provider);
    if (!e)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                                  "not configured (OCICRYPT_KEYPROVIDER_CONFIG names no "
                                  "provider '%.64s')",
                                  provider);
    /* this provider's decryption parameters, and nobody else's */
    const char *plist[64];
    size_t n = 0, nl = strlen(provider);
    for (size_t i = 0; i < c->n_dparams && n < 64; i++) {
        const char *d = c->dparams[i];
        if (strncmp(d, provider, nl) == 0 && (d[nl] == '\0' || d[nl] == ':'))
            plist[n++] = d[nl] ? d + nl + 1 : "Enabled";
    }
    return call(out, out_len, c, e, COCOIMG__KP_OP_UNWRAP, plist, n, wrapped, wrapped_len, err);
}

int
cocoimg_kp_client_keyprovider(cocoimg_keyprovider *out, cocoimg_kp_client *c)
{
    if (!out || !c)
        return COCOIMG_EINVAL;
    memset(out, 0, sizeof(*out));
    out->version = COCOIMG_KEYPROVIDER_VERSION;
    out->wrap = kp_wrap;
    out->unwrap = kp_unwrap;
    out->payload = c;
    return 0;
}
