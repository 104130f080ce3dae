// The reconciler's queue of objects to look at, with the guarantees of Kubernetes' workqueue:
// an object is in the queue at most once, and is processed by at most one worker at a time; adding
// it while it is being processed makes it come back once that worker is done.
#pragma once

#include <chrono>
#include <compare>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "store/records.h"

namespace lxe::reconcile {

struct WorkKey {
  store::ObjectKind kind;
  std::string id;
  auto operator<=>(const WorkKey&) const = default;
};

class WorkQueue {
 public:
  void add(const WorkKey& key);
  void add_after(const WorkKey& key, std::chrono::milliseconds delay);
  // Blocks until a key is ready; nullopt once shut down.
  std::optional<WorkKey> take();
  // A key that is ready now, or nullopt at once (none is, or shut down). Like take() otherwise:
  // the key must be given back with done().
  std::optional<WorkKey> try_take();
  // Marks the key taken by take() as finished.
  void done(const WorkKey& key);
  void shutdown();
  size_t size() const;
  // Objects being processed now.
  size_t processing() const;
  // How long the object at the head of the queue has been ready without a worker taking it
  // (zero when none is ready): the reconciler is stuck when this grows.
  std::chrono::steady_clock::duration oldest_ready_wait() const;

 private:
  void add_locked(const WorkKey& key);
  // Moves the delayed keys that are due into the queue, then takes the first ready key, if any.
  std::optional<WorkKey> take_ready_locked();

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  struct Ready {
    WorkKey key;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Ready> queue_;
  std::set<WorkKey> queued_;
  std::set<WorkKey> processing_;
  std::set<WorkKey> dirty_;  // added while processing
  std::multimap<std::chrono::steady_clock::time_point, WorkKey> delayed_;
  bool shutting_down_ = false;
};

}  // namespace lxe::reconcile
