/* Runs one AOT-compiled QuantForge operator kernel (`qf_kernel`) on inputs read from files.
 *   operator_driver elementwise X X2 BEGIN END Y_BYTES EXTRA_BYTES EXTRA2_BYTES OUT_Y OUT_EXTRA OUT_EXTRA2
 *   operator_driver matmul A LDA PACKED_B M PANELS C_BYTES LDC RESIDUAL LDR A_SCALES A_ZERO_POINTS OUT_C
 * An input named "-" is NULL. Outputs are written whole. EXTRA_BYTES "=N" passes the integer N in
 * `extra` instead of a buffer (kernels that take a count there), and writes no OUT_EXTRA;
 * EXTRA_BYTES or EXTRA2_BYTES "@FILE" passes that file's bytes as an input (written back out as is);
 * EXTRA2_BYTES "=N" passes the integer N in `extra2`. */
#include "CQuantSupport.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_io.h"

extern void qf_kernel(const void *args);

/* An input named "-" is NULL. */
static void *read_input(const char *path) {
    if (strcmp(path, "-") == 0) return NULL;
    size_t size;
    return read_file(path, &size);
}

static void *zeroed(const char *bytes) {
    size_t n = (size_t)atol(bytes);
    return n ? calloc(1, n) : NULL;
}

/* An extra argument: "=N" (the integer N), "@FILE" (an input), else zeroed bytes. */
static void *extra_buffer(const char *spec) {
    if (spec[0] == '=') return (void *)(intptr_t)atol(spec + 1);
    if (spec[0] == '@') return read_input(spec + 1);
    return zeroed(spec);
}

static void write_file(const char *path, const void *data, const char *bytes) {
    size_t n = (size_t)atol(bytes);
    if (n == 0) return;
    FILE *out = fopen(path, "wb");
    if (!out || fwrite(data, 1, n, out) != n) { perror(path); exit(2); }
    fclose(out);
}

int main(int argc, char **argv) {
    if (argc == 12 && strcmp(argv[1], "elementwise") == 0) {
        qf_elementwise_args args = {read_input(argv[2]), read_input(argv[3]), zeroed(argv[6]), extra_buffer(argv[7]),
                                    extra_buffer(argv[8]), atol(argv[4]), atol(argv[5])};
        qf_kernel(&args);
        write_file(argv[9], args.y, argv[6]);
        if (argv[7][0] != '=' && argv[7][0] != '@') write_file(argv[10], args.extra, argv[7]);
        if (argv[8][0] != '=' && argv[8][0] != '@') write_file(argv[11], args.extra2, argv[8]);
        return 0;
    }
    if (argc == 14 && strcmp(argv[1], "matmul") == 0) {
        void *c = zeroed(argv[7]);
        qf_matmul_args args = {read_input(argv[2]), atol(argv[3]), read_input(argv[4]), c, atol(argv[8]), 0, atol(argv[5]), 0, atol(argv[6]),
                               read_input(argv[9]), atol(argv[10]), read_input(argv[11]), read_input(argv[12])};
        qf_kernel(&args);
        write_file(argv[13], c, argv[7]);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of operator_driver.c\n");
    return 2;
}
