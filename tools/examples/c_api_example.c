/* Uses every operator of QuantForge's C API: a requantizing matmul (QLinearMatMul), a matmul with
 * an epilogue chain and a residual add, a dynamic quantized linear (per token), a grouped NCHW
 * convolution and a depthwise NHWC QLinearConv, QuantizeLinear / DequantizeLinear per axis,
 * DynamicQuantizeLinear, QLinearAdd with broadcasting, a lookup activation and a 4-bit weight-only
 * linear (MatMulNBits, int8 compute, per-block zero points, f16 scales), and the transformer
 * operators (LayerNorm with the residual fused, softmax with a valid prefix, int8 and fused f32
 * multi-head attention). Each result is
 * checked against a plain C computation of the same ONNX semantics, and bad input must give error
 * codes and messages, never a crash.
 * Build: cc -ffp-contract=off c_api_example.c $(pkg-config --cflags --libs quantforge) -lm
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

static void check_matmul(qf_context *context) {
    const int m = 13, k = 200, n = 70;
    qf_status status;

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
    if (!kernel) return;

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
    free(a); free(b); free(c); free(expected); free(b_scales);
    printf("matmul: ok\n");
}

static unsigned seed = 777;
static uint8_t next_byte(void) { seed = seed * 1103515245u + 12345u; return (uint8_t)(seed >> 16); }
static float next_float(float lo, float hi) {
    seed = seed * 1103515245u + 12345u;
    return lo + (hi - lo) * (float)((seed >> 8) & 0xFFFF) / 65535.0f;
}

/* ONNX QuantizeLinear of one value: saturate(round_half_even(x / scale) + zero_point). */
static int32_t quantize_value(float x, float scale, int32_t zero_point, int32_t lo, int32_t hi) {
    float r = nearbyintf(x / scale);
    if (r > 1e9f) r = 1e9f;
    if (r < -1e9f) r = -1e9f;
    int32_t q = (int32_t)r + zero_point;
    return q < lo ? lo : (q > hi ? hi : q);
}

/* A matmul whose epilogue chain adds a bias, applies ReLU, adds a u8 residual and requantizes. */
static void check_epilogue_chain(qf_context *context) {
    enum { M = 7, K = 64, N = 40 };
    uint8_t a[M * K], r[M * N], c[M * N];
    int8_t b[K * N];
    float bias[N];
    for (int i = 0; i < M * K; i++) a[i] = next_byte();
    for (int i = 0; i < K * N; i++) b[i] = (int8_t)next_byte();
    for (int i = 0; i < M * N; i++) r[i] = next_byte();
    for (int j = 0; j < N; j++) bias[j] = next_float(-2, 2);
    float b_scale = 0.01f;
    qf_epilogue_step steps[3] = {{0}};
    steps[0].kind = QF_STEP_BIAS; steps[0].count = N; steps[0].values = bias;
    steps[1].kind = QF_STEP_ACTIVATION; steps[1].activation = QF_ACTIVATION_RELU;
    steps[2].kind = QF_STEP_RESIDUAL_ADD; steps[2].residual_type = QF_TYPE_U8;
    steps[2].residual_scale = 0.1f; steps[2].residual_zero_point = 10;
    qf_matmul_desc desc;
    qf_matmul_desc_init(&desc, M, K, N);
    desc.a_scale = 0.02f; desc.a_zero_point = 3;
    desc.b_scales = &b_scale;
    desc.output = QF_OUTPUT_CHAIN; desc.output_type = QF_TYPE_U8; desc.y_scale = 0.05f; desc.y_zero_point = 5;
    desc.steps = steps; desc.step_count = 3;
    qf_kernel *kernel = NULL;
    qf_weights *weights = NULL;
    CHECK(qf_kernel_compile(context, &desc, &kernel) == QF_STATUS_OK, "chain compile: %s", qf_last_error());
    CHECK(qf_kernel_pack(kernel, b, N, &weights) == QF_STATUS_OK, "chain pack: %s", qf_last_error());
    CHECK(qf_kernel_run(kernel, a, K, sizeof a, weights, c, N, sizeof c, M) == QF_STATUS_BUFFER_TOO_SMALL &&
          strstr(qf_last_error(), "residual") != NULL, "chain without residual: %s", qf_last_error());
    CHECK(qf_kernel_run_residual(kernel, a, K, sizeof a, weights, r, N, sizeof r, c, N, sizeof c, M) == QF_STATUS_OK,
          "chain run: %s", qf_last_error());
    float multiplier = desc.a_scale * b_scale, reciprocal = 1.0f / desc.y_scale;
    int mismatches = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            int32_t acc = 0;
            for (int t = 0; t < K; t++) acc += (a[i * K + t] - 3) * b[t * N + j];
            float v = fmaf((float)acc, multiplier, bias[j]);
            v = v > 0 ? v : 0;
            float residual = 0.1f * (float)(r[i * N + j] - 10);
            v = v + residual;
            float q = nearbyintf(v * reciprocal) + 5;
            uint8_t expected = (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
            mismatches += c[i * N + j] != expected;
        }
    CHECK(mismatches == 0, "epilogue chain: %d mismatches", mismatches);
    qf_weights_destroy(weights);
    qf_kernel_destroy(kernel);
    printf("matmul with an epilogue chain: ok\n");
}

