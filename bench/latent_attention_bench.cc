// Absorbed MLA attention (lib/kernels/latent_attention) at DeepSeek-V2-Lite's shape (latent 512,
// rope 64): one call of H heads over N keys on one thread (the cache small enough to stay in the
// L2/L3 caches for small N), and one decode step's attention over 27 layers of separate caches
// (too large for the L3) split by key pieces over two threads as lib/models/deepseek/mla.cc
// splits a single token. Counters: GFLOP/s (2 x heads x keys x (2 x 512 + 64) per call).
#include <algorithm>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/latent_attention.h"
#include "runtime/thread_pool.h"
#include "tensor/aligned_vector.h"

namespace fathom {
namespace {

constexpr int64_t kLora = 512, kRope = 64;

AlignedVector<float> Random(int64_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  AlignedVector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double Flop(int64_t heads, int64_t keys) { return 2.0 * heads * keys * (2 * kLora + kRope); }

// One LatentAttention call: state.range(0) keys, state.range(1) heads, one thread.
void BM_LatentAttention(benchmark::State& state) {
  const int64_t keys = state.range(0), heads = state.range(1);
  const AlignedVector<float> q_lat = Random(heads * kLora, 1, 1.0f);
  const AlignedVector<float> q_pe = Random(heads * kRope, 2, 1.0f);
  const AlignedVector<float> c_kv = Random(keys * kLora, 3, 0.3f);
  const AlignedVector<float> k_pe = Random(keys * kRope, 4, 0.3f);
  const LatentAttentionShape s{heads, kLora, kRope, keys, 0.05f};
  AlignedVector<float> out(heads * kLora), scratch(LatentAttentionScratchFloats(s));
  for (auto _ : state) {
    LatentAttention(s, q_lat.data(), q_pe.data(), kRope, c_kv.data(), k_pe.data(), out.data(),
                    scratch.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(Flop(heads, keys) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LatentAttention)
    ->Args({256, 16})
    ->Args({4096, 8})
    ->Args({4096, 16})
    ->Unit(benchmark::kMillisecond);

// One decode step of V2-Lite (16 heads, 27 layers) at state.range(0) keys on two threads: the
// key pieces of each layer on the threads, then the merge per head (mla.cc's single-token path).
void BM_LatentAttentionDecode27Layers(benchmark::State& state) {
  const int64_t keys = state.range(0), heads = 16, layers = 27, threads = 2;
  const AlignedVector<float> q_lat = Random(heads * kLora, 1, 1.0f);
  const AlignedVector<float> q_pe = Random(heads * kRope, 2, 1.0f);
  std::vector<AlignedVector<float>> c_kv, k_pe;
  for (int64_t l = 0; l < layers; ++l) {
    c_kv.push_back(Random(keys * kLora, 10 + l, 0.3f));
    k_pe.push_back(Random(keys * kRope, 100 + l, 0.3f));
  }
  const int64_t pieces = LatentAttentionPieces(keys);
  AlignedVector<float> outs(pieces * heads * kLora), maxes(pieces * heads), sums(pieces * heads);
  AlignedVector<float> out(heads * kLora);
  ThreadPool pool(threads);
  for (auto _ : state) {
    for (int64_t l = 0; l < layers; ++l) {
      pool.ParallelFor(pieces, 1, [&](int64_t p_begin, int64_t p_end, int) {
        thread_local AlignedVector<float> scores;
        scores.resize(heads * 64);
        for (int64_t p = p_begin; p < p_end; ++p) {
          int64_t begin, end;
          LatentAttentionPieceRange(keys, p, &begin, &end);
          const LatentAttentionShape s{heads, kLora, kRope, end - begin, 0.05f};
          LatentAttentionPartial(s, q_lat.data(), q_pe.data(), kRope, &c_kv[l][begin * kLora],
                                 &k_pe[l][begin * kRope], &outs[p * heads * kLora],
                                 &maxes[p * heads], &sums[p * heads], scores.data());
        }
      });
      pool.ParallelFor(heads, heads / threads, [&](int64_t h_begin, int64_t h_end, int) {
        MergeLatentPartials(h_end - h_begin, kLora, pieces, &outs[h_begin * kLora], heads * kLora,
                            &maxes[h_begin], &sums[h_begin], heads, &out[h_begin * kLora]);
      });
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      Flop(heads, keys) * layers * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LatentAttentionDecode27Layers)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace fathom
