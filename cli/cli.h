/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CLI_H
#define COCOIMG_CLI_H

#include <cocoimg/cocoimg.h>
#include <stdbool.h>
#include <stdio.h>

/*
 * Exit codes of coco-img (documented in --help and README):
 *   0 success
 *   1 the operation failed
 *   2 usage error (bad option or argument)
 *   3 verification failed: digest, HMAC/tag, signature, policy, no usable key
 *   4 not found: image, ref, blob
 */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_VERIFY = 3,
    CLI_EXIT_NOTFOUND = 4,
};

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    void (*usage)(FILE *out);
};

/* The one place that prints a library error; returns the exit code. */
int cli_error(cocoimg_error *err);
/* Print "coco-img: MSG" to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A context with logging to stderr according to COCOIMG_DEBUG / --debug. */
cocoimg_context *cli_context(void);

extern bool cli_debug;

#endif