/* A dynamic quantized linear, per token, f32 out, against DynamicQuantizeLinear per row (through the
 * library's own operator) followed by an integer matmul in C. */
static void check_dynamic_linear(qf_context *context) {
    enum { M = 5, K = 96, N = 33 };
    float a[M * K], c[M * N], scales[M], b_scales[N];
    int32_t zero_points[M];
    uint8_t q[M * K];
    int8_t b[K * N];
    for (int i = 0; i < M * K; i++) a[i] = next_float(-3, 5) * (float)(1 + i / K);
    for (int i = 0; i < K * N; i++) b[i] = (int8_t)next_byte();
    for (int j = 0; j < N; j++) b_scales[j] = 0.002f + 0.0003f * (float)(j % 5);
    qf_matmul_desc desc;
    qf_matmul_desc_init(&desc, 0, K, N);
    desc.a_type = QF_TYPE_F32;
    desc.a_quantization = QF_A_DYNAMIC_PER_ROW;
    desc.b_channels = N; desc.b_scales = b_scales;
    desc.output = QF_OUTPUT_DEQUANTIZED;
    qf_kernel *kernel = NULL, *quantizer = NULL;
    qf_weights *weights = NULL;
    CHECK(qf_kernel_compile(context, &desc, &kernel) == QF_STATUS_OK, "dynamic linear compile: %s", qf_last_error());
    CHECK(qf_kernel_pack(kernel, b, N, &weights) == QF_STATUS_OK, "dynamic linear pack: %s", qf_last_error());
    CHECK(qf_kernel_run(kernel, a, K, sizeof a, weights, c, N, sizeof c, M) == QF_STATUS_OK, "dynamic linear run: %s", qf_last_error());
    CHECK(qf_kernel_run(kernel, a, K + 1, sizeof a, weights, c, N, sizeof c, M) == QF_STATUS_INVALID_ARGUMENT, "dynamic lda");
    CHECK(qf_dynamic_quantize_compile(context, M, K, 1, &quantizer) == QF_STATUS_OK, "per-row quantizer: %s", qf_last_error());
    CHECK(qf_dynamic_quantize_run(quantizer, a, sizeof a, q, sizeof q, scales, zero_points, M) == QF_STATUS_OK, "per-row run: %s",
          qf_last_error());
    int mismatches = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            int32_t acc = 0;
            for (int t = 0; t < K; t++) acc += (q[i * K + t] - zero_points[i]) * b[t * N + j];
            mismatches += c[i * N + j] != (float)acc * (scales[i] * b_scales[j]);
        }
    CHECK(mismatches == 0, "dynamic linear: %d mismatches", mismatches);
    qf_weights_destroy(weights);
    qf_kernel_destroy(kernel);
    qf_kernel_destroy(quantizer);
    printf("dynamic linear: ok\n");
}

/* ONNX QLinearConv of an NCHW or NHWC u8 x s8 tensor, per-tensor everything, requantized to u8. */
static void conv_reference(const uint8_t *x, const int8_t *w, const int32_t *bias, uint8_t *y, int nhwc, int c_in, int h, int wd,
                           int c_out, int kh, int kw, int stride, int pad, int groups, float x_scale, int x_zp, float w_scale,
                           float y_scale, int y_zp, int oh, int ow) {
    int cg = c_in / groups, og = c_out / groups;
    for (int o = 0; o < c_out; o++)
        for (int p = 0; p < oh; p++)
            for (int q = 0; q < ow; q++) {
                int32_t acc = bias ? bias[o] : 0;
                int g = o / og;
                for (int ci = 0; ci < cg; ci++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int row = p * stride - pad + i, col = q * stride - pad + j, ch = g * cg + ci;
                            if (row < 0 || row >= h || col < 0 || col >= wd) continue;
                            int xv = nhwc ? x[(row * wd + col) * c_in + ch] : x[(ch * h + row) * wd + col];
                            acc += (xv - x_zp) * w[((o * cg + ci) * kh + i) * kw + j];
                        }
                float value = (float)acc * (x_scale * w_scale / y_scale);
                float lo = (float)(0 - y_zp), hi = (float)(255 - y_zp);
                value = value < lo ? lo : (value > hi ? hi : value);
                uint8_t out = (uint8_t)((int)nearbyintf(value) + y_zp);
                if (nhwc) y[(p * ow + q) * c_out + o] = out; else y[(o * oh + p) * ow + q] = out;
            }
}

