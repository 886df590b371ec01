#include "server/service/work_queue.h"

#include <sched.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace wxcrypto {

WorkQueue::WorkQueue(int workers, std::size_t max_length,
                     Clock::duration max_delay)
    : max_length_(max_length), max_delay_(max_delay) {
  const int count = std::max(workers, 1);
  threads_.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

WorkQueue::~WorkQueue() { Stop(); }

std::unique_ptr<WorkQueue::Task> WorkQueue::Push(std::unique_ptr<Task> task) {
  const Clock::time_point now = Clock::now();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || tasks_.size() >= max_length_) return task;
    tasks_.push_back(Entry{now, std::move(task)});
    // A busy worker takes the task when it finishes its own; waking one
    // costs a futex call, so only when one is asleep.
    wake = idle_workers_ > 0;
  }
  if (wake) ready_.notify_one();
  return nullptr;
}

bool WorkQueue::TryEnterInline() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || running_ > 0 || !tasks_.empty()) return false;
  ++running_;
  late_from_ = Clock::time_point();  // idle: no standing queue
  return true;
}

void WorkQueue::ExitInline() {
  std::lock_guard<std::mutex> lock(mu_);
  --running_;
}

void WorkQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  std::call_once(joined_, [this] {
    for (std::thread& thread : threads_) thread.join();
  });
}

std::size_t WorkQueue::length() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

int WorkQueue::AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void WorkQueue::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (tasks_.empty()) {
      if (stopping_) return;
      ++idle_workers_;
      ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      --idle_workers_;
      continue;
    }
    Entry entry = std::move(tasks_.front());
    tasks_.pop_front();
    const Clock::time_point now = Clock::now();
    const Clock::duration waited = now - entry.pushed;
    bool late = false;
    // A task with nothing behind it is no standing queue, however long it
    // waited (CoDel's "queue holds at most one packet" exception).
    if (waited <= max_delay_ || tasks_.empty()) {
      late_from_ = Clock::time_point();
    } else if (late_from_ == Clock::time_point()) {
      late_from_ = now + max_delay_;
    } else {
      late = now >= late_from_;
    }
    ++running_;
    lock.unlock();
    entry.task->Run(waited, late);
    entry.task.reset();
    lock.lock();
    --running_;
  }
}

}  // namespace wxcrypto
