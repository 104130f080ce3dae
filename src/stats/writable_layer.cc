#include "stats/writable_layer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "common/time.h"

namespace lxe::stats {

WritableLayerUsage::WritableLayerUsage(LocateRootfs locate, WritableLayerOptions options)
    : locate_(std::move(locate)), options_(std::move(options)) {
  if (options_.measure_in_background) thread_ = std::thread([this] { run(); });
}

WritableLayerUsage::~WritableLayerUsage() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::chrono::steady_clock::time_point WritableLayerUsage::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

std::optional<WritableLayerSample> WritableLayerUsage::usage(const std::string& container_id,
                                                             const std::string& instance) {
  std::lock_guard lock(mutex_);
  const auto at = now();
  Entry& entry = entries_[container_id];
  if (entry.instance != instance) {
    // A new entry, or (never seen) another instance for the same ID: start over. A walk already
    // queued stays queued, and its result for another instance is dropped.
    const bool queued = entry.queued;
    entry = Entry{};
    entry.instance = instance;
    entry.queued = queued;
  }
  entry.asked_at = at;
  if (!entry.queued && (!entry.measured || at - entry.measured_at >= options_.refresh_interval)) {
    entry.queued = true;
    queue_.push_back(container_id);
    wake_.notify_one();
  }
  return entry.sample;
}

size_t WritableLayerUsage::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

WritableLayerUsage::Outcome WritableLayerUsage::measure(const std::string& instance, const std::string& rootfs) const {
  Outcome out;
  out.rootfs = rootfs;
  if (out.rootfs.empty()) {
    try {
      const auto located = locate_(instance);
      if (!located) {
        spdlog::debug("writable layer of {}: not on a dir pool, not measured", instance);
        return out;
      }
      out.rootfs = *located;
    } catch (const std::exception& e) {
      spdlog::debug("writable layer of {}: cannot tell where its rootfs is: {}", instance, e.what());
      return out;
    }
  }
  TreeWalkLimits limits;
  limits.max_entries = options_.max_entries;
  limits.one_filesystem = true;
  limits.cancel = &stopping_;
  out.walk = measure_tree(out.rootfs, limits);
  out.walked = true;
  switch (out.walk.end) {
    case TreeWalkEnd::Complete: {
      WritableLayerSample sample;
      sample.mount_point = mount_point_of(out.rootfs);
      sample.used_bytes = out.walk.usage.bytes;
      sample.inodes_used = out.walk.usage.inodes;
      sample.measured_at_ns = now_ns();
      // Gone between the walk and the look at the mounts: nothing to report.
      if (!sample.mount_point.empty()) out.sample = std::move(sample);
      break;
    }
    case TreeWalkEnd::Missing:
      spdlog::debug("writable layer of {}: {} is not there", instance, out.rootfs);
      out.rootfs.clear();  // located again next time (the instance may have been made anew)
      break;
    case TreeWalkEnd::Unreadable:  // logged by the caller, once
    case TreeWalkEnd::TooManyEntries:
    case TreeWalkEnd::Cancelled:
      break;
  }
  return out;
}

size_t WritableLayerUsage::measure_due() {
  size_t measured = 0;
  std::unique_lock lock(mutex_);
  const auto at = now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    // A queued entry stays: its ID is in the queue.
    if (!it->second.queued && at - it->second.asked_at >= options_.forget_after)
      it = entries_.erase(it);
    else
      ++it;
  }
  while (!queue_.empty() && !stopping_) {
    const std::string id = std::move(queue_.front());
    queue_.pop_front();
    const auto found = entries_.find(id);
    if (found == entries_.end()) continue;
    const std::string instance = found->second.instance, rootfs = found->second.rootfs;
    lock.unlock();
    Outcome outcome;
    try {
      outcome = measure(instance, rootfs);
    } catch (const std::exception& e) {  // out of memory, say: no numbers this time
      spdlog::warn("writable layer of {}: {}", instance, e.what());
    }
    lock.lock();
    // The entry may have changed while the walk ran: look it up again.
    const auto entry = entries_.find(id);
    if (entry == entries_.end()) continue;
    Entry& e = entry->second;
    e.queued = false;
    if (outcome.walked && outcome.walk.end == TreeWalkEnd::Cancelled) continue;
    ++measured;
    if (e.instance != instance) continue;  // another instance now: measured at its next ask
    e.rootfs = outcome.rootfs;
    e.sample = std::move(outcome.sample);
    e.measured = true;
    e.measured_at = now();
    // Once per container: a walk that keeps ending this way would otherwise fill the log.
    if (outcome.walked && !e.warned && outcome.walk.end == TreeWalkEnd::TooManyEntries) {
      e.warned = true;
      spdlog::warn("writable layer of {}: {} holds more than {} entries (--writable-layer-max-entries); its usage "
                   "is not reported",
                   instance, outcome.rootfs, options_.max_entries);
    } else if (outcome.walked && !e.warned && outcome.walk.end == TreeWalkEnd::Unreadable) {
      e.warned = true;
      spdlog::warn("writable layer of {}: some of {} could not be read; its usage is not reported", instance,
                   outcome.rootfs);
    }
  }
  return measured;
}

void WritableLayerUsage::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Woken by a queued measurement, else once an interval to forget what nobody asks about.
    const auto sweep_every = std::max(options_.refresh_interval, std::chrono::steady_clock::duration(std::chrono::seconds(1)));
    wake_.wait_for(lock, sweep_every, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    lock.unlock();
    measure_due();
    lock.lock();
  }
}

}  // namespace lxe::stats
