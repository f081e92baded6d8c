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

  // Splits [0, n) into contiguous chunks (at most one per thread, each a multiple of `grain`
  // except the last) and runs fn(begin, end, thread_index) on them; returns when all are done.
  // The split depends only on n, grain and n_threads, so results are deterministic.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void WorkerLoop(int index);
  void RunChunk(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  // Current job.
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 0;
};

}  // namespace fathom

#endif  // FATHOM_LIB_RUNTIME_THREAD_POOL_H_
