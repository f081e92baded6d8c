// ThreadPool: persistent workers woken per ParallelFor; every thread, the caller included, claims
// pieces of the loop from one atomic word until none is left.
// A decode step issues hundreds of small parallel loops, so both sides spin briefly on atomics
// before falling back to the condition variables (a wake-up through the kernel costs tens of
// microseconds, a spin a few hundred nanoseconds). The spins are short and yield, and pieces are
// claimed dynamically, because on a busy machine a worker may not get a core for milliseconds:
// the caller then runs the pieces itself instead of waiting for it.
#include "runtime/thread_pool.h"

#include <immintrin.h>

#include <algorithm>

namespace fathom {
namespace {

// Spin iterations (each a pause instruction, ~tens of ns) before blocking; every kYieldEvery-th
// iteration yields the core to another runnable thread.
constexpr int kSpinIterations = 4000;
constexpr int kYieldEvery = 256;
// Pieces per thread: enough for threads that start late to share the work.
constexpr int64_t kPiecesPerThread = 4;

constexpr int kNextBits = 22;
constexpr uint64_t kFieldMask = (uint64_t{1} << kNextBits) - 1;
constexpr int kGenerationShift = 2 * kNextBits;

uint64_t Generation(uint64_t state) { return state >> kGenerationShift; }
uint64_t Pieces(uint64_t state) { return (state >> kNextBits) & kFieldMask; }
uint64_t Next(uint64_t state) { return state & kFieldMask; }

void SpinPause(int i) {
  if (i % kYieldEvery == kYieldEvery - 1) {
    std::this_thread::yield();
  } else {
    _mm_pause();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  n_threads_ = std::max(1, std::min(n_threads, 4096));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    const uint64_t gen = Generation(state_.load(std::memory_order_relaxed)) + 1;
    state_.store(gen << kGenerationShift, std::memory_order_release);  // no pieces
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunPieces(int index) {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (Next(s) >= Pieces(s)) return;
    if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // s now holds the current state
    }
    // Piece Next(s) is ours; the job cannot change until it is counted as done.
    const int64_t begin = static_cast<int64_t>(Next(s)) * piece_;
    const int64_t end = std::min(n_, begin + piece_);
    (*fn_)(begin, end, index);
    const int64_t pieces = static_cast<int64_t>(Pieces(s));
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == pieces) {
      std::lock_guard<std::mutex> lock(mu_);  // pairs with the caller's predicate check
      done_cv_.notify_one();
      return;
    }
    s = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t n_grains = (n + grain - 1) / grain;
  if (n_threads_ <= 1 || n_grains <= 1) {
    fn(0, n, 0);
    return;
  }
  const int64_t target = std::min<int64_t>(n_grains, n_threads_ * kPiecesPerThread);
  const int64_t piece = ((n_grains + target - 1) / target) * grain;
  const int64_t pieces = (n + piece - 1) / piece;
  fn_ = &fn;
  n_ = n;
  piece_ = piece;
  done_.store(0, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t gen = (Generation(state_.load(std::memory_order_relaxed)) + 1) &
                         ((uint64_t{1} << (64 - kGenerationShift)) - 1);
    state_.store((gen << kGenerationShift) | (static_cast<uint64_t>(pieces) << kNextBits),
                 std::memory_order_release);
  }
  work_cv_.notify_all();
  RunPieces(0);
  for (int i = 0; i < kSpinIterations && done_.load(std::memory_order_acquire) != pieces; ++i) {
    SpinPause(i);
  }
  if (done_.load(std::memory_order_acquire) != pieces) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == pieces; });
  }
  fn_ = nullptr;
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto has_news = [&] { return Generation(state_.load(std::memory_order_acquire)) != seen; };
    for (int i = 0; i < kSpinIterations && !has_news(); ++i) SpinPause(i);
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || has_news(); });
      if (stop_) return;
      seen = Generation(state_.load(std::memory_order_acquire));
    }
    RunPieces(index);
  }
}

}  // namespace fathom
