// The usage of each container's writable layer, for the writable_layer of CRI's container stats.
// On LXD a container's writable layer is its instance's root filesystem folder on the host, and the
// only way to know what it uses is to walk it: one lstat per entry, and a database container may
// hold millions. kubelet asks for every container's stats every 10 s or so, so a CRI call never
// walks: it reads what this cache last measured, and asks for a new measurement when that is stale.
// One background thread measures, one container at a time, each walk bounded.
//
// What a container's stats carry (usage()):
//   - nothing (writable_layer unset, which kubelet reads as "not known") until the first walk of
//     the container completed: its first ask, while the walk is pending, gets nothing;
//   - the numbers of the latest walk when it was complete, with the time it ended, even when that
//     is older than the refresh interval (a new walk is then pending);
//   - nothing again as soon as the latest walk was not complete: it stopped at max_entries, some
//     entries could not be read, the rootfs is gone, or lxe could not tell where it is (LXD did not
//     answer). A partial count would be a wrong number, and keeping an older one would freeze it
//     for a container that stays above the bound: an unknown usage is reported as unknown. The
//     first walk of a container that ends at the bound or with unreadable entries is logged
//     (warning);
//   - nothing for a container whose root filesystem is not a plain folder of its own (a pool other
//     than dir: its copy-on-write volume shares blocks with the image, and a walk would count them).
//
// A walk counts, as du -x does, allocated bytes (st_blocks * 512) and inodes, symlinks not
// followed, each hard-linked inode once, and stays on the rootfs's filesystem. Containers nobody
// asked about for forget_after (removed ones: kubelet no longer lists them) are forgotten.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/filesystems.h"

namespace lxe::stats {

// One complete measurement: CRI's FilesystemUsage.
struct WritableLayerSample {
  std::string mount_point;  // the mount holding the rootfs (fs_id.mountpoint)
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
  int64_t measured_at_ns = 0;  // when the walk ended (Unix epoch, CRI's timestamp)
};

struct WritableLayerOptions {
  // A measurement older than this is measured again at the next ask.
  std::chrono::steady_clock::duration refresh_interval = std::chrono::seconds(60);
  // A container nobody asked about for this long is forgotten.
  std::chrono::steady_clock::duration forget_after = std::chrono::minutes(10);
  // The most entries one walk looks at; a walk that would look at more stops (see above).
  uint64_t max_entries = 1'000'000;
  // false: no thread; whoever owns the object calls measure_due() (unit tests).
  bool measure_in_background = true;
  // The time staleness and forgetting are measured in; empty: std::chrono::steady_clock.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class WritableLayerUsage {
 public:
  // Where `instance`'s writable layer is on the host: its rootfs folder, or nullopt when it has
  // none lxe measures (not on a dir pool). Throws when that cannot be told now (LXD does not
  // answer, the instance is not made yet): asked again at the next refresh. Called on the
  // measuring thread only, never under a CRI call.
  using LocateRootfs = std::function<std::optional<std::string>(const std::string& instance)>;

  // Starts the measuring thread unless options.measure_in_background is false.
  WritableLayerUsage(LocateRootfs locate, WritableLayerOptions options);
  // Stops a walk in progress and joins the thread.
  ~WritableLayerUsage();
  WritableLayerUsage(const WritableLayerUsage&) = delete;
  WritableLayerUsage& operator=(const WritableLayerUsage&) = delete;

  // What container `container_id` (LXD instance `instance`) reports now (see the top of this
  // file). Never walks and never waits for a walk: queues a measurement when there is none yet or
  // the last one is stale.
  std::optional<WritableLayerSample> usage(const std::string& container_id, const std::string& instance);

  // Forgets the containers nobody asked about for forget_after, then measures every queued one on
  // the caller's thread; returns how many it measured. The measuring thread's loop body.
  size_t measure_due();

  // How many containers are remembered.
  size_t size() const;

 private:
  struct Entry {
    std::string instance;
    std::string rootfs;  // where the last walk looked; "" until located, and after it was gone
    std::optional<WritableLayerSample> sample;  // the latest walk's numbers, when it was complete
    bool measured = false;  // a walk (or an attempt to locate) has ended
    bool queued = false;
    bool warned = false;  // an incomplete walk was logged
    std::chrono::steady_clock::time_point measured_at;  // when `measured` last became true
    std::chrono::steady_clock::time_point asked_at;
  };
  // What one walk found, applied to the entry afterwards.
  struct Outcome {
    std::string rootfs;
    std::optional<WritableLayerSample> sample;
    TreeUsage walk;
    bool walked = false;
  };

  std::chrono::steady_clock::time_point now() const;
  Outcome measure(const std::string& instance, const std::string& rootfs) const;
  void run();

  const LocateRootfs locate_;
  const WritableLayerOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Entry> entries_;  // by container ID
  std::deque<std::string> queue_;         // container IDs to measure, each once
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: started once everything above is constructed
};

}  // namespace lxe::stats
