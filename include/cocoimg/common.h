/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_COMMON_H
#define COCOIMG_COMMON_H

/*
 * Shared macros of the public API.  Public headers compile as C99 with
 * -pedantic and as C++; they never expose jansson, OpenSSL, curl or gpgme
 * types.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define COCOIMG_BEGIN_DECL extern "C" {
#define COCOIMG_END_DECL }
#else
#define COCOIMG_BEGIN_DECL
#define COCOIMG_END_DECL
#endif

#if defined(__GNUC__)
#define COCOIMG_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define COCOIMG_EXTERN(type) extern type
#endif

#endif
