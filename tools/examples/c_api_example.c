/* Uses QuantForge's C API: compile a requantizing matmul (QLinearMatMul) for this CPU, pack the
 * weights, run it, check the result against a plain C computation of the same ONNX semantics, and
 * check that bad input gives error codes, not crashes.
 * Build: cc c_api_example.c $(pkg-config --cflags --libs quantforge) -lm
 * Exit 0 and "all checks passed" on success. */
#include <quantforge.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAILED %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

/* ONNX QLinearMatMul for u8 A (zero point a_zp) x s8 B (per-column scales, zero point 0) -> u8. */
static void reference(const uint8_t *a, const int8_t *b, uint8_t *c, int m, int k, int n, float a_scale, int a_zp,
                      const float *b_scales, float y_scale, int y_zp) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            int32_t acc = 0;
            for (int t = 0; t < k; t++) acc += (a[i * k + t] - a_zp) * b[t * n + j];
            float multiplier = a_scale * b_scales[j] / y_scale;
            float value = (float)acc * multiplier;
            float lo = (float)(0 - y_zp), hi = (float)(255 - y_zp);
            value = value < lo ? lo : (value > hi ? hi : value);
            c[i * n + j] = (uint8_t)((int)nearbyintf(value) + y_zp);
        }
}

int main(void) {
    const int m = 13, k = 200, n = 70;
    qf_context *context = NULL;
    qf_status status = qf_context_create(NULL, 2, &context);
    CHECK(status == QF_STATUS_OK, "create: %s", qf_last_error());
    if (!context) return 1;
    printf("isa: %s\n", qf_context_isa(context));

    float *b_scales = malloc(sizeof(float) * n);
    for (int j = 0; j < n; j++) b_scales[j] = 0.001f + 0.0001f * (j % 7);
    qf_matmul_desc desc;
    qf_matmul_desc_init(&desc, 0, k, n);
    desc.a_type = QF_TYPE_U8;
    desc.b_type = QF_TYPE_S8;
    desc.a_scale = 0.02f;
    desc.a_zero_point = 128;
    desc.b_channels = n;
    desc.b_scales = b_scales;
    desc.output = QF_OUTPUT_REQUANTIZED;
    desc.output_type = QF_TYPE_U8;
    desc.y_scale = 0.05f;
    desc.y_zero_point = 128;

    qf_kernel *kernel = NULL;
    status = qf_kernel_compile(context, &desc, &kernel);
    CHECK(status == QF_STATUS_OK, "compile: %s", qf_last_error());
    if (!kernel) return 1;

    uint8_t *a = malloc((size_t)m * k), *c = malloc((size_t)m * n), *expected = malloc((size_t)m * n);
    int8_t *b = malloc((size_t)k * n);
    unsigned seed = 12345;
    for (int i = 0; i < m * k; i++) { seed = seed * 1103515245u + 12345u; a[i] = (uint8_t)(seed >> 16); }
    for (int i = 0; i < k * n; i++) { seed = seed * 1103515245u + 12345u; b[i] = (int8_t)(seed >> 16); }

    qf_weights *weights = NULL;
    status = qf_kernel_pack(kernel, b, n, &weights);
    CHECK(status == QF_STATUS_OK && qf_weights_bytes(weights) > k * n, "pack: %s", qf_last_error());
    status = qf_kernel_run(kernel, a, k, (size_t)m * k, weights, c, n, (size_t)m * n, m);
    CHECK(status == QF_STATUS_OK, "run: %s", qf_last_error());
    reference(a, b, expected, m, k, n, 0.02f, 128, b_scales, 0.05f, 128);
    CHECK(memcmp(c, expected, (size_t)m * n) == 0, "result differs from the reference");

    /* Bad input: error codes and messages, never a crash. */
    CHECK(qf_kernel_run(kernel, a, k, (size_t)m * k - 1, weights, c, n, (size_t)m * n, m) == QF_STATUS_BUFFER_TOO_SMALL,
          "short A");
    CHECK(strstr(qf_last_error(), "A buffer") != NULL, "message names A: %s", qf_last_error());
    CHECK(qf_kernel_run(kernel, a, k, (size_t)m * k, weights, c, n, (size_t)m * n - 1, m) == QF_STATUS_BUFFER_TOO_SMALL, "short C");
    CHECK(qf_kernel_run(kernel, NULL, k, 0, weights, c, n, (size_t)m * n, m) == QF_STATUS_INVALID_ARGUMENT, "null A");
    CHECK(qf_kernel_run(NULL, a, k, (size_t)m * k, weights, c, n, (size_t)m * n, m) == QF_STATUS_INVALID_ARGUMENT, "null kernel");
    CHECK(qf_kernel_run(kernel, a, k - 1, (size_t)m * k, weights, c, n, (size_t)m * n, m) == QF_STATUS_INVALID_ARGUMENT, "lda < K");
    CHECK(qf_kernel_run(kernel, a, k, (size_t)m * k, weights, c, n, (size_t)m * n, 0) == QF_STATUS_INVALID_ARGUMENT, "no M");
    CHECK(qf_kernel_pack(kernel, NULL, n, &weights) == QF_STATUS_INVALID_ARGUMENT, "null B");
    CHECK(qf_kernel_compile(context, NULL, &kernel) == QF_STATUS_INVALID_ARGUMENT, "null desc");
    qf_matmul_desc bad = desc;
    bad.a_type = (qf_type)42;
    qf_kernel *unused = NULL;
    CHECK(qf_kernel_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT && !unused, "bad enum");
    bad = desc;
    bad.y_scale = -1;
    CHECK(qf_kernel_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT, "negative scale");
    CHECK(strstr(qf_last_error(), "scale") != NULL, "message names the scale: %s", qf_last_error());
    bad = desc;
    bad.b_channels = 3;
    CHECK(qf_kernel_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT, "channel count");
    qf_context *other = NULL;
    CHECK(qf_context_create("amx", 1, &other) == QF_STATUS_UNSUPPORTED_ISA || other != NULL, "amx");
    if (other) qf_context_destroy(other);
    CHECK(qf_context_create("sse9", 1, &other) == QF_STATUS_UNSUPPORTED_ISA && !other, "unknown isa");
    CHECK(qf_context_create(NULL, 0, &other) == QF_STATUS_INVALID_ARGUMENT, "zero threads");
    CHECK(qf_context_create(NULL, 1, NULL) == QF_STATUS_INVALID_ARGUMENT, "null output");
    qf_kernel_destroy(NULL);
    qf_weights_destroy(NULL);
    qf_context_destroy(NULL);

    qf_weights_destroy(weights);
    qf_kernel_destroy(kernel);
    qf_context_destroy(context);
    free(a); free(b); free(c); free(expected); free(b_scales);
    if (failures) { fprintf(stderr, "%d check(s) failed\n", failures); return 1; }
    printf("all checks passed\n");
    return 0;
}
