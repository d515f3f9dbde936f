#include "CGzip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int profhist_gunzip(const unsigned char *input, size_t length, size_t limit, unsigned char **output,
                    size_t *outputLength) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 32: a zlib or gzip header, detected automatically.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) return -3;
    size_t capacity = length * 4 + 1024;
    if (capacity > limit + 1) capacity = limit + 1;
    unsigned char *buffer = malloc(capacity);
    if (buffer == NULL) { inflateEnd(&stream); return -3; }
    size_t produced = 0;
    const unsigned char *next = input;
    size_t remaining = length;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        if (produced == capacity) {
            if (capacity > limit) { free(buffer); inflateEnd(&stream); return -2; }
            size_t grown = capacity * 2;
            if (grown > limit + 1) grown = limit + 1;
            unsigned char *bigger = realloc(buffer, grown);
            if (bigger == NULL) { free(buffer); inflateEnd(&stream); return -3; }
            buffer = bigger;
            capacity = grown;
        }
        uInt inChunk = remaining > 0x40000000u ? 0x40000000u : (uInt)remaining;
        uInt outChunk = (capacity - produced) > 0x40000000u ? 0x40000000u : (uInt)(capacity - produced);
        stream.next_in = (Bytef *)next;
        stream.avail_in = inChunk;
        stream.next_out = buffer + produced;
        stream.avail_out = outChunk;
        status = inflate(&stream, Z_NO_FLUSH);
        next += inChunk - stream.avail_in;
        remaining -= inChunk - stream.avail_in;
        produced += outChunk - stream.avail_out;
        if (status == Z_STREAM_END) break;
        if (status != Z_OK && status != Z_BUF_ERROR) { free(buffer); inflateEnd(&stream); return -1; }
        // No progress possible: input used up before the end of the stream.
        if (status == Z_BUF_ERROR && remaining == 0 && produced < capacity) {
            free(buffer); inflateEnd(&stream); return -1;
        }
    }
    inflateEnd(&stream);
    if (produced > limit) { free(buffer); return -2; }
    *output = buffer;
    *outputLength = produced;
    return 0;
}

int profhist_gzip(const unsigned char *input, size_t length, unsigned char **output, size_t *outputLength) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 16: a gzip header and trailer rather than zlib's.
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t capacity = deflateBound(&stream, (uLong)length) + 64;
    unsigned char *buffer = malloc(capacity);
    if (buffer == NULL) { deflateEnd(&stream); return -1; }
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)length;
    stream.next_out = buffer;
    stream.avail_out = (uInt)capacity;
    int status = deflate(&stream, Z_FINISH);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) { free(buffer); return -1; }
    *output = buffer;
    *outputLength = capacity - stream.avail_out;
    return 0;
}
