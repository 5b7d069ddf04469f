/* Runs a kernel of an AOT library by name, through the library's own header and packing routine.
 * Build: cc -O2 -DQF_HEADER='"lib.h"' -DQF_TABLE=lib_kernels aot_driver.c lib.o
 * usage: aot_driver NAME M A.bin B.bin OUT.bin          pack B, run, write C
 *        aot_driver NAME M A.bin B.bin OUT.bin --pack-only   write the packed B instead
 *        aot_driver NAME M A.bin B.bin OUT.bin --bench    print the best time per call (us) */
#define _POSIX_C_SOURCE 200809L
#include QF_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver_io.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s NAME M A B OUT [--pack-only|--bench]\n", argv[0]); return 2; }
    const char *mode = argc > 6 ? argv[6] : "";
    int count = (int)(sizeof QF_TABLE / sizeof QF_TABLE[0]);
    const void *info = NULL;
    int index = -1;
    for (int i = 0; i < count; i++) if (!strcmp(QF_TABLE[i].name, argv[1])) index = i;
    if (index < 0) { fprintf(stderr, "no kernel %s\n", argv[1]); return 3; }
    (void)info;
    long m = atol(argv[2]);
    size_t a_size, b_size;
    void *a = read_file(argv[3], &a_size), *b = read_file(argv[4], &b_size);
    int64_t k = QF_TABLE[index].k, n = QF_TABLE[index].n, bytes = QF_TABLE[index].packed_bytes;
    void *packed = aligned_alloc(64, (size_t)(bytes + 63) / 64 * 64);
    QF_TABLE[index].pack(b, n, packed);
    size_t out_bytes = (size_t)(m * n * QF_TABLE[index].c_element_bytes);
    void *c = calloc(1, out_bytes);
    const void *result = c;
    size_t result_bytes = out_bytes;
    if (!strcmp(mode, "--pack-only")) {
        result = packed;
        result_bytes = (size_t)bytes;
    } else if (!strcmp(mode, "--bench")) {
        double best = 1e30;
        int batch = 1;
        while (1) {
            double start = now_us();
            for (int i = 0; i < batch; i++) QF_TABLE[index].run(a, k, packed, c, n, m);
            if (now_us() - start > 1000 || batch > (1 << 20)) break;
            batch *= 2;
        }
        double deadline = now_us() + 300000;
        for (int round = 0; round < 5 || now_us() < deadline; round++) {
            double start = now_us();
            for (int i = 0; i < batch; i++) QF_TABLE[index].run(a, k, packed, c, n, m);
            double per_call = (now_us() - start) / batch;
            if (per_call < best) best = per_call;
        }
        printf("%s us_min %.3f gmacs %.1f\n", argv[1], best, (double)m * k * n / best / 1e3);
    } else {
        QF_TABLE[index].run(a, k, packed, c, n, m);
    }
    FILE *out = fopen(argv[5], "wb");
    if (!out || fwrite(result, 1, result_bytes, out) != result_bytes) { perror(argv[5]); return 2; }
    fclose(out);
    return 0;
}
