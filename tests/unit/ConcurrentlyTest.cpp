//===- ConcurrentlyTest.cpp - Jobs run at once, their errors come back -----===//
#include "compiler/Support/Concurrently.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>

using namespace attn;

TEST(Concurrently, RunsEveryJobOnceAndTheLastOnTheCallingThread) {
  std::atomic<int> runs[4] = {0, 0, 0, 0};
  std::thread::id lastOn;
  std::vector<std::function<void()>> jobs;
  for (int n = 0; n < 4; ++n)
    jobs.push_back([&, n] {
      ++runs[n];
      if (n == 3)
        lastOn = std::this_thread::get_id();
    });
  runConcurrently(jobs);
  for (const std::atomic<int> &r : runs)
    EXPECT_EQ(r.load(), 1);
  EXPECT_EQ(lastOn, std::this_thread::get_id());
}

TEST(Concurrently, NoJobsIsNothingToDo) { runConcurrently({}); }

TEST(Concurrently, AnExceptionOnAWorkerThreadReachesTheCallerAfterEveryJob) {
  std::atomic<int> finished = 0;
  std::vector<std::function<void()>> jobs = {
      [] { throw std::runtime_error("first job"); },
      [&] { ++finished; },
      [] { throw std::runtime_error("third job"); },
      [&] { ++finished; },
  };
  try {
    runConcurrently(jobs);
    FAIL() << "the jobs' exception was lost";
  } catch (const std::runtime_error &e) {
    EXPECT_EQ(std::string(e.what()), "first job"); // the first in the jobs' order
  }
  EXPECT_EQ(finished.load(), 2);
}

TEST(Concurrently, AnExceptionOnTheCallingThreadWaitsForTheOthers) {
  std::atomic<bool> workerDone = false;
  std::vector<std::function<void()>> jobs = {
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        workerDone = true;
      },
      [] { throw std::bad_alloc(); },
  };
  EXPECT_THROW(runConcurrently(jobs), std::bad_alloc);
  EXPECT_TRUE(workerDone.load()); // joined before the rethrow: no thread left running
}
