/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_REFERENCE_H
#define COCOIMG_REFERENCE_H

/*
 * Image references, in the containers/image transport syntax:
 *
 *   oci:DIR[:REF]              an OCI image layout; REF is the
 *                              org.opencontainers.image.ref.name (optional)
 *   oci-archive:FILE[:REF]     a tar archive of an OCI image layout
 *   docker://HOST[:PORT]/REPO[:TAG][@DIGEST]
 *                              a registry (docker.io normalisation:
 *                              "alpine" -> docker.io/library/alpine:latest)
 */

#include <cocoimg/common.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

typedef enum {
    COCOIMG_TRANSPORT_OCI = 1,
    COCOIMG_TRANSPORT_OCI_ARCHIVE = 2,
    COCOIMG_TRANSPORT_DOCKER = 3,
} cocoimg_transport;

typedef struct cocoimg_reference cocoimg_reference;

/**
 * Parse @p s.  Fails with COCOIMG_EINVAL and a message naming the problem
 * (unknown transport, empty path, invalid ref name such as one with "."
 * or ".." path components, bad registry host, tag or digest).
 */
COCOIMG_EXTERN(int)
cocoimg_reference_parse(cocoimg_reference **out, const char *s, cocoimg_error **err);
COCOIMG_EXTERN(void) cocoimg_reference_free(cocoimg_reference *ref);
COCOIMG_EXTERN(cocoimg_transport) cocoimg_reference_transport(const cocoimg_reference *ref);
/** oci/oci-archive: the directory or file; NULL for docker. */
COCOIMG_EXTERN(const char *) cocoimg_reference_path(const cocoimg_reference *ref);
/** oci/oci-archive: the ref name, NULL when none was given. */
COCOIMG_EXTERN(const char *) cocoimg_reference_ref_name(const cocoimg_reference *ref);
/** docker: registry host[:port] after normalisation ("docker.io"). */
COCOIMG_EXTERN(const char *) cocoimg_reference_registry(const cocoimg_reference *ref);
/** docker: repository path ("library/alpine"). */
COCOIMG_EXTERN(const char *) cocoimg_reference_repository(const cocoimg_reference *ref);
/** docker: tag, NULL when the reference has only a digest. */
COCOIMG_EXTERN(const char *) cocoimg_reference_tag(const cocoimg_reference *ref);
/** docker: digest "alg:hex", NULL when none. */
COCOIMG_EXTERN(const char *) cocoimg_reference_digest(const cocoimg_reference *ref);
/** Canonical string form; owned by the reference. */
COCOIMG_EXTERN(const char *) cocoimg_reference_string(const cocoimg_reference *ref);

COCOIMG_END_DECL

#endif
