//===- ThreadPool.h - The workers that run kernel ranges --------*- C++ -*-===//
#ifndef ATTN_RUNTIME_THREADPOOL_H
#define ATTN_RUNTIME_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attn {

/// A fixed set of threads that split [0, n) into chunks taken from a shared
/// counter, so triangular and windowed work stays balanced. The calling
/// thread works too. One parallelFor runs at a time per pool.
class ThreadPool {
public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls fn(begin, end, worker) over chunks of at most `chunk` items, with
  /// at most `maxWorkers` workers (0: all); `worker` is in [0, size()).
  void parallelFor(int64_t n, int64_t chunk, unsigned maxWorkers,
                   const std::function<void(int64_t, int64_t, unsigned)> &fn);

  /// The pool shared by all kernels of this process, one thread per core.
  static ThreadPool &global();

private:
  void workerLoop(unsigned index);
  void runChunks(unsigned worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::mutex callMutex_; // serializes parallelFor calls
  uint64_t generation_ = 0;
  bool stop_ = false;
  unsigned active_ = 0, participants_ = 0;
  // The current job.
  const std::function<void(int64_t, int64_t, unsigned)> *fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
};

} // namespace attn

#endif // ATTN_RUNTIME_THREADPOOL_H
