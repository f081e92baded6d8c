// A fixed pool of worker threads that runs data-parallel loops (ParallelFor) for one caller.
#ifndef FATHOM_LIB_RUNTIME_THREAD_POOL_H_
#define FATHOM_LIB_RUNTIME_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fathom {

class ThreadPool {
 public:
  // `n_threads` includes the calling thread; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Splits [0, n) into contiguous pieces (a few per thread, each a multiple of `grain` except the
  // last) and runs fn(begin, end, thread_index) on them; returns when all are done. Threads claim
  // pieces as they come free, so a thread the OS has descheduled (a busy machine) does not hold
  // up the others: the caller runs whatever nobody has claimed. thread_index is the index of the
  // executing thread in [0, n_threads) (0 = the caller): use it for per-thread scratch only, as
  // which piece runs on which thread varies. Every index in [0, n) is passed exactly once.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void WorkerLoop(int index);
  // Claims and runs pieces of the current job until none is left unclaimed.
  void RunPieces(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  // (generation << 44) | (pieces << 22) | next unclaimed piece; one word, so a claim (CAS) sees
  // the piece count of the same job.
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> done_{0};  // pieces of the current job finished
  bool stop_ = false;
  // Current job; written by the caller before it publishes the state, read after a claim.
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t piece_ = 0;
};

}  // namespace fathom

#endif  // FATHOM_LIB_RUNTIME_THREAD_POOL_H_
