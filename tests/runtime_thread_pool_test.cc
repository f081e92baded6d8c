// ThreadPool: every index runs exactly once, thread indices stay in range, and many back-to-back
// jobs (the decode pattern) neither lose pieces nor deadlock, also when workers start late.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/thread_pool.h"

namespace fathom {
namespace {

TEST(ThreadPool, EveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.n_threads(), threads);
    for (int64_t n :
         {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{64}, int64_t{1000}, int64_t{100003}}) {
      for (int64_t grain : {int64_t{1}, int64_t{16}, int64_t{1000}}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> bad_range{0}, bad_thread{0};
        pool.ParallelFor(n, grain, [&](int64_t begin, int64_t end, int t) {
          if (begin < 0 || end > n || begin >= end) bad_range.fetch_add(1);
          // Pieces start at multiples of the grain.
          if (begin % grain != 0) bad_range.fetch_add(1);
          if (t < 0 || t >= threads) bad_thread.fetch_add(1);
          for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        EXPECT_EQ(bad_range.load(), 0) << "n=" << n << " grain=" << grain;
        EXPECT_EQ(bad_thread.load(), 0);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1)
              << "index " << i << " n=" << n << " grain=" << grain << " threads=" << threads;
        }
      }
    }
  }
}

TEST(ThreadPool, ManySmallJobsInARow) {
  ThreadPool pool(3);
  int64_t total = 0;
  std::vector<int64_t> partial(3);
  for (int job = 0; job < 20000; ++job) {
    const int64_t n = 1 + job % 37;
    std::atomic<int64_t> sum{0};
    pool.ParallelFor(n, 1, [&](int64_t begin, int64_t end, int) {
      int64_t s = 0;
      for (int64_t i = begin; i < end; ++i) s += i + 1;
      sum.fetch_add(s);
    });
    ASSERT_EQ(sum.load(), n * (n + 1) / 2) << "job " << job;
    total += sum.load();
  }
  EXPECT_GT(total, 0);
}

TEST(ThreadPool, SlowPiecesDoNotLoseWork) {
  // A piece that sleeps stands in for a worker the OS has descheduled: the others take the rest.
  ThreadPool pool(2);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::atomic<int>> hits(64);
    pool.ParallelFor(64, 1, [&](int64_t begin, int64_t end, int t) {
      if (t == 1 && begin == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, DestroysWhileIdleAndAfterWork) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(4);
    if (i % 2 == 0) {
      std::atomic<int> count{0};
      pool.ParallelFor(100, 1, [&](int64_t b, int64_t e, int) { count.fetch_add(int(e - b)); });
      EXPECT_EQ(count.load(), 100);
    }
  }
}

}  // namespace
}  // namespace fathom
