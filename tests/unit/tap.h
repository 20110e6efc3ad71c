/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_TESTS_TAP_H
#define COCOIMG_TESTS_TAP_H

/*
 * Minimal TAP for unit tests.  A test function returns 0 (pass), -1 (fail)
 * or 77 (skip); CHECK() survives NDEBUG and reports the failing expression.
 *
 *   static int test_x(void) { CHECK(1 + 1 == 2); return 0; }
 *   static const struct tap_test tests[] = { TAP_TEST(test_x), {0} };
 *   int main(void) { return tap_run(tests); }
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_test {
    const char *name;
    int (*fn)(void);
};

#define TAP_TEST(fn)                                                                               \
    {                                                                                              \
#fn, fn                                                                                    \
    }

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr);                      \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* Check an int-returning call that takes &err last; print the error. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r < 0) {                                                                              \
            printf("# %s:%d: %s failed: %d\n", __FILE__, __LINE__, #call, _r);                     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static inline int
tap_run(const struct tap_test *tests)
{
    int n = 0, failed = 0;
    for (const struct tap_test *t = tests; t->name; t++)
        n++;
    printf("1..%d\n", n);
    int i = 0;
    for (const struct tap_test *t = tests; t->name; t++) {
        int r = t->fn();
        i++;
        if (r == 77)
            printf("ok %d - %s # SKIP\n", i, t->name);
        else if (r == 0)
            printf("ok %d - %s\n", i, t->name);
        else {
            printf("not ok %d - %s\n", i, t->name);
            failed++;
        }
        fflush(stdout);
    }
    return failed ? 1 : 0;
}

#endif
