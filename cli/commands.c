/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>

#include "commands.h"

/* The command table, in the order --help shows it. */
const struct cli_command *const cli_commands[] = {
    &cli_builtin_help,
    &cli_builtin_version,
    &cli_cmd_inspect,
    &cli_cmd_copy,
    NULL,
};
