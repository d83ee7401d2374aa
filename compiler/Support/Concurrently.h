//===- Concurrently.h - Run a few jobs at once, errors carried back -*- C++ -*-===//
//
// A compile runs a few large jobs side by side (a kernel's two paths, the
// parts of one path's machine code). Each job but the last gets a thread of
// its own, the last runs on the calling thread. Where no thread can be
// started (a process at its limit) a job runs on the calling thread in
// turn. An exception a job throws (std::bad_alloc: LLVM itself does not
// throw) is caught on the job's own thread, where it would otherwise end
// the process, and rethrown to the caller once every job has finished.
//
// (llvm::ThreadPool would do the scheduling, but it ends the process where
// it cannot start a thread.)
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_SUPPORT_CONCURRENTLY_H
#define ATTN_SUPPORT_CONCURRENTLY_H

#include <exception>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

namespace attn {

/// Runs every job of `jobs` and returns when all have finished; rethrows
/// the first (in `jobs` order) exception any of them threw.
inline void runConcurrently(const std::vector<std::function<void()>> &jobs) {
  std::vector<std::exception_ptr> errors(jobs.size());
  auto run = [&](size_t n) {
    try {
      jobs[n]();
    } catch (...) {
      errors[n] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (size_t n = 0; n < jobs.size(); ++n) {
    if (n + 1 < jobs.size()) {
      try {
        threads.emplace_back(run, n);
        continue;
      } catch (const std::system_error &) {
        // No thread to be had: this one runs here, in turn.
      }
    }
    run(n);
  }
  for (std::thread &t : threads)
    t.join();
  for (const std::exception_ptr &error : errors)
    if (error)
      std::rethrow_exception(error);
}

} // namespace attn

#endif // ATTN_SUPPORT_CONCURRENTLY_H
