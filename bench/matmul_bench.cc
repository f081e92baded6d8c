// Matrix-vector (decode) and matrix-matrix (prefill) throughput of MatMul for each weight type,
// reported as weight bytes streamed per second and multiply-adds per second, in both MatMul modes
// (mode 0: exact f32 path, mode 1: int8 path) so the two are compared in one run; and the single-
// row integer dot kernels (scalar reference, AVX2, AVX-512 VNNI) and the batched integer kernels
// (lib/kernels/qgemm) per version; FP8 block-scaled rows (lib/kernels/fp8).
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/matmul.h"
#include "kernels/qdot.h"
#include "kernels/qgemm.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

struct QuantizedMatrix {
  std::vector<uint8_t> data;
  WeightMatrix w;
};

QuantizedMatrix MakeMatrix(DType type, int64_t rows, int64_t cols) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> row(cols);
  QuantizedMatrix m;
  const uint64_t row_bytes = *RowBytes(type, cols);
  m.data.resize(row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = dist(rng);
    (void)Quantize(type, row.data(), &m.data[r * row_bytes], cols);
  }
  m.w = WeightMatrix{type, rows, cols, row_bytes, m.data.data()};
  return m;
}

void BM_MatMul(benchmark::State& state, DType type) {
  const int64_t rows = 8960, cols = 1536;  // R1-Distill-Qwen-1.5B ffn_up
  const int64_t n_tokens = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  SetMatMulMode(state.range(2) == 0 ? MatMulMode::kExact : MatMulMode::kInt8);
  QuantizedMatrix m = MakeMatrix(type, rows, cols);
  std::vector<float> x(n_tokens * cols, 0.5f), y(n_tokens * rows);
  ThreadPool pool(threads);
  for (auto _ : state) {
    MatMul(m.w, x.data(), n_tokens, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(m.data.size()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(rows * cols * n_tokens) * state.iterations() / 1e9,
                         benchmark::Counter::kIsRate);
}

// Float types and Q4_1, Q5_1, Q2_K, Q3_K, IQ4 (integer kernels for single rows only): 1 and 64
// tokens; types with batched integer kernels also 512 tokens (a pp512 prefill batch), where the
// int8 mode takes the batched kernels (lib/kernels/qgemm).
#define FATHOM_MATMUL_BENCH(T, TOKENS)          \
  BENCHMARK_CAPTURE(BM_MatMul, T, DType::k##T)  \
      ->ArgsProduct({TOKENS, {1, 2}, {0, 1}})   \
      ->ArgNames({"tokens", "threads", "int8"}) \
      ->UseRealTime()                           \
      ->Unit(benchmark::kMillisecond)

#define FATHOM_FLOAT_TOKENS \
  { 1, 64 }
#define FATHOM_INT8_TOKENS \
  { 1, 64, 512 }
FATHOM_MATMUL_BENCH(F32, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(F16, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(BF16, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(Q8_0, FATHOM_INT8_TOKENS);
FATHOM_MATMUL_BENCH(Q4_0, FATHOM_INT8_TOKENS);
FATHOM_MATMUL_BENCH(Q4_K, FATHOM_INT8_TOKENS);
FATHOM_MATMUL_BENCH(Q5_K, FATHOM_INT8_TOKENS);
FATHOM_MATMUL_BENCH(Q6_K, FATHOM_INT8_TOKENS);
FATHOM_MATMUL_BENCH(Q4_1, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(Q5_1, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(Q2_K, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(Q3_K, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(IQ4_NL, FATHOM_FLOAT_TOKENS);
FATHOM_MATMUL_BENCH(IQ4_XS, FATHOM_FLOAT_TOKENS);

// DeepSeek FP8 weights with 128x128 block scales (a V3 q_b_proj slice: 3072 x 1536), one token:
// MatMul's fused kernel (fused = 1) against converting each row to float and then dotting it
// (fused = 0, the way batches use a row), single-threaded.
void BM_MatMulFp8(benchmark::State& state) {
  const int64_t rows = 3072, cols = 1536;
  QuantizedMatrix m = MakeMatrix(DType::kF8_E4M3, rows, cols);
  std::vector<float> scales((rows / 128) * (cols / 128), 0.01f);
  m.w.block_scale = scales.data();
  m.w.scale_cols = cols / 128;
  std::vector<float> x(cols, 0.5f), y(rows), row(cols);
  ThreadPool pool(1);
  for (auto _ : state) {
    if (state.range(0) == 1) {
      MatMul(m.w, x.data(), 1, y.data(), pool);
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        DequantizeRow(m.w, r, row.data());
        y[r] = DotF32(row.data(), x.data(), cols);
      }
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(m.data.size()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatMulFp8)->Arg(0)->Arg(1)->ArgName("fused")->UseRealTime();

// The batched integer kernel alone, single-threaded, per version (scalar reference per row and
// token, AVX2 single-row kernel per row and token, AVX-512 VNNI tiles), on activations quantized
// beforehand: 8960 x 1536 weights, 64 tokens.
void BM_QGemm(benchmark::State& state, DType type, QDotIsa isa) {
  const int64_t rows = 8960, cols = 1536, n_tokens = state.range(0);
  QuantizedMatrix m = MakeMatrix(type, rows, cols);
  const DType act = QDotActivationType(type);
  const uint64_t act_row = *RowBytes(act, cols);
  std::vector<float> x(cols);
  std::vector<uint8_t> xq(act_row * n_tokens);
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (float& v : x) v = dist(rng);
    QuantizeActivations(act, x.data(), cols, xq.data() + t * act_row);
  }
  std::vector<float> y(rows * n_tokens);
  if (!QGemm(isa, type, m.w.data, m.w.row_bytes, rows, cols, xq.data(), act_row, n_tokens, y.data(),
             rows)) {
    state.SkipWithError("kernel not available on this CPU");
    return;
  }
  for (auto _ : state) {
    QGemm(isa, type, m.w.data, m.w.row_bytes, rows, cols, xq.data(), act_row, n_tokens, y.data(),
          rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(rows * cols * n_tokens) * state.iterations() / 1e9,
                         benchmark::Counter::kIsRate);
}

#define FATHOM_QGEMM_BENCH(T)                                                    \
  BENCHMARK_CAPTURE(BM_QGemm, T##_avx2, DType::k##T, QDotIsa::kAvx2)             \
      ->Arg(2)                                                                   \
      ->Arg(4)                                                                   \
      ->Arg(64)                                                                  \
      ->ArgName("tokens")                                                        \
      ->Unit(benchmark::kMillisecond);                                           \
  BENCHMARK_CAPTURE(BM_QGemm, T##_avx512vnni, DType::k##T, QDotIsa::kAvx512Vnni) \
      ->Arg(2)                                                                   \
      ->Arg(4)                                                                   \
      ->Arg(64)                                                                  \
      ->ArgName("tokens")                                                        \
      ->Unit(benchmark::kMillisecond)

FATHOM_QGEMM_BENCH(Q8_0);
FATHOM_QGEMM_BENCH(Q4_0);
FATHOM_QGEMM_BENCH(Q4_K);
FATHOM_QGEMM_BENCH(Q5_K);
FATHOM_QGEMM_BENCH(Q6_K);

// One 1536-wide row dotted with quantized activations, per kernel version (rows cycle through a
// 8960-row matrix, so this measures the kernel on data streamed from memory as in decode).
void QDotCase(benchmark::State& state, DType type, QDotIsa isa, int64_t rows) {
  const QDotFn dot = GetQDot(type, isa);
  if (dot == nullptr) {
    state.SkipWithError("kernel not available on this CPU");
    return;
  }
  const int64_t cols = 1536;
  QuantizedMatrix m = MakeMatrix(type, rows, cols);
  const DType act = QDotActivationType(type);
  std::vector<float> x(cols, 0.5f);
  std::vector<uint8_t> xq(*RowBytes(act, cols));
  QuantizeActivations(act, x.data(), cols, xq.data());
  int64_t r = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dot(m.w.row(r), xq.data(), cols));
    r = r + 1 == rows ? 0 : r + 1;
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(m.w.row_bytes) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
void BM_QDot(benchmark::State& state, DType type, QDotIsa isa) { QDotCase(state, type, isa, 8960); }
// The same kernel on 8 rows that stay in L1: its compute cost alone.
void BM_QDotL1(benchmark::State& state, DType type, QDotIsa isa) { QDotCase(state, type, isa, 8); }

#define FATHOM_QDOT_BENCH(T)                                                     \
  BENCHMARK_CAPTURE(BM_QDot, T##_scalar, DType::k##T, QDotIsa::kScalar);         \
  BENCHMARK_CAPTURE(BM_QDot, T##_avx2, DType::k##T, QDotIsa::kAvx2);             \
  BENCHMARK_CAPTURE(BM_QDot, T##_avx512vnni, DType::k##T, QDotIsa::kAvx512Vnni); \
  BENCHMARK_CAPTURE(BM_QDotL1, T##_avx2, DType::k##T, QDotIsa::kAvx2);           \
  BENCHMARK_CAPTURE(BM_QDotL1, T##_avx512vnni, DType::k##T, QDotIsa::kAvx512Vnni)

FATHOM_QDOT_BENCH(Q8_0);
FATHOM_QDOT_BENCH(Q4_0);
FATHOM_QDOT_BENCH(Q4_K);
FATHOM_QDOT_BENCH(Q5_K);
FATHOM_QDOT_BENCH(Q6_K);
FATHOM_QDOT_BENCH(Q4_1);
FATHOM_QDOT_BENCH(Q5_1);
FATHOM_QDOT_BENCH(Q2_K);
FATHOM_QDOT_BENCH(Q3_K);
FATHOM_QDOT_BENCH(IQ4_NL);
FATHOM_QDOT_BENCH(IQ4_XS);

}  // namespace
}  // namespace fathom
