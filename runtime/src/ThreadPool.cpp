//===- ThreadPool.cpp - The workers that run kernel ranges -----------------===//
#include "attn/ThreadPool.h"

#include <algorithm>

#include <pthread.h>

namespace attn {

ThreadPool::ThreadPool(unsigned threads) {
  for (unsigned t = 1; t < std::max(1u, threads); ++t)
    workers_.emplace_back([this, t] { workerLoop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

namespace {
std::atomic<ThreadPool *> globalPool{nullptr};
} // namespace

ThreadPool &ThreadPool::global() {
  // A child of fork() has none of the parent's worker threads: a pool made
  // before the fork would wait for them forever. The child forgets it (it
  // leaks; its mutexes may be held by threads that are gone) and makes its
  // own on first use.
  static const bool forgetsAtFork = [] {
    ::pthread_atfork(nullptr, nullptr, [] { globalPool.store(nullptr); });
    return true;
  }();
  (void)forgetsAtFork;
  ThreadPool *pool = globalPool.load();
  if (pool)
    return *pool;
  // Leaked on purpose: worker threads must not be joined during static
  // destruction, when a kernel may still be running in another thread.
  // Made without a lock (a lock held across fork() would stay locked in the
  // child): the first to publish wins, a loser's pool is joined and freed.
  auto *fresh = new ThreadPool(std::max(1u, std::thread::hardware_concurrency()));
  if (globalPool.compare_exchange_strong(pool, fresh))
    return *fresh;
  delete fresh;
  return *pool;
}

void ThreadPool::runChunks(unsigned worker) {
  while (true) {
    int64_t begin = next_.fetch_add(chunk_);
    if (begin >= n_)
      return;
    (*fn_)(begin, std::min(n_, begin + chunk_), worker);
  }
}

void ThreadPool::workerLoop(unsigned index) {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
      if (index >= participants_)
        continue;
    }
    runChunks(index);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--active_ == 0)
      done_.notify_all();
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t chunk, unsigned maxWorkers,
                             const std::function<void(int64_t, int64_t, unsigned)> &fn) {
  if (n <= 0)
    return;
  std::lock_guard<std::mutex> call(callMutex_);
  unsigned want = maxWorkers == 0 ? size() : std::min(maxWorkers, size());
  want = static_cast<unsigned>(std::min<int64_t>(want, (n + chunk - 1) / chunk));
  if (want <= 1) {
    for (int64_t b = 0; b < n; b += chunk)
      fn(b, std::min(n, b + chunk), 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    chunk_ = std::max<int64_t>(1, chunk);
    next_ = 0;
    participants_ = want;
    active_ = want - 1;
    ++generation_;
  }
  wake_.notify_all();
  runChunks(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return active_ == 0; });
  fn_ = nullptr;
}

} // namespace attn
