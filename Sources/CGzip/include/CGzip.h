#ifndef PROFHIST_CGZIP_H
#define PROFHIST_CGZIP_H

#include <stddef.h>
// Exported to Swift as well: InputSource streams gzip input through zlib's own inflate.
#include <zlib.h>

/// Inflates a gzip (or zlib) stream of `length` bytes at `input`. On success returns 0 and sets `*output` to a
/// malloc'd buffer of `*outputLength` bytes (the caller frees it). Stops with -2 once the output would exceed
/// `limit` bytes (a decompression bomb); returns -1 on a corrupt or truncated stream, -3 when out of memory.
/// Swift has no gzip of its own on Linux, and zlib's z_stream is awkward to drive from Swift, hence this shim.
int profhist_gunzip(const unsigned char *input, size_t length, size_t limit, unsigned char **output,
                    size_t *outputLength);

/// Deflates `length` bytes at `input` into a gzip stream (default level). On success returns 0 and sets
/// `*output` to a malloc'd buffer of `*outputLength` bytes (the caller frees it); -1 on failure.
int profhist_gzip(const unsigned char *input, size_t length, unsigned char **output, size_t *outputLength);

#endif
