// A FIFO of tasks served by a fixed pool of worker threads: the service's
// admission queue. gRPC's callback threads only admit and enqueue a call,
// so they go back to reading the network at once; the backlog of an
// overloaded server then sits here, where the service can see it, measure
// how long each call waited and refuse what it cannot serve in time,
// instead of in gRPC's and the kernel's buffers, where it is invisible.
//
// Lateness follows CoDel (Nichols and Jacobson, "Controlling Queue Delay",
// ACM Queue 2012) with its target and interval both `max_delay`: a task is
// late when it waited longer than max_delay, other tasks wait behind it,
// and every task taken in the max_delay before it waited longer too, i.e.
// the queue has stood above max_delay for a whole interval. A burst, or a
// pause of the whole process, that the workers clear within an interval
// makes nothing late, and neither does a lone slow task; a standing queue
// does, and refusing late tasks (cheaply: they are not parsed) drains it
// until a task comes out under max_delay, or last, again.
#ifndef WXCRYPTO_SERVER_SERVICE_WORK_QUEUE_H_
#define WXCRYPTO_SERVER_SERVICE_WORK_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace wxcrypto {

// Thread-safe. Tasks run in the order they were pushed (several at once,
// one per worker). Stop() runs every task still queued before it returns,
// so a pushed task always runs exactly once.
class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  class Task {
   public:
    virtual ~Task() = default;
    // Does the work, on a worker thread. `waited` is the time from Push to
    // the start of Run; `late` says the task is late (see above) and should
    // be refused rather than done. The queue deletes the task after Run.
    virtual void Run(Clock::duration waited, bool late) = 0;
  };

  // Starts `workers` threads (at least one). At most `max_length` tasks
  // wait at once (running tasks do not count). `max_delay` is the target
  // and interval of lateness.
  WorkQueue(int workers, std::size_t max_length, Clock::duration max_delay);
  // Stops the queue (see Stop).
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`; returns it back (not queued) if `max_length` tasks are
  // already waiting or Stop was called.
  std::unique_ptr<Task> Push(std::unique_ptr<Task> task);

  // Returns true, and counts the caller as a running task, if no task is
  // waiting or running: the caller may then do its work on its own thread
  // (no hand-off to a worker) and must call ExitInline when done. Returns
  // false otherwise, or once Stop was called.
  bool TryEnterInline();
  // Ends the inline run that TryEnterInline allowed.
  void ExitInline();

  // Refuses new tasks, lets the workers run every queued task, and joins
  // them. Idempotent; must not be called from a task.
  void Stop();

  // Tasks waiting, not counting running ones.
  std::size_t length() const;
  int workers() const { return static_cast<int>(threads_.size()); }

  // Returns the number of CPUs this process may run on (its affinity mask,
  // e.g. as narrowed by taskset or a cpuset), at least 1.
  static int AvailableCpus();

 private:
  struct Entry {
    Clock::time_point pushed;
    std::unique_ptr<Task> task;
  };

  void WorkerLoop();

  const std::size_t max_length_;
  const Clock::duration max_delay_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Entry> tasks_;  // guarded by mu_
  int idle_workers_ = 0;     // guarded by mu_
  int running_ = 0;          // guarded by mu_; tasks and inline callers
  bool stopping_ = false;    // guarded by mu_
  // When the tasks taken have all waited longer than max_delay since
  // (CoDel's first_above_time); tasks taken from then on are late. The
  // epoch (zero) while the last task taken waited less or was alone, and
  // after an inline run.
  Clock::time_point late_from_{};  // guarded by mu_
  std::vector<std::thread> threads_;
  std::once_flag joined_;
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_SERVICE_WORK_QUEUE_H_
