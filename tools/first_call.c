/* How long a fresh process takes to its first kernel call through the C API: create a context
 * (which opens the tuning database), compile a u8 x s8 -> s32 matmul of M x K x N (its tuned
 * schedule when the database has one; machine code from $QFORGE_KERNEL_CACHE when the disk cache
 * has it), pack random weights, run once. Prints the milliseconds of each step since main().
 * Build: cc -O2 tools/first_call.c $(pkg-config --cflags --libs quantforge) -o /tmp/first_call
 * (after tools/install_c_api.sh PREFIX). Usage: first_call M K N
 * Time the whole process too (`time`): loading libquantforge and LLVM happens before main(). */
#include <quantforge.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 + (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static int fail(const char *step) {
    fprintf(stderr, "%s failed: %s\n", step, qf_last_error());
    return 1;
}

int main(int argc, char **argv) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (argc != 4) {
        fprintf(stderr, "usage: %s M K N\n", argv[0]);
        return 2;
    }
    const int64_t m = atoll(argv[1]), k = atoll(argv[2]), n = atoll(argv[3]);
    if (m <= 0 || k <= 0 || n <= 0) {
        fprintf(stderr, "M, K and N must be positive\n");
        return 2;
    }
    qf_context *context = NULL;
    if (qf_context_create(NULL, 1, &context) != QF_STATUS_OK) return fail("qf_context_create");
    const double created = since(&start);

    qf_matmul_desc desc;
    qf_matmul_desc_init(&desc, m, k, n);
    qf_kernel *kernel = NULL;
    if (qf_kernel_compile(context, &desc, &kernel) != QF_STATUS_OK) return fail("qf_kernel_compile");
    const double compiled = since(&start);

    unsigned char *a = malloc((size_t)(m * k)), *b = malloc((size_t)(k * n));
    int32_t *c = malloc(sizeof(int32_t) * (size_t)(m * n));
    if (!a || !b || !c) return 2;
    for (int64_t i = 0; i < m * k; i++) a[i] = (unsigned char)(i * 7 + 3);
    for (int64_t i = 0; i < k * n; i++) b[i] = (unsigned char)(i * 13 + 5);
    qf_weights *weights = NULL;
    if (qf_kernel_pack(kernel, b, n, &weights) != QF_STATUS_OK) return fail("qf_kernel_pack");
    const double packed = since(&start);

    if (qf_kernel_run(kernel, a, k, (size_t)(m * k), weights, c, n, sizeof(int32_t) * (size_t)(m * n), m) != QF_STATUS_OK)
        return fail("qf_kernel_run");
    const double ran = since(&start);

    printf("%lld x %lld x %lld on %s: context %.2f ms, compile %.2f ms, pack %.2f ms, first call done at %.2f ms after main()\n",
           (long long)m, (long long)k, (long long)n, qf_context_isa(context), created, compiled - created, packed - compiled, ran);
    qf_weights_destroy(weights);
    qf_kernel_destroy(kernel);
    qf_context_destroy(context);
    free(a);
    free(b);
    free(c);
    return 0;
}
