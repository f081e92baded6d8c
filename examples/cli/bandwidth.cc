// Memory read bandwidth probe (see bandwidth.h). The reader sums 256-bit words with four
// independent accumulators so the loads, not the additions, bound it.
#include "bandwidth.h"

#include <immintrin.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fathom::cli {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kHugePage = uint64_t{2} << 20;
constexpr uint64_t kMinBytes = uint64_t{1} << 30;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Sum of the 64-bit lanes of [begin, begin + bytes); bytes is a multiple of 128.
uint64_t ReadSlice(const uint8_t* begin, uint64_t bytes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (uint64_t i = 0; i < bytes; i += 128) {
    const __m256i* p = reinterpret_cast<const __m256i*>(begin + i);
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(p));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(p + 1));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(p + 2));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(p + 3));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

// Runs fn(t, begin, bytes) on `threads` threads over contiguous 4 KiB-aligned slices.
template <typename Fn>
void ForEachSlice(uint8_t* buffer, uint64_t bytes, int threads, Fn fn) {
  const uint64_t pages = bytes / kPage;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    const uint64_t p0 = pages * static_cast<uint64_t>(t) / static_cast<uint64_t>(threads);
    const uint64_t p1 = pages * static_cast<uint64_t>(t + 1) / static_cast<uint64_t>(threads);
    pool.emplace_back(fn, t, buffer + p0 * kPage, (p1 - p0) * kPage);
  }
  for (std::thread& th : pool) th.join();
}

}  // namespace

uint64_t DefaultBandwidthBufferBytes() {
  uint64_t bytes = kMinBytes;
#ifdef _SC_LEVEL3_CACHE_SIZE
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) bytes = std::max(bytes, 4 * static_cast<uint64_t>(l3));
#endif
  return bytes;
}

BandwidthResult MeasureReadBandwidth(int threads, uint64_t bytes, int passes, bool huge_pages) {
  BandwidthResult r;
  r.threads = std::max(1, threads);
  bytes = bytes / kPage * kPage;
  r.buffer_bytes = bytes;
  if (bytes < kPage * static_cast<uint64_t>(r.threads)) {
    r.error = "buffer too small";
    return r;
  }
  std::unique_ptr<uint8_t, FreeDeleter> buffer(static_cast<uint8_t*>(
      std::aligned_alloc(kHugePage, (bytes + kHugePage - 1) / kHugePage * kHugePage)));
  if (!buffer) {
    r.error = "cannot allocate " + std::to_string(bytes >> 20) + " MiB";
    return r;
  }
  // Advice only: where the kernel ignores it, the numbers are of whatever pages it gave.
  madvise(buffer.get(), bytes, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  // First touch from the reading threads, with a pattern the compiler cannot fold.
  ForEachSlice(buffer.get(), bytes, r.threads,
               [](int t, uint8_t* p, uint64_t n) { std::memset(p, 0x11 + t, n); });
  std::atomic<uint64_t> sink{0};  // the sums are stored, so the reads cannot be dropped
  for (int pass = 0; pass < passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    ForEachSlice(buffer.get(), bytes, r.threads, [&sink](int, const uint8_t* p, uint64_t n) {
      sink.fetch_add(ReadSlice(p, n), std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0) r.samples_gb_per_s.push_back(static_cast<double>(bytes) / s / 1e9);
  }
  return r;
}

}  // namespace fathom::cli