static void check_convolution(qf_context *context, int depthwise) {
    /* depthwise: 3x3/1 pad 1 on 21 NHWC channels; else a 3x3/2 NCHW convolution in 2 groups. */
    const int c_in = depthwise ? 21 : 6, c_out = depthwise ? 21 : 10, h = 9, wd = 11, k = 3;
    const int stride = depthwise ? 1 : 2, pad = 1, groups = depthwise ? 21 : 2;
    qf_conv_desc desc;
    qf_conv_desc_init(&desc, 1, c_in, h, wd, c_out, k, k);
    desc.stride_h = desc.stride_w = stride;
    desc.pad_top = desc.pad_left = desc.pad_bottom = desc.pad_right = pad;
    desc.groups = groups;
    desc.layout = depthwise ? QF_LAYOUT_NHWC : QF_LAYOUT_NCHW;
    desc.x_scale = 0.03f; desc.x_zero_point = 120;
    float w_scale = 0.004f;
    desc.w_scales = &w_scale;
    int32_t bias[32];
    for (int o = 0; o < c_out; o++) bias[o] = (int32_t)next_byte() * 9 - 1000;
    desc.output = QF_OUTPUT_REQUANTIZED; desc.output_type = QF_TYPE_U8; desc.y_scale = 0.08f; desc.y_zero_point = 100;
    desc.bias = bias;
    qf_kernel *kernel = NULL;
    qf_weights *weights = NULL;
    CHECK(qf_conv_compile(context, &desc, &kernel) == QF_STATUS_OK, "conv compile: %s", qf_last_error());
    int64_t oh = 0, ow = 0;
    CHECK(qf_conv_output_size(kernel, &oh, &ow) == QF_STATUS_OK, "conv output size");
    size_t x_count = (size_t)c_in * h * wd, w_count = (size_t)c_out * (c_in / groups) * k * k, y_count = (size_t)c_out * oh * ow;
    uint8_t *x = malloc(x_count), *y = malloc(y_count), *expected = malloc(y_count);
    int8_t *w = malloc(w_count);
    for (size_t i = 0; i < x_count; i++) x[i] = next_byte();
    for (size_t i = 0; i < w_count; i++) w[i] = (int8_t)next_byte();
    CHECK(qf_conv_pack(kernel, w, w_count, &weights) == QF_STATUS_OK, "conv pack: %s", qf_last_error());
    CHECK(qf_conv_run(kernel, x, x_count, weights, NULL, 0, y, y_count) == QF_STATUS_OK, "conv run: %s", qf_last_error());
    conv_reference(x, w, bias, expected, depthwise, c_in, h, wd, c_out, k, k, stride, pad, groups, 0.03f, 120, w_scale, 0.08f, 100,
                   (int)oh, (int)ow);
    CHECK(memcmp(y, expected, y_count) == 0, "%s convolution differs from the reference", depthwise ? "depthwise" : "grouped");
    CHECK(qf_conv_run(kernel, x, x_count - 1, weights, NULL, 0, y, y_count) == QF_STATUS_BUFFER_TOO_SMALL, "short X");
    CHECK(qf_conv_pack(kernel, w, w_count - 1, &weights) == QF_STATUS_BUFFER_TOO_SMALL, "short W");
    CHECK(qf_kernel_pack(kernel, w, c_out, &weights) == QF_STATUS_INVALID_ARGUMENT, "conv kernel to qf_kernel_pack");
    CHECK(strstr(qf_last_error(), "convolution") != NULL, "message names the kernel: %s", qf_last_error());
    qf_conv_desc bad = desc;
    bad.groups = 4;
    qf_kernel *unused = NULL;
    CHECK(qf_conv_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT && !unused, "groups that do not divide C");
    printf("%s: %s ok\n", depthwise ? "depthwise convolution" : "grouped convolution", qf_kernel_describe(kernel));
    qf_weights_destroy(weights);
    qf_kernel_destroy(kernel);
    free(x); free(y); free(expected); free(w);
}

