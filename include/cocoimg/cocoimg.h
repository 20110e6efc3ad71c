/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_H
#define COCOIMG_H

/* Umbrella header of libcocoimg. */

#include <cocoimg/common.h>
#include <cocoimg/version.h>
#include <cocoimg/errors.h>
#include <cocoimg/context.h>
#include <cocoimg/reference.h>
#include <cocoimg/image.h>
#include <cocoimg/crypt.h>
#include <cocoimg/unpack.h>
#include <cocoimg/kbs.h>
#include <cocoimg/keyprovider.h>
#include <cocoimg/policy.h>

#endif
