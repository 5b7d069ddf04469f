// What oneDNN's own fused epilogue costs: its int8 matmul u8 x s8 -> u8 (per-N output scales,
// src/dst zero points 128, as ../shared/peers' u8s8u8_requant) timed plainly and with an f32 bias
// plus an eltwise gelu_erf post-op, alternating, one thread; prints the best time of each and the
// overhead per shape. The reference point for `qforge bench --op u8s8u8_gelu` vs `u8s8u8_requant`.
//
// build: g++ -O2 -std=c++17 -fopenmp tools/onednn_gelu_cost.cpp -ldnnl -o /tmp/onednn_gelu_cost
// usage: OMP_NUM_THREADS=1 /tmp/onednn_gelu_cost M K N [M K N ...]
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static double now() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct Case {
    matmul prim;
    std::unordered_map<int, memory> args;
};

static Case make(memory::dim M, memory::dim K, memory::dim N, bool gelu, engine &eng, stream &s) {
    memory::desc a_md({M, K}, dt::u8, tag::ab), b_any({K, N}, dt::s8, tag::any), b_plain({K, N}, dt::s8, tag::ab);
    memory::desc c_md({M, N}, dt::u8, tag::ab), bias_md({1, N}, dt::f32, tag::ab);
    primitive_attr attr;
    std::vector<float> scales(N);
    for (memory::dim j = 0; j < N; j++) scales[j] = 1e-3f * float(1 + j % 7);
    attr.set_output_scales(1 << 1, scales);
    attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
    attr.set_zero_points(DNNL_ARG_DST, 0, {128});
    if (gelu) {
        post_ops ops;
        ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
        attr.set_post_ops(ops);
    }
    auto desc = gelu ? matmul::desc(a_md, b_any, bias_md, c_md) : matmul::desc(a_md, b_any, c_md);
    matmul::primitive_desc pd(desc, attr, eng);
    std::mt19937 rng(42);
    memory a(a_md, eng), b_src(b_plain, eng), b(pd.weights_desc(), eng), c(c_md, eng), bias(bias_md, eng);
    auto *pa = static_cast<uint8_t *>(a.get_data_handle());
    auto *pb = static_cast<uint8_t *>(b_src.get_data_handle());
    auto *pbias = static_cast<float *>(bias.get_data_handle());
    for (memory::dim i = 0; i < M * K; i++) pa[i] = uint8_t(rng());
    for (memory::dim i = 0; i < K * N; i++) pb[i] = uint8_t(rng());
    for (memory::dim i = 0; i < N; i++) pbias[i] = float(int(rng() % 200) - 100) / 100.f;
    reorder(b_src, b).execute(s, b_src, b);
    s.wait();
    Case result{matmul(pd), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}}};
    if (gelu) result.args.insert({DNNL_ARG_BIAS, bias});
    return result;
}

/// Best time per call (seconds) over batches of about 2 ms.
static double best(Case &c, stream &s, int batches) {
    c.prim.execute(s, c.args);
    s.wait();
    double t0 = now();
    int calls = 0;
    while (now() - t0 < 0.002) { c.prim.execute(s, c.args); calls++; }
    s.wait();
    double result = 1e9;
    for (int i = 0; i < batches; i++) {
        double b0 = now();
        for (int j = 0; j < calls; j++) c.prim.execute(s, c.args);
        s.wait();
        result = std::min(result, (now() - b0) / calls);
    }
    return result;
}

int main(int argc, char **argv) {
    if (argc < 4 || (argc - 1) % 3 != 0) {
        std::fprintf(stderr, "usage: %s M K N [M K N ...]\n", argv[0]);
        return 2;
    }
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    std::printf("shape              requant us   bias+gelu_erf us   overhead\n");
    for (int i = 1; i + 2 < argc; i += 3) {
        memory::dim M = std::atol(argv[i]), K = std::atol(argv[i + 1]), N = std::atol(argv[i + 2]);
        Case plain = make(M, K, N, false, eng, s), gelu = make(M, K, N, true, eng, s);
        double tp = 1e9, tg = 1e9;
        for (int round = 0; round < 4; round++) {  // alternate, keep the best of each
            tp = std::min(tp, best(plain, s, 25));
            tg = std::min(tg, best(gelu, s, 25));
        }
        std::printf("%4ld x %5ld x %5ld  %10.2f %15.2f %12.1f%%\n", long(M), long(K), long(N), tp * 1e6, tg * 1e6,
                    100 * (tg / tp - 1));
        std::fflush(stdout);
    }
    return 0;
}
