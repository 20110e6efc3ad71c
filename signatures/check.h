/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_CHECK_H
#define COCOIMG_SIGNATURES_CHECK_H

/*
 * The signature policy as resolve.c's check hook (internal).  The policy
 * and registries.d loaded by cocoimg_context_set_policy() live in the
 * context's policy slot; operations that must enforce it call
 * cocoimg__policy_install() on their resolve options.
 */

#include <cocoimg/context.h>

#include "resolve.h"

/* Set @p ro's check hook when @p ctx has a policy (else leave it unset). */
void cocoimg__policy_install(cocoimg__resolve_options *ro, cocoimg_context *ctx);

#endif
