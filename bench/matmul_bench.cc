// Matrix-vector (decode) and matrix-matrix (prefill) throughput of MatMul for each weight type,
// reported as weight bytes streamed per second and multiply-adds per second.
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/matmul.h"
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
  QuantizedMatrix m = MakeMatrix(type, rows, cols);
  std::vector<float> x(n_tokens * cols, 0.5f), y(n_tokens * rows);
  ThreadPool pool(threads);
  for (auto _ : state) {
    MatMul(m.w, x.data(), n_tokens, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(m.data.size()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["GMAC/s"] = benchmark::Counter(
      static_cast<double>(rows * cols * n_tokens) * state.iterations() / 1e9,
      benchmark::Counter::kIsRate);
}

#define FATHOM_MATMUL_BENCH(T)                                                      \
  BENCHMARK_CAPTURE(BM_MatMul, T, DType::k##T)                                      \
      ->ArgsProduct({{1, 64}, {1, 2}})                                              \
      ->ArgNames({"tokens", "threads"})                                             \
      ->UseRealTime()                                                               \
      ->Unit(benchmark::kMillisecond)

FATHOM_MATMUL_BENCH(F32);
FATHOM_MATMUL_BENCH(F16);
FATHOM_MATMUL_BENCH(BF16);
FATHOM_MATMUL_BENCH(Q8_0);
FATHOM_MATMUL_BENCH(Q4_0);
FATHOM_MATMUL_BENCH(Q4_K);
FATHOM_MATMUL_BENCH(Q6_K);

}  // namespace
}  // namespace fathom
