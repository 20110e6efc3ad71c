/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CLI_CMD_UNPACK_H
#define COCOIMG_CLI_CMD_UNPACK_H

#include <stdbool.h>

/*
 * `unpack` and `pull` share their options; @p pull refuses sources other
 * than docker:// (the guest path).  Returns the exit code.
 */
int cli_unpack_run(int argc, char **argv, const char *cmd, bool pull);

#endif