/* QuantizeLinear and DequantizeLinear per axis (axis 1 of a 3 x 4 x 5 tensor), s8. */
static void check_quantize_dequantize(qf_context *context) {
    enum { A = 3, B = 4, C = 5 };
    float x[A * B * C], back[A * B * C], scales[B] = {0.01f, 0.02f, 0.05f, 0.1f};
    int32_t zero_points[B] = {0, -3, 7, 127};
    int8_t q[A * B * C];
    for (int i = 0; i < A * B * C; i++) x[i] = next_float(-4, 4);
    x[0] = 1e30f; x[1] = -1e30f;
    qf_quantize_desc desc = {0};
    desc.rank = 3; desc.shape[0] = A; desc.shape[1] = B; desc.shape[2] = C;
    desc.type = QF_TYPE_S8; desc.granularity = QF_PER_AXIS; desc.axis = 1;
    desc.parameter_count = B; desc.scales = scales; desc.zero_points = zero_points;
    qf_kernel *quantize = NULL, *dequantize = NULL;
    CHECK(qf_quantize_compile(context, &desc, &quantize) == QF_STATUS_OK, "quantize compile: %s", qf_last_error());
    CHECK(qf_dequantize_compile(context, &desc, &dequantize) == QF_STATUS_OK, "dequantize compile: %s", qf_last_error());
    CHECK(qf_quantize_run(quantize, x, sizeof x, q, sizeof q) == QF_STATUS_OK, "quantize run: %s", qf_last_error());
    CHECK(qf_dequantize_run(dequantize, q, sizeof q, back, sizeof back) == QF_STATUS_OK, "dequantize run: %s", qf_last_error());
    int mismatches = 0;
    for (int i = 0; i < A * B * C; i++) {
        int axis = (i / C) % B;
        int32_t expected = quantize_value(x[i], scales[axis], zero_points[axis], -128, 127);
        mismatches += q[i] != expected;
        mismatches += back[i] != (float)(expected - zero_points[axis]) * scales[axis];
    }
    CHECK(mismatches == 0, "quantize/dequantize: %d mismatches", mismatches);
    CHECK(qf_dequantize_run(quantize, q, sizeof q, back, sizeof back) == QF_STATUS_INVALID_ARGUMENT, "a quantize kernel dequantizing");
    qf_quantize_desc bad = desc;
    bad.parameter_count = 3;
    qf_kernel *unused = NULL;
    CHECK(qf_quantize_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT && !unused, "parameter count");
    bad = desc;
    bad.axis = 3;
    CHECK(qf_quantize_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT, "axis");
    CHECK(strstr(qf_last_error(), "axis") != NULL, "message names the axis: %s", qf_last_error());
    qf_kernel_destroy(quantize);
    qf_kernel_destroy(dequantize);
    printf("QuantizeLinear / DequantizeLinear: ok\n");
}

