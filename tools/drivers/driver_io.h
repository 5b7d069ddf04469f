/* File input shared by the test drivers: the whole file, 64-byte aligned and zero-padded to a whole
 * number of 64-byte lines plus one, so kernels may read their last vector freely. Exits 2 on error. */
#ifndef QF_DRIVER_IO_H
#define QF_DRIVER_IO_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t padded = ((size_t)n + 63) / 64 * 64 + 64;
    void *data = aligned_alloc(64, padded);
    memset(data, 0, padded);
    if (fread(data, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
    fclose(f);
    *size = (size_t)n;
    return data;
}
#endif
