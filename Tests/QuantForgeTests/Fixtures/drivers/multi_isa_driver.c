/* Runs kernel `qf_mm` of a multi-ISA AOT library through its dispatcher.
 * usage: multi_isa_driver M A.bin B.bin OUT.bin   -> prints the chosen ISA; exit 10 + |error| on an error code */
#include QF_HEADER

#include <stdio.h>
#include <stdlib.h>

static void *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc((size_t)n + 64);
    if (fread(data, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s M A B OUT\n", argv[0]); return 2; }
    long m = atol(argv[1]);
    void *a = read_file(argv[2]), *b = read_file(argv[3]);
    int error = 0;
    const char *isa = QF_ISA_FUNCTION(&error);
    if (!isa) { fprintf(stderr, "no variant: error %d\n", error); return 10 - error; }
    int64_t bytes = 0;
    if ((error = qf_mm_packed_bytes(&bytes)) != QF_OK) return 10 - error;
    void *packed = aligned_alloc(64, (size_t)(bytes + 63) / 64 * 64);
    if ((error = qf_mm_pack(b, QF_MM_N, packed)) != QF_OK) return 10 - error;
    size_t out_bytes = (size_t)(m * QF_MM_N * QF_C_BYTES);
    void *c = calloc(1, out_bytes);
    if ((error = qf_mm_run(a, QF_MM_K, packed, c, QF_MM_N, m)) != QF_OK) return 10 - error;
    FILE *out = fopen(argv[4], "wb");
    if (!out || fwrite(c, 1, out_bytes, out) != out_bytes) { perror(argv[4]); return 2; }
    fclose(out);
    printf("%s\n", isa);
    return 0;
}