/* DynamicQuantizeLinear (ONNX): the scale and zero point from the range, then QuantizeLinear. */
static void check_dynamic_quantize(qf_context *context) {
    enum { N = 300 };
    float x[N], scale = 0;
    int32_t zero_point = -1;
    uint8_t y[N];
    float lo = 0, hi = 0;
    for (int i = 0; i < N; i++) {
        x[i] = next_float(-1.5f, 6);
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    qf_kernel *kernel = NULL;
    CHECK(qf_dynamic_quantize_compile(context, 1, N, 0, &kernel) == QF_STATUS_OK, "dynamic quantize compile: %s", qf_last_error());
    CHECK(qf_dynamic_quantize_run(kernel, x, sizeof x, y, sizeof y, &scale, &zero_point, 1) == QF_STATUS_OK, "run: %s", qf_last_error());
    float expected_scale = (hi - lo) / 255;
    float initial = 0 - lo / expected_scale;
    int32_t expected_zero_point = (int32_t)nearbyintf(initial < 0 ? 0 : (initial > 255 ? 255 : initial));
    CHECK(scale == expected_scale && zero_point == expected_zero_point, "parameters %g %d, expected %g %d", scale, zero_point,
          expected_scale, expected_zero_point);
    int mismatches = 0;
    for (int i = 0; i < N; i++) mismatches += y[i] != quantize_value(x[i], expected_scale, expected_zero_point, 0, 255);
    CHECK(mismatches == 0, "dynamic quantize: %d mismatches", mismatches);
    CHECK(qf_dynamic_quantize_run(kernel, x, sizeof x, y, sizeof y, &scale, &zero_point, 0) == QF_STATUS_BUFFER_TOO_SMALL,
          "no room for the parameters");
    CHECK(qf_dynamic_quantize_compile(context, 0, N, 0, &kernel) == QF_STATUS_INVALID_ARGUMENT && !kernel, "zero rows");
    qf_kernel_destroy(kernel);
    printf("DynamicQuantizeLinear: ok\n");
}

/* QLinearAdd of [2, 3, 4] and [4] (broadcast), u8, as MLAS computes it. */
static void check_binary(qf_context *context) {
    enum { N = 24, W = 4 };
    uint8_t a[N], b[W], y[N];
    for (int i = 0; i < N; i++) a[i] = next_byte();
    for (int i = 0; i < W; i++) b[i] = next_byte();
    qf_binary_desc desc = {0};
    desc.kind = QF_BINARY_ADD; desc.type = QF_TYPE_U8;
    desc.a_rank = 3; desc.a_shape[0] = 2; desc.a_shape[1] = 3; desc.a_shape[2] = 4;
    desc.b_rank = 1; desc.b_shape[0] = 4;
    desc.a_scale = 0.05f; desc.a_zero_point = 128;
    desc.b_scale = 0.02f; desc.b_zero_point = 10;
    desc.y_scale = 0.07f; desc.y_zero_point = 120;
    qf_kernel *kernel = NULL;
    CHECK(qf_binary_compile(context, &desc, &kernel) == QF_STATUS_OK, "binary compile: %s", qf_last_error());
    CHECK(qf_binary_run(kernel, a, sizeof a, b, sizeof b, y, sizeof y) == QF_STATUS_OK, "binary run: %s", qf_last_error());
    float ra = desc.a_scale / desc.y_scale, rb = desc.b_scale / desc.y_scale;
    int mismatches = 0;
    for (int i = 0; i < N; i++) {
        float v = ra * (float)(a[i] - 128) + rb * (float)(b[i % W] - 10);
        float q = nearbyintf(v) + 120;
        mismatches += y[i] != (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
    }
    CHECK(mismatches == 0, "QLinearAdd: %d mismatches", mismatches);
    qf_binary_desc bad = desc;
    bad.b_shape[0] = 3;
    qf_kernel *unused = NULL;
    CHECK(qf_binary_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT && !unused, "shapes that do not broadcast");
    CHECK(strstr(qf_last_error(), "broadcast") != NULL, "message: %s", qf_last_error());
    qf_kernel_destroy(kernel);
    printf("QLinearAdd: ok\n");
}

/* A ReLU through a lookup table: s8 in, u8 out. */
static void check_lookup(qf_context *context) {
    enum { N = 1000 };
    int8_t x[N];
    uint8_t y[N];
    for (int i = 0; i < N; i++) x[i] = (int8_t)next_byte();
    qf_lookup_desc desc = {0};
    desc.function = QF_ACTIVATION_RELU; desc.count = N;
    desc.x_type = QF_TYPE_S8; desc.x_scale = 0.1f; desc.x_zero_point = -5;
    desc.y_type = QF_TYPE_U8; desc.y_scale = 0.06f; desc.y_zero_point = 0;
    qf_kernel *kernel = NULL;
    CHECK(qf_lookup_compile(context, &desc, &kernel) == QF_STATUS_OK, "lookup compile: %s", qf_last_error());
    CHECK(qf_lookup_run(kernel, x, sizeof x, y, sizeof y) == QF_STATUS_OK, "lookup run: %s", qf_last_error());
    int mismatches = 0;
    for (int i = 0; i < N; i++) {
        float real = (float)(x[i] + 5) * 0.1f;
        mismatches += y[i] != quantize_value(real > 0 ? real : 0, 0.06f, 0, 0, 255);
    }
    CHECK(mismatches == 0, "lookup: %d mismatches", mismatches);
    int64_t elements = 0;
    qf_type type = QF_TYPE_F32;
    CHECK(qf_kernel_output(kernel, 0, &elements, &type) == QF_STATUS_OK && elements == N && type == QF_TYPE_U8, "output query");
    qf_lookup_desc bad = desc;
    bad.function = (qf_activation)77;
    qf_kernel *unused = NULL;
    CHECK(qf_lookup_compile(context, &bad, &unused) == QF_STATUS_INVALID_ARGUMENT && !unused, "bad function");
    qf_kernel_destroy(kernel);
    printf("lookup activation: ok\n");
}

/* MatMulNBits, 4 bits, block 32, per-block zero points, int8 compute (accuracy_level 4), f16 scales,
 * K with a partial block: against the operation-by-operation definition (A quantized per block:
 * scale = amax/127, q = RNE(a·127/amax); integer block dot products; acc = fma(dot, sa·sb, acc)). */
static float half_to_float(uint16_t h) {
    int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    float value = exponent == 0 ? ldexpf((float)mantissa, -24) : ldexpf((float)(mantissa | 0x400), exponent - 25);
    return (h & 0x8000) ? -value : value;
}

static void check_nbits(qf_context *context) {
    enum { M = 3, K = 100, N = 21, BLOCK = 32, BLOCKS = (K + BLOCK - 1) / BLOCK, ZP_BYTES = (BLOCKS + 1) / 2 };
    static uint8_t b[N][BLOCKS][BLOCK / 2], zp[N][ZP_BYTES];
    static uint16_t scales[N * BLOCKS];
    static float a[M][K], y[M][N], bias[N];
    for (int n = 0; n < N; n++) {
        for (int j = 0; j < BLOCKS; j++) {
            for (int i = 0; i < BLOCK / 2; i++) b[n][j][i] = next_byte();
            scales[n * BLOCKS + j] = (uint16_t)(0x1c00 + next_byte());  /* ~0.004 .. 0.008 */
        }
        for (int i = 0; i < ZP_BYTES; i++) zp[n][i] = next_byte();
        bias[n] = next_float(-1, 1);
    }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) a[m][k] = next_float(-3, 3);
    qf_nbits_desc desc = {0};
    desc.k = K; desc.n = N; desc.bits = 4; desc.block_size = BLOCK; desc.has_zero_points = 1;
    desc.compute = QF_NBITS_INT8; desc.has_bias = 1; desc.activation = QF_ACTIVATION_RELU;
    qf_kernel *kernel = NULL;
    qf_weights *weights = NULL;
    CHECK(qf_nbits_compile(context, &desc, &kernel) == QF_STATUS_OK, "nbits compile: %s", qf_last_error());
    CHECK(qf_nbits_pack(kernel, &b[0][0][0], sizeof b, scales, sizeof scales, 1, &zp[0][0], sizeof zp, bias, sizeof bias,
                        &weights) == QF_STATUS_OK, "nbits pack: %s", qf_last_error());
    CHECK(qf_nbits_run(kernel, &a[0][0], sizeof a, weights, &y[0][0], sizeof y) == QF_STATUS_OK, "nbits run: %s", qf_last_error());
    /* Wrong sizes: a status, not a crash. */
    qf_weights *none = NULL;
    CHECK(qf_nbits_pack(kernel, &b[0][0][0], sizeof b - 1, scales, sizeof scales, 1, &zp[0][0], sizeof zp, bias, sizeof bias,
                        &none) == QF_STATUS_INVALID_ARGUMENT && none == NULL, "nbits pack with a short b must fail");
    CHECK(qf_nbits_run(kernel, &a[0][0], sizeof a - 4, weights, &y[0][0], sizeof y) == QF_STATUS_INVALID_ARGUMENT,
          "nbits run with a partial row must fail");
    int mismatches = 0;
    for (int m = 0; m < M; m++) {
        int8_t q[BLOCKS * BLOCK] = {0};
        float a_scale[BLOCKS];
        int32_t a_sum[BLOCKS];
        for (int j = 0; j < BLOCKS; j++) {
            int count = K - j * BLOCK < BLOCK ? K - j * BLOCK : BLOCK;
            float amax = 0;
            for (int i = 0; i < count; i++) amax = fabsf(a[m][j * BLOCK + i]) > amax ? fabsf(a[m][j * BLOCK + i]) : amax;
            float inverse = amax > 0 ? 127.0f / amax : 0;
            a_scale[j] = amax / 127.0f;
            a_sum[j] = 0;
            for (int i = 0; i < count; i++) {
                float t = a[m][j * BLOCK + i] * inverse;
                t = t < -127 ? -127 : (t > 127 ? 127 : t);
                q[j * BLOCK + i] = (int8_t)rintf(t);
                a_sum[j] += q[j * BLOCK + i];
            }
        }
        for (int n = 0; n < N; n++) {
            float acc = 0;
            for (int j = 0; j < BLOCKS; j++) {
                int z = (zp[n][j / 2] >> (4 * (j % 2))) & 15;
                int32_t dot = -z * a_sum[j];
                for (int i = 0; i < BLOCK; i++) dot += q[j * BLOCK + i] * ((b[n][j][i / 2] >> (4 * (i % 2))) & 15);
                acc = fmaf((float)dot, a_scale[j] * half_to_float(scales[n * BLOCKS + j]), acc);
            }
            acc = acc + bias[n];
            mismatches += y[m][n] != (acc < 0 ? 0 : acc);
        }
    }
    CHECK(mismatches == 0, "nbits: %d of %d differ", mismatches, M * N);
    qf_weights_destroy(weights);
    qf_kernel_destroy(kernel);
    printf("MatMulNBits: ok\n");
}

/* softmax(scale · q·kᵀ) over the first `valid` keys, times V, in double: out [length][heads·d]. */
static void attention_reference(const float *qkv, int heads, int d, int length, int valid, float scale, double *out) {
    int hidden = heads * d;
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < length; i++) {
            double logits[16], top = -INFINITY, total = 0;
            for (int j = 0; j < valid; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += (double)qkv[i * 3 * hidden + h * d + c] * qkv[j * 3 * hidden + hidden + h * d + c];
                logits[j] = s * scale;
                top = logits[j] > top ? logits[j] : top;
            }
            for (int j = 0; j < valid; j++) total += logits[j] = exp(logits[j] - top);
            for (int c = 0; c < d; c++) {
                double acc = 0;
                for (int j = 0; j < valid; j++) acc += logits[j] / total * qkv[j * 3 * hidden + 2 * hidden + h * d + c];
                out[i * hidden + h * d + c] = acc;
            }
        }
}

