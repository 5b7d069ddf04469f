/* Runs one AOT-compiled QuantForge matmul kernel on inputs read from files and writes C.
 * usage: matmul_driver M LDA LDC PANELS A.bin PACKED_B.bin OUT.bin OUT_BYTES
 * The kernel object exports `void qf_kernel(const qf_matmul_args *)`. */
#include "CQuantSupport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_io.h"

extern void qf_kernel(const qf_matmul_args *args);


int main(int argc, char **argv) {
    if (argc != 9) { fprintf(stderr, "usage: %s M LDA LDC PANELS A PACKED OUT OUT_BYTES\n", argv[0]); return 2; }
    long m = atol(argv[1]), lda = atol(argv[2]), ldc = atol(argv[3]), panels = atol(argv[4]);
    size_t a_size, b_size, out_bytes = (size_t)atol(argv[8]);
    const void *a = read_file(argv[5], &a_size);
    const void *b = read_file(argv[6], &b_size);
    void *c = calloc(1, out_bytes);
    qf_matmul_args args = {a, lda, b, c, ldc, 0, m, 0, panels};
    qf_kernel(&args);
    FILE *out = fopen(argv[7], "wb");
    if (!out || fwrite(c, 1, out_bytes, out) != out_bytes) { perror(argv[7]); return 2; }
    fclose(out);
    return 0;
}
