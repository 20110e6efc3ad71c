/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_OCI_COMPRESSION_H
#define COCOIMG_OCI_COMPRESSION_H

/*
 * Compression of a layer blob, as its media type names it (oci/model.h)
 * and as the pipeline's (de)compression stages apply it
 * (pipeline/reader.h).  A header of its own so that the image model does
 * not depend on the pipeline.
 */

typedef enum {
    COCOIMG_COMPRESSION_NONE = 0,
    COCOIMG_COMPRESSION_GZIP = 1,
    COCOIMG_COMPRESSION_ZSTD = 2,
} cocoimg__compression;

#endif
