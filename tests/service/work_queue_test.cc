#include "server/service/work_queue.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wxcrypto {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsNull;
using ::testing::NotNull;

// A task that runs a function, given how long the task waited.
// A task that runs a function, given how long the task waited and whether
// it is late.
class FunctionTask : public WorkQueue::Task {
 public:
  using Function = std::function<void(WorkQueue::Clock::duration, bool)>;
  explicit FunctionTask(Function run) : run_(std::move(run)) {}
  void Run(WorkQueue::Clock::duration waited, bool late) override {
    run_(waited, late);
  }

 private:
  Function run_;
};

std::unique_ptr<WorkQueue::Task> Task(std::function<void()> run) {
  return std::make_unique<FunctionTask>(
      [run = std::move(run)](WorkQueue::Clock::duration, bool) { run(); });
}

// Long enough that no task in these tests is ever late, unless meant to.
constexpr auto kNeverLate = std::chrono::hours(1);

// A gate tasks can wait at until the test opens it.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  // Counts an arrival and waits until `count` tasks have arrived; returns
  // false if that took longer than `timeout`.
  bool ArriveAndWaitFor(int count, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lock, timeout, [&] { return arrived_ >= count; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int arrived_ = 0;
};

TEST(WorkQueueTest, OneWorkerRunsEveryTaskOnceInPushOrder) {
  std::mutex mu;
  std::vector<int> order;
  std::vector<int> expected;
  {
    WorkQueue queue(/*workers=*/1, /*max_length=*/1000, kNeverLate);
    for (int i = 0; i < 500; ++i) {
      expected.push_back(i);
      ASSERT_THAT(queue.Push(Task([&mu, &order, i] {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
      })),
                  IsNull());
    }
    queue.Stop();
  }
  EXPECT_THAT(order, ElementsAreArray(expected));
}

TEST(WorkQueueTest, WorkersRunTasksAtTheSameTime) {
  WorkQueue queue(/*workers=*/3, /*max_length=*/10, kNeverLate);
  EXPECT_EQ(queue.workers(), 3);
  Gate gate;
  std::atomic<int> met{0};
  for (int i = 0; i < 3; ++i) {
    // Each task returns only once all three run: with fewer than three
    // threads running them at once, they would time out.
    ASSERT_THAT(queue.Push(Task([&] {
      if (gate.ArriveAndWaitFor(3, std::chrono::seconds(30))) ++met;
    })),
                IsNull());
  }
  queue.Stop();
  EXPECT_EQ(met.load(), 3);
}

TEST(WorkQueueTest, RefusesTasksBeyondMaxLengthWhileWorkersAreBusy) {
  WorkQueue queue(/*workers=*/1, /*max_length=*/2, kNeverLate);
  Gate started;
  Gate release;
  std::atomic<int> ran{0};
  ASSERT_THAT(queue.Push(Task([&] {
    started.Open();
    release.Wait();
    ++ran;
  })),
              IsNull());
  started.Wait();  // the worker is busy: the next tasks wait
  EXPECT_THAT(queue.Push(Task([&] { ++ran; })), IsNull());
  EXPECT_THAT(queue.Push(Task([&] { ++ran; })), IsNull());
  EXPECT_EQ(queue.length(), 2u);
  std::unique_ptr<WorkQueue::Task> refused = queue.Push(Task([&] { ++ran; }));
  ASSERT_THAT(refused, NotNull());
  release.Open();
  queue.Stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(queue.length(), 0u);
  // A refused task is handed back intact: running it still works.
  refused->Run(WorkQueue::Clock::duration::zero(), false);
  EXPECT_EQ(ran.load(), 4);
}

TEST(WorkQueueTest, StopRunsQueuedTasksThenRefusesNewOnes) {
  WorkQueue queue(/*workers=*/1, /*max_length=*/100, kNeverLate);
  Gate started;
  Gate release;
  std::atomic<int> ran{0};
  ASSERT_THAT(queue.Push(Task([&] {
    started.Open();
    release.Wait();
    ++ran;
  })),
              IsNull());
  started.Wait();
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(queue.Push(Task([&] { ++ran; })), IsNull());
  }
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    queue.Stop();
    stopped = true;
  });
  // Stop waits for the queued tasks, which wait for the gate.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(stopped.load());
  release.Open();
  stopper.join();
  EXPECT_EQ(ran.load(), 51);
  EXPECT_THAT(queue.Push(Task([&] { ++ran; })), NotNull());
  queue.Stop();  // idempotent
  EXPECT_EQ(ran.load(), 51);
}

