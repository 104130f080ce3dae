// Instances made before CreateContainer needs them.
//
// LXD's create, which puts the image's rootfs on the pool, is most of CreateContainer's time: about
// 70 ms on a btrfs pool here, 0.9 s on a dir pool. So lxe keeps a few stopped instances of each
// image in use ready, made off any caller's path. CreateContainer claims one instead of creating:
// a PATCH gives it the container's description, profiles, config and devices, then a rename gives
// it the container's name (50-60 ms together here, 20-30 of them the PATCH). Each ready instance
// is started once (lxe-init pause) and stopped before it counts as ready: LXD shifts an instance's
// rootfs to its ID map at its first start, a chown of every file (~80 ms for the busybox image,
// ~1.1 s for a rootfs of 15,000 entries here), which the container's first start is then spared.
//
// Crash safety rests on that order. After the PATCH the instance carries the container's marks
// under a ready name; the container's own name is still free, so a crash there makes the
// container's CreateInstance run again (its instance is looked up by its name), and the half-
// claimed instance is garbage that the next start deletes (it is no longer marked ready). A ready
// instance is never started and holds no workload: deleting one is always safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lxd/api.h"
#include "reconcile/lxd_specs.h"

namespace lxe::reconcile {

// What lxe needs to know of an instance with a ready name.
struct ReadyInstanceFacts {
  std::string name;
  std::string fingerprint;  // the image it was made of (volatile.base_image)
  std::string pool;         // its own root disk's pool; "" when it has none (the default profile's)
  bool ready = false;       // still marked ready: no claim's PATCH reached it
  // Started once, so that LXD shifted its rootfs to the ID map (volatile.last_state.idmap set): a
  // crash between the create and that start leaves one that is not.
  bool shifted = false;
  bool running = false;     // started by someone: not a ready instance any more
};
ReadyInstanceFacts ready_instance_facts(const lxd::Instance& instance);

struct ReadyPlan {
  std::vector<std::string> create;  // one image fingerprint per instance to make
  std::vector<std::string> remove;  // instances to delete (stopped first when running)
};

// Level-triggered: `wanted` ready instances per image fingerprint, from what is `observed` on
// `pool` (lxe's --storage-pool). Instances that are not ready any more or not shifted, run, sit on another pool,
// are of an image not wanted, or are more than wanted, are removed; what is missing is made.
ReadyPlan plan_ready_instances(const std::map<std::string, int>& wanted, const std::vector<ReadyInstanceFacts>& observed,
                               const std::string& pool);

// One ready instance as lxe holds it.
struct ReadyInstance {
  std::string name;
  lxd::Config config;  // its config as LXD showed it once made: the ID map LXD chose (volatile.idmap.*)
};

struct ReadyInstancesOptions {
  int per_image = 0;         // ready instances kept per image in use; 0: none, every container is created
  std::string name_prefix;   // --lxd-name-prefix
  MappingOptions mapping;    // the pool and the marks every instance of lxe's carries
  std::string init_binary;   // lxe-init on the host (HostFiles::init_binary), for the throwaway start
  // How often the keeper looks again without being asked: images deleted (their ready instances
  // go), a make that failed (tried again).
  std::chrono::milliseconds interval{30000};
  // How long the keeper waits after the last claim before it makes instances: a claim is mostly
  // followed by the container's start, which LXD serves slower while it makes an instance.
  std::chrono::milliseconds settle{500};
};

// Keeps the ready instances: one thread of its own makes and deletes them; claims take them.
// Thread-safe.
class ReadyInstances {
 public:
  // The image fingerprints of the containers the store has: kept ready from lxe's start on.
  using ImagesInUse = std::function<std::set<std::string>()>;

  ReadyInstances(const lxd::Api& lxd, ReadyInstancesOptions options, ImagesInUse images_in_use);
  ~ReadyInstances();  // stop(false)
  ReadyInstances(const ReadyInstances&) = delete;
  ReadyInstances& operator=(const ReadyInstances&) = delete;

  bool enabled() const { return options_.per_image > 0; }

  // Starts the keeper's thread (nothing when disabled): it first lists the ready instances LXD has
  // (adopting those an earlier lxe made, deleting half-claimed ones), then keeps them filled.
  void start();
  // Stops the keeper's thread. With `delete_ready` (a clean shutdown), deletes the ready instances
  // it holds: lxe leaves nothing behind in LXD that no container uses; the next start makes them
  // again. Waits for claims under way; gives up at the first delete LXD fails (an LXD that is down
  // must not hold up lxe's exit), leaving the rest to the next start.
  void stop(bool delete_ready);

  // A ready instance of image `fingerprint`, taken for the caller to claim; nullopt when none is.
  // Every taken name is reported back with claimed().
  std::optional<ReadyInstance> take(const std::string& fingerprint);
  // The claim of `name` ended: `ok`, it is a container's now; otherwise the keeper deletes it
  // (its PATCH may have changed it).
  void claimed(const std::string& name, bool ok);
  // A container was made of image `fingerprint`: keep instances of it ready (wakes the keeper).
  void used(const std::string& fingerprint);

  // One pass of the keeper on the caller's thread (start() runs them on its own); for tests.
  void keep();
  // Ready instances of `fingerprint` now.
  size_t ready(const std::string& fingerprint) const;

 private:
  void keeper();
  void adopt_listed();
  // Stops (when running) and deletes; whether it is gone.
  bool remove(const std::string& name) const;

  const lxd::Api& lxd_;
  const ReadyInstancesOptions options_;
  const ImagesInUse images_in_use_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable claims_done_;
  bool stopping_ = false;
  bool wake_requested_ = false;
  std::chrono::steady_clock::time_point last_claim_{};  // settle counts from it
  bool adopted_ = false;                                    // adopt_listed() ran
  std::map<std::string, std::vector<ReadyInstance>> ready_;  // fingerprint -> ready instances
  std::set<std::string> images_;                             // LXD's image fingerprints, as last listed
  std::chrono::steady_clock::time_point images_listed_{};    // when
  std::set<std::string> used_;                              // fingerprints containers were made of
  std::set<std::string> claiming_;                          // taken, claim not ended
  std::vector<std::string> to_remove_;                      // failed claims
  // Images whose last make failed: not tried again before then (every claim wakes the keeper).
  std::map<std::string, std::chrono::steady_clock::time_point> failed_until_;
  std::thread thread_;
};

}  // namespace lxe::reconcile
