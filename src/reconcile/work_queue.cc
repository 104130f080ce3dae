#include "reconcile/work_queue.h"

#include <algorithm>

namespace lxe::reconcile {

void WorkQueue::add_locked(const WorkKey& key) {
  if (processing_.count(key)) {
    dirty_.insert(key);
    return;
  }
  if (queued_.insert(key).second) queue_.push_back({key, std::chrono::steady_clock::now()});
}

void WorkQueue::add(const WorkKey& key) {
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return;
    add_locked(key);
  }
  ready_.notify_one();
}

void WorkQueue::add_after(const WorkKey& key, std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return;
    delayed_.emplace(std::chrono::steady_clock::now() + delay, key);
  }
  ready_.notify_one();
}

std::optional<WorkKey> WorkQueue::take_ready_locked() {
  const auto now = std::chrono::steady_clock::now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    add_locked(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
  }
  if (queue_.empty()) return std::nullopt;
  WorkKey key = std::move(queue_.front().key);
  queue_.pop_front();
  queued_.erase(key);
  processing_.insert(key);
  return key;
}

std::optional<WorkKey> WorkQueue::try_take() {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return std::nullopt;
  return take_ready_locked();
}

std::optional<WorkKey> WorkQueue::take() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    if (auto key = take_ready_locked()) return key;
    if (delayed_.empty())
      ready_.wait(lock);
    else
      ready_.wait_until(lock, delayed_.begin()->first);
  }
}

void WorkQueue::done(const WorkKey& key) {
  bool requeued = false;
  {
    std::lock_guard lock(mutex_);
    processing_.erase(key);
    if (dirty_.erase(key) && !shutting_down_) {
      add_locked(key);
      requeued = true;
    }
  }
  if (requeued) ready_.notify_one();
}

void WorkQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  ready_.notify_all();
}

size_t WorkQueue::size() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + delayed_.size();
}

size_t WorkQueue::processing() const {
  std::lock_guard lock(mutex_);
  return processing_.size();
}

std::chrono::steady_clock::duration WorkQueue::oldest_ready_wait() const {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto oldest = std::chrono::steady_clock::duration::zero();
  if (!queue_.empty()) oldest = now - queue_.front().since;
  // A delayed key that fell due is ready too, though no take() has moved it over yet.
  if (!delayed_.empty() && delayed_.begin()->first <= now) oldest = std::max(oldest, now - delayed_.begin()->first);
  return oldest;
}

}  // namespace lxe::reconcile