TEST(WorkQueueTest, TaskIsToldHowLongItWaited) {
  WorkQueue queue(/*workers=*/1, /*max_length=*/10, kNeverLate);
  std::atomic<std::int64_t> first_ms{-1};
  std::atomic<std::int64_t> second_ms{-1};
  auto record = [](std::atomic<std::int64_t>& into) {
    return [&into](WorkQueue::Clock::duration waited, bool) {
      into =
          std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
    };
  };
  Gate release;
  ASSERT_THAT(queue.Push(Task([&] { release.Wait(); })), IsNull());
  ASSERT_THAT(queue.Push(std::make_unique<FunctionTask>(record(first_ms))),
              IsNull());
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_THAT(queue.Push(std::make_unique<FunctionTask>(record(second_ms))),
              IsNull());
  release.Open();
  queue.Stop();
  EXPECT_GE(first_ms.load(), 60);
  EXPECT_GE(second_ms.load(), 0);
  EXPECT_LT(second_ms.load(), first_ms.load());
}

// Records, in order, whether each task was late.
class LatenessLog {
 public:
  // A task that records its lateness, then sleeps `work`.
  std::unique_ptr<WorkQueue::Task> Task(
      std::chrono::milliseconds work = std::chrono::milliseconds(0)) {
    return std::make_unique<FunctionTask>(
        [this, work](WorkQueue::Clock::duration, bool late) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            late_.push_back(late);
          }
          std::this_thread::sleep_for(work);
        });
  }
  std::vector<bool> late() {
    std::lock_guard<std::mutex> lock(mu_);
    return late_;
  }

 private:
  std::mutex mu_;
  std::vector<bool> late_;
};

TEST(WorkQueueTest, TasksAreLateOnceTheQueueStoodAboveMaxDelayForAnInterval) {
  LatenessLog log;
  WorkQueue queue(/*workers=*/1, /*max_length=*/10,
                  std::chrono::milliseconds(50));
  Gate release;
  ASSERT_THAT(queue.Push(Task([&] { release.Wait(); })), IsNull());
  // Each waits more than 50 ms. The first one taken starts the interval and
  // takes 60 ms, so the next ones come out after it: late, except the last,
  // which has nothing behind it.
  ASSERT_THAT(queue.Push(log.Task(std::chrono::milliseconds(60))), IsNull());
  ASSERT_THAT(queue.Push(log.Task()), IsNull());
  ASSERT_THAT(queue.Push(log.Task()), IsNull());
  ASSERT_THAT(queue.Push(log.Task()), IsNull());
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  release.Open();
  // Wait for the queue to drain, then a task that does not wait is on time.
  while (log.late().size() < 4) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_THAT(queue.Push(log.Task()), IsNull());
  queue.Stop();
  EXPECT_THAT(log.late(), ElementsAreArray({false, true, true, false, false}));
}