static void check_transformer(qf_context *context) {
    enum { ROWS = 3, COLUMNS = 40, HEADS = 2, D = 8, LENGTH = 5, VALID = 4 };
    static float x[ROWS][COLUMNS], r[ROWS][COLUMNS], gamma[COLUMNS], beta[COLUMNS], y[ROWS][COLUMNS];
    for (int c = 0; c < COLUMNS; c++) { gamma[c] = next_float(0.5f, 1.5f); beta[c] = next_float(-1, 1); }
    for (int i = 0; i < ROWS; i++)
        for (int c = 0; c < COLUMNS; c++) { x[i][c] = next_float(-3, 3); r[i][c] = next_float(-1, 1); }
    /* LayerNorm of x + r (SkipLayerNormalization without bias): within float32 rounding of double. */
    qf_layernorm_desc norm = {0};
    norm.columns = COLUMNS; norm.epsilon = 1e-5f; norm.has_residual = 1;
    qf_kernel *layernorm = NULL;
    CHECK(qf_layernorm_compile(context, &norm, &layernorm) == QF_STATUS_OK, "layernorm compile: %s", qf_last_error());
    CHECK(qf_layernorm_run(layernorm, &x[0][0], sizeof x, &r[0][0], sizeof r, gamma, sizeof gamma, beta, sizeof beta, &y[0][0],
                           sizeof y) == QF_STATUS_OK, "layernorm run: %s", qf_last_error());
    CHECK(qf_layernorm_run(layernorm, &x[0][0], sizeof x - 4, &r[0][0], sizeof r, gamma, sizeof gamma, beta, sizeof beta, &y[0][0],
                           sizeof y) == QF_STATUS_INVALID_ARGUMENT, "layernorm with a partial row must fail");
    double worst = 0;
    for (int i = 0; i < ROWS; i++) {
        double mean = 0, variance = 0;
        for (int c = 0; c < COLUMNS; c++) mean += (double)x[i][c] + r[i][c];
        mean /= COLUMNS;
        for (int c = 0; c < COLUMNS; c++) variance += ((double)x[i][c] + r[i][c] - mean) * ((double)x[i][c] + r[i][c] - mean);
        double rstd = 1 / sqrt(variance / COLUMNS + 1e-5);
        for (int c = 0; c < COLUMNS; c++) {
            double want = ((double)x[i][c] + r[i][c] - mean) * rstd * gamma[c] + beta[c];
            worst = fabs(y[i][c] - want) > worst ? fabs(y[i][c] - want) : worst;
        }
    }
    CHECK(worst < 1e-5, "layernorm: off by %g", worst);
    qf_kernel_destroy(layernorm);
    /* Softmax over the first 33 of 40 columns, scale 0.5; zeros past them. */
    qf_kernel *softmax = NULL;
    CHECK(qf_softmax_compile(context, 0.5f, &softmax) == QF_STATUS_OK, "softmax compile: %s", qf_last_error());
    CHECK(qf_softmax_run(softmax, &x[0][0], sizeof x, COLUMNS, 33, &y[0][0], sizeof y) == QF_STATUS_OK, "softmax run: %s", qf_last_error());
    CHECK(qf_softmax_run(softmax, &x[0][0], sizeof x, COLUMNS, COLUMNS + 1, &y[0][0], sizeof y) == QF_STATUS_INVALID_ARGUMENT,
          "softmax with valid > columns must fail");
    worst = 0;
    for (int i = 0; i < ROWS; i++) {
        double top = -INFINITY, total = 0;
        for (int c = 0; c < 33; c++) top = 0.5 * x[i][c] > top ? 0.5 * x[i][c] : top;
        for (int c = 0; c < 33; c++) total += exp(0.5 * x[i][c] - top);
        for (int c = 0; c < COLUMNS; c++) {
            double want = c < 33 ? exp(0.5 * x[i][c] - top) / total : 0;
            worst = fabs(y[i][c] - want) > worst ? fabs(y[i][c] - want) : worst;
        }
    }
    CHECK(worst < 1e-6, "softmax: off by %g", worst);
    qf_kernel_destroy(softmax);
    /* Multi-head attention over a fused QKV, 4 of 5 keys valid: fused f32 within float32 rounding
     * of double attention, int8 within 3% of each row's largest value. */
    static float qkv[LENGTH][3 * HEADS * D], out[LENGTH][HEADS * D];
    static double want[LENGTH * HEADS * D];
    for (int t = 0; t < LENGTH; t++)
        for (int c = 0; c < 3 * HEADS * D; c++) qkv[t][c] = next_float(-1.5f, 1.5f);
    attention_reference(&qkv[0][0], HEADS, D, LENGTH, VALID, 1 / sqrtf(D), want);
    qf_attention_desc desc = {HEADS, D, 1 / sqrtf(D)};
    for (int fused = 0; fused < 2; fused++) {
        qf_kernel *attention = NULL;
        qf_status compiled = fused ? qf_f32_attention_compile(context, &desc, &attention) : qf_attention_compile(context, &desc, &attention);
        CHECK(compiled == QF_STATUS_OK, "attention compile: %s", qf_last_error());
        CHECK(qf_attention_run(attention, &qkv[0][0], sizeof qkv, LENGTH, VALID, &out[0][0], sizeof out) == QF_STATUS_OK,
              "attention run: %s", qf_last_error());
        CHECK(qf_attention_run(attention, &qkv[0][0], sizeof qkv, LENGTH, 0, &out[0][0], sizeof out) == QF_STATUS_INVALID_ARGUMENT,
              "attention with no valid key must fail");
        double bound = fused ? 1e-5 : 0.03;
        int bad = 0;
        for (int t = 0; t < LENGTH; t++) {
            double largest = 0;
            for (int c = 0; c < HEADS * D; c++) largest = fabs(want[t * HEADS * D + c]) > largest ? fabs(want[t * HEADS * D + c]) : largest;
            for (int c = 0; c < HEADS * D; c++) bad += fabs(out[t][c] - want[t * HEADS * D + c]) > bound * largest + 1e-6;
        }
        CHECK(bad == 0, "%s attention: %d values off", fused ? "f32" : "int8", bad);
        qf_kernel_destroy(attention);
    }
    printf("LayerNorm, softmax, int8 and f32 attention: ok\n");
}

int main(void) {
    qf_context *context = NULL;
    qf_status status = qf_context_create(NULL, 2, &context);
    CHECK(status == QF_STATUS_OK, "create: %s", qf_last_error());
    if (!context) return 1;
    printf("QuantForge %s, isa: %s\n", qf_version(), qf_context_isa(context));
    check_matmul(context);
    check_epilogue_chain(context);
    check_dynamic_linear(context);
    check_convolution(context, 0);
    check_convolution(context, 1);
    check_quantize_dequantize(context);
    check_dynamic_quantize(context);
    check_binary(context);
    check_lookup(context);
    check_nbits(context);
    check_transformer(context);
    qf_context_destroy(context);
    if (failures) { fprintf(stderr, "%d check(s) failed\n", failures); return 1; }
    printf("all checks passed\n");
    return 0;
}
