/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>

#include "commands.h"

/* The command table, in the order --help shows it. */
/* clang-format off */
const struct cli_command *const cli_commands[] = {
    &cli_cmd_inspect,
    &cli_cmd_copy,
    &cli_cmd_encrypt,
    &cli_cmd_decrypt,
    &cli_cmd_layerinfo,
    &cli_cmd_pull,
    &cli_cmd_unpack,
    &cli_cmd_verify,
    &cli_cmd_standalone_sign,
    &cli_cmd_standalone_verify,
    &cli_cmd_generate_sigstore_key,
    &cli_cmd_get_resource, &cli_cmd_attest,
    &cli_builtin_help,
    &cli_builtin_version,
    NULL,
};
/* clang-format on */
