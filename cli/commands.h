/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CLI_COMMANDS_H
#define COCOIMG_CLI_COMMANDS_H

#include "cli.h"

/* One entry per sub-command; each lives in cli/cmd_<name>.c. */
extern const struct cli_command cli_builtin_help;
extern const struct cli_command cli_builtin_version;
extern const struct cli_command cli_cmd_inspect;
extern const struct cli_command cli_cmd_copy;
extern const struct cli_command cli_cmd_encrypt;
extern const struct cli_command cli_cmd_decrypt;
extern const struct cli_command cli_cmd_layerinfo;
extern const struct cli_command cli_cmd_unpack;
extern const struct cli_command cli_cmd_verify;
extern const struct cli_command cli_cmd_standalone_sign;
extern const struct cli_command cli_cmd_standalone_verify;
extern const struct cli_command cli_cmd_generate_sigstore_key;
extern const struct cli_command cli_cmd_pull;
extern const struct cli_command cli_cmd_get_resource, cli_cmd_attest;

extern const struct cli_command *const cli_commands[];

#endif
