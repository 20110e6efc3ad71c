/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Progress (--progress, --quiet) and the --json summary of the commands
 * that move images.  Everything comes from the library's progress events
 * (cocoimg_context_set_progress); this file only draws: on a terminal, one
 * line per recent layer plus an overall line, redrawn in place at most ten
 * times a second and cleared at the end; --progress=plain writes a line when
 * a layer starts and ends (CI logs); nothing when stderr is not a terminal.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_SHOWN 8 /* layer lines on a terminal */

bool cli_json_errors;

struct layer {
    char id[16]; /* digest prefix */
    int state;   /* 0 not started, 1 active, 2 done, 3 present */
    uint64_t done;
    int64_t total;
    double start, end;
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
human(char *buf, size_t len, double v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static struct layer *
layer_at(struct cli_progress *p, size_t idx)
{
    if (idx >= 100000)
        return NULL;
    if (idx >= p->n_layers) {
        size_t n = idx + 1;
        struct layer *nv = realloc(p->layers, n * sizeof(*nv));
        if (!nv)
            return NULL;
        memset(nv + p->n_layers, 0, (n - p->n_layers) * sizeof(*nv));
        p->layers = nv;
        p->n_layers = n;
    }
    return &p->layers[idx];
}

static unsigned int
term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Erase what the last draw wrote. */
static void
erase(struct cli_progress *p)
{
    if (p->lines) {
        fprintf(stderr, "\r\033[%uA\033[J", p->lines);
        p->lines = 0;
    }
}

static void
line(struct cli_progress *p, unsigned int width, const char *text)
{
    fprintf(stderr, "\033[2K%.*s\n", (int)(width - 1), text);
    p->lines++;
}

static void
draw(struct cli_progress *p)
{
    unsigned int width = term_width();
    erase(p);
    /* the active layers and the most recent others, in order, at most MAX_SHOWN */
    size_t first = 0, shown = 0;
    for (size_t i = p->n_layers; i-- > 0;) {
        if (p->layers[i].state == 0)
            continue;
        if (++shown > MAX_SHOWN)
            break;
        first = i;
    }
    char text[512], a[32], b[32], c[32];
    double t = now_s();
    uint64_t all_done = 0, all_total = 0;
    size_t finished = 0;
    for (size_t i = 0; i < p->n_layers; i++) {
        struct layer *l = &p->layers[i];
        all_done += l->done;
        all_total += l->total > 0 ? (uint64_t)l->total : 0;
        finished += l->state >= 2;
        if (i < first || l->state == 0)
            continue;
        human(a, sizeof(a), (double)l->done);
        human(b, sizeof(b), l->total >= 0 ? (double)l->total : 0);
        if (l->state == 3) {
            snprintf(text, sizeof(text), "%s  %s  already present", p->op, l->id);
        } else if (l->state == 2) {
            snprintf(text, sizeof(text), "%s  %s  %s  done", p->op, l->id, a);
        } else {
            double dt = t - l->start;
            human(c, sizeof(c), dt > 0.05 ? (double)l->done / dt : 0);
            snprintf(text, sizeof(text), "%s  %s  %s / %s  %s/s", p->op, l->id, a,
                     l->total >= 0 ? b : "?", c);
        }
        line(p, width, text);
    }
    double dt = t - p->start;
    human(a, sizeof(a), (double)all_done);
    human(b, sizeof(b), (double)all_total);
    human(c, sizeof(c), dt > 0.05 ? (double)all_done / dt : 0);
    snprintf(text, sizeof(text), "%s: %zu/%zu layers, %s of %s, %s/s", p->op, finished,
             p->count ? p->count : p->n_layers, a, b, c);
    line(p, width, text);
    fflush(stderr);
    p->last_draw = t;
}

static int
on_event(const cocoimg_progress_event *ev, void *payload)
{
    struct cli_progress *p = payload;
    if (ev->operation)
        snprintf(p->op, sizeof(p->op), "%s", ev->operation);
    if (ev->kind == COCOIMG_PROGRESS_IMAGE) {
        free(p->manifest);
        free(p->platform);
        p->manifest = ev->digest ? strdup(ev->digest) : NULL;
        p->platform = ev->platform ? strdup(ev->platform) : NULL;
        p->count = ev->count;
        p->images++;
        /* a new image of an index: its layers start from 0 again */
        free(p->layers);
        p->layers = NULL;
        p->n_layers = 0;
        return 0;
    }
    if (ev->kind == COCOIMG_PROGRESS_POLICY) {
        free(p->policy);
        p->policy = ev->message ? strdup(ev->message) : NULL;
        if (!p->manifest && ev->digest)
            p->manifest = strdup(ev->digest);
        return 0;
    }
    struct layer *l = layer_at(p, ev->index);
    if (!l)
        return 0;
    const char *d = ev->digest ? strchr(ev->digest, ':') : NULL;
    snprintf(l->id, sizeof(l->id), "%.12s", d ? d + 1 : "?");
    l->total = ev->total;
    double t = now_s();
    switch (ev->kind) {
    case COCOIMG_PROGRESS_LAYER_START:
        l->state = 1;
        l->start = t;
        l->done = 0;
        break;
    case COCOIMG_PROGRESS_LAYER_DATA:
        l->state = 1;
        l->done = ev->done;
        break;
    case COCOIMG_PROGRESS_LAYER_DONE:
        l->state = 2;
        l->done = ev->done;
        l->end = t;
        p->layers_done++;
        p->bytes += ev->done;
        break;
    case COCOIMG_PROGRESS_LAYER_SKIPPED:
        l->state = 3;
        p->layers_done++;
        break;
    default:
        return 0;
    }
    if (p->mode == CLI_PROGRESS_PLAIN) {
        char a[32];
        if (ev->kind == COCOIMG_PROGRESS_LAYER_START) {
            human(a, sizeof(a), ev->total >= 0 ? (double)ev->total : 0);
            fprintf(stderr, "coco-img: %s: layer %zu/%zu %s (%s)\n", p->op, ev->index + 1,
                    ev->count, ev->digest ? ev->digest : "?", ev->total >= 0 ? a : "size unknown");
        } else if (ev->kind == COCOIMG_PROGRESS_LAYER_DONE) {
            human(a, sizeof(a), (double)ev->done);
            fprintf(stderr, "coco-img: %s: layer %zu/%zu done (%s in %.1f s)\n", p->op,
                    ev->index + 1, ev->count, a, l->end - l->start);
        } else if (ev->kind == COCOIMG_PROGRESS_LAYER_SKIPPED) {
            fprintf(stderr, "coco-img: %s: layer %zu/%zu %s already present\n", p->op,
                    ev->index + 1, ev->count, ev->digest ? ev->digest : "?");
        }
        fflush(stderr);
    } else if (p->mode == CLI_PROGRESS_TTY &&
               (ev->kind != COCOIMG_PROGRESS_LAYER_DATA || t - p->last_draw >= 0.1)) {
        draw(p);
    }
    return 0;
}

int
cli_progress_parse(struct cli_progress *p, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case CLI_OPT_QUIET:
        p->mode = CLI_PROGRESS_NONE;
        return 1;
    case CLI_OPT_PROGRESS:
        if (!strcmp(arg, "auto"))
            p->mode = CLI_PROGRESS_AUTO;
        else if (!strcmp(arg, "plain"))
            p->mode = CLI_PROGRESS_PLAIN;
        else if (!strcmp(arg, "tty"))
            p->mode = CLI_PROGRESS_TTY;
        else if (!strcmp(arg, "none"))
            p->mode = CLI_PROGRESS_NONE;
        else
            return cli_usage_error(cmd, "--progress: expected auto, tty, plain or none, not '%s'",
                                   arg);
        return 1;
    case CLI_OPT_JSON:
        if (!p->json_ok)
            return 0;
        p->json = true;
        cli_json_errors = true;
        return 1;
    default:
        return 0;
    }
}

void
cli_progress_start(struct cli_progress *p, cocoimg_context *ctx)
{
    if (p->mode == CLI_PROGRESS_AUTO) {
        const char *term = getenv("TERM");
        p->mode = isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb") != 0
                      ? CLI_PROGRESS_TTY
                      : CLI_PROGRESS_NONE;
    }
    p->start = now_s();
    snprintf(p->op, sizeof(p->op), "%s", p->cmd ? p->cmd : "copy");
    /* the summary needs the events even when nothing is drawn */
    if (p->mode != CLI_PROGRESS_NONE || p->json)
        cocoimg_context_set_progress(ctx, on_event, p);
}

void
cli_progress_end(struct cli_progress *p)
{
    if (p->mode == CLI_PROGRESS_TTY) {
        erase(p);
        fflush(stderr);
    }
    p->seconds = now_s() - p->start;
}

int
cli_progress_summary(const struct cli_progress *p, const char *bundle)
{
    json_t *j =
        json_pack("{s:s?, s:s?, s:I, s:I, s:f, s:s?, s:s?}", "manifest", p->manifest, "platform",
                  p->platform, "layers", (json_int_t)p->layers_done, "bytes", (json_int_t)p->bytes,
                  "seconds", p->seconds, "policy", p->policy, "bundle", bundle);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s) {
        fprintf(stderr, "coco-img: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    printf("%s\n", s);
    free(s);
    return CLI_EXIT_OK;
}

void
cli_progress_clear(struct cli_progress *p)
{
    free(p->layers);
    free(p->manifest);
    free(p->platform);
    free(p->policy);
    p->layers = NULL;
    p->manifest = p->platform = p->policy = NULL;
}

void
cli_progress_usage(FILE *out, bool json)
{
    fprintf(out, "\nProgress options:\n"
                 "      --progress=MODE       auto (default: drawn in place when stderr is a\n"
                 "                            terminal, else nothing), tty, plain (a line when\n"
                 "                            a layer starts and ends, for CI logs), none\n"
                 "      --quiet               no progress (same as --progress=none)\n");
    if (json)
        fprintf(out,
                "      --json                print a JSON summary on stdout (manifest,\n"
                "                            platform, layers, bytes, seconds, policy,\n"
                "                            bundle); errors as {\"error\":{...}} on stderr\n");
}