TEST(WorkQueueTest, TaskWithNothingBehindItIsNeverLate) {
  LatenessLog log;
  // As one caller after another on a slow machine: each call waits longer
  // than max_delay, but alone.
  WorkQueue queue(/*workers=*/1, /*max_length=*/10,
                  std::chrono::milliseconds(10));
  Gate release;
  ASSERT_THAT(queue.Push(Task([&] { release.Wait(); })), IsNull());
  ASSERT_THAT(queue.Push(log.Task(std::chrono::milliseconds(40))), IsNull());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  release.Open();
  while (log.late().empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Pushed while the first one works for 40 ms: waits about that long.
  ASSERT_THAT(queue.Push(log.Task(std::chrono::milliseconds(40))), IsNull());
  while (log.late().size() < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_THAT(queue.Push(log.Task()), IsNull());
  queue.Stop();
  EXPECT_THAT(log.late(), ElementsAreArray({false, false, false}));
}

TEST(WorkQueueTest, BacklogClearedWithinTheIntervalIsNotLate) {
  LatenessLog log;
  // As after a pause of the whole process: every task waited longer than
  // max_delay, but the workers clear them all within max_delay.
  WorkQueue queue(/*workers=*/1, /*max_length=*/100,
                  std::chrono::milliseconds(200));
  Gate release;
  ASSERT_THAT(queue.Push(Task([&] { release.Wait(); })), IsNull());
  for (int i = 0; i < 20; ++i) ASSERT_THAT(queue.Push(log.Task()), IsNull());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  release.Open();
  queue.Stop();
  EXPECT_THAT(log.late(), ElementsAreArray(std::vector<bool>(20, false)));
}

TEST(WorkQueueTest, InlineOnlyWhenNothingIsQueuedOrRunning) {
  WorkQueue queue(/*workers=*/1, /*max_length=*/10, kNeverLate);
  ASSERT_TRUE(queue.TryEnterInline());
  EXPECT_FALSE(queue.TryEnterInline());  // one inline caller at a time
  queue.ExitInline();
  ASSERT_TRUE(queue.TryEnterInline());
  queue.ExitInline();

  Gate started;
  Gate release;
  ASSERT_THAT(queue.Push(Task([&] {
    started.Open();
    release.Wait();
  })),
              IsNull());
  started.Wait();
  EXPECT_FALSE(queue.TryEnterInline());  // a worker is running a task
  ASSERT_THAT(queue.Push(Task([] {})), IsNull());
  EXPECT_FALSE(queue.TryEnterInline());  // and one is queued
  release.Open();
  // Once the worker is done, the queue is idle again.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool entered = false;
  while (!(entered = queue.TryEnterInline()) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(entered);
  // Tasks pushed meanwhile still go to the workers.
  std::atomic<bool> ran{false};
  ASSERT_THAT(queue.Push(Task([&] { ran = true; })), IsNull());
  queue.ExitInline();
  queue.Stop();
  EXPECT_TRUE(ran.load());
  EXPECT_FALSE(queue.TryEnterInline());  // stopped
}

TEST(WorkQueueTest, ManyProducersAndWorkersLoseNoTask) {
  std::atomic<int> ran{0};
  constexpr int kProducers = 4;
  constexpr int kTasksEach = 5000;
  {
    WorkQueue queue(/*workers=*/3, /*max_length=*/kProducers * kTasksEach,
                    kNeverLate);
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&] {
        for (int i = 0; i < kTasksEach; ++i) {
          EXPECT_THAT(queue.Push(Task([&] { ++ran; })), IsNull());
        }
      });
    }
    for (std::thread& producer : producers) producer.join();
    // The destructor stops the queue: every accepted task runs.
  }
  EXPECT_EQ(ran.load(), kProducers * kTasksEach);
}

TEST(WorkQueueTest, AtLeastOneWorkerAndAvailableCpusFollowsAffinity) {
  WorkQueue queue(/*workers=*/0, /*max_length=*/1, kNeverLate);
  EXPECT_EQ(queue.workers(), 1);
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  EXPECT_EQ(WorkQueue::AvailableCpus(), CPU_COUNT(&set));
  EXPECT_GE(WorkQueue::AvailableCpus(), 1);
}

}  // namespace
}  // namespace wxcrypto
