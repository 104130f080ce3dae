// The reconcile loop: workers take objects off a queue, observe them in LXD, plan (plan.h) and
// execute (executor.h). A periodic resync lists lxe's instances with one LXD call and requeues
// every object whose LXD state no longer matches what the store last observed (a container whose
// command ended, an instance deleted behind lxe's back) or that is not reconciled yet.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "common/crash_points.h"
#include "lxd/api.h"
#include "lxd/events.h"
#include "reconcile/executor.h"
#include "reconcile/observer.h"
#include "reconcile/ready_instances.h"
#include "reconcile/host_files.h"
#include "reconcile/work_queue.h"
#include "store/registry.h"

namespace lxe::reconcile {

struct ReconcilerOptions {
  int workers = 4;
  // The safety net behind LXD's event stream: one list call per interval finds what events missed.
  // While the stream is down, events are missed for sure: the short interval. While it is up, it
  // tells of every start, stop, deletion and update, and the resync only guards against a lost
  // event: the long one (a list of 1,000 instances is about 5 MB of JSON for LXD to build and lxe
  // to parse).
  std::chrono::milliseconds resync_interval{2000};
  std::chrono::milliseconds resync_interval_with_events{10000};
  // A failed object is retried after initial_backoff, doubling with each further failure.
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{30000};
  MappingOptions mapping;
  CrashPoints crash_points;  // test hook (LXE_CRASH_AT); empty in production
  // Told of every action (lxe's /metrics); not owned, must outlive the reconciler; may be null.
  ReconcileObserver* observer = nullptr;
  // Instances made ahead of CreateContainer (ready_instances.h): how many per image in use (0: none),
  // and the LXD name prefix their names start with.
  int ready_instances_per_image = 0;
  std::string lxd_name_prefix = "lxe";
  // An object ready this long without a worker taking it means every worker is held up (a hung
  // LXD call, long graceful stops): the reconciler reports itself not ready (health()).
  std::chrono::milliseconds stuck_after{60000};
};

// How the reconcile loop is doing, for CRI Status (the ReconcilerReady condition) and /metrics.
struct ReconcilerHealth {
  bool adopting = false;  // start() ran and adoption has not finished
  bool adopted = false;
  std::chrono::duration<double> adoption_took{0};  // once adopted
  size_t queued = 0;      // ready or waiting out a retry backoff
  size_t processing = 0;  // taken by a worker now
  size_t failing = 0;     // objects whose last attempt failed (retried with backoff)
  std::chrono::duration<double> oldest_ready_wait{0};
  bool stuck = false;     // oldest_ready_wait > ReconcilerOptions::stuck_after
};

// Whether the reconciler is ready (CRI Status' ReconcilerReady condition), and if not why: reason
// is one CamelCase word, message a sentence for a person.
struct ReconcilerReadiness {
  bool ready = true;
  std::string reason;
  std::string message;
};
ReconcilerReadiness readiness_of(const ReconcilerHealth& health);

class Reconciler {
 public:
  Reconciler(store::Registry& registry, const lxd::Api& lxd, const HostFiles& files, const Volumes& volumes,
             ReconcilerOptions options);
  ~Reconciler();  // stops the workers and the resync loop
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Starts the workers and the resync loop; queues every stored object (adoption after a restart),
  // and removes the staged volumes of containers the store no longer has.
  // Before that, and before it returns, records the exits lxe-init wrote while lxe was down (host
  // files only, no LXD call), so that what lxe serves right after start is already correct.
  void start();
  // Stops the workers and the resync loop, then deletes the ready instances (a clean shutdown).
  void stop();

  void enqueue_sandbox(const std::string& id) { queue_.add({store::ObjectKind::Sandbox, id}); }
  void enqueue_container(const std::string& id) { queue_.add({store::ObjectKind::Container, id}); }

  // One pass of the resync, for tests and for start().
  void resync();

  // Lists what LXD has for the first look at every object and queues every stored object, then
  // reads the holders' PIDs. start() runs it on a thread of its own; tests that drive the
  // reconciler without its threads call it directly.
  void adopt();
  // Whether adopt() has finished.
  bool adopted() const { return adopted_.load(); }
  // The loop's state now (cheap: a few counters under locks, no LXD call).
  ReconcilerHealth health() const;

  // For tests that drive the reconciler on their own thread (start() not called): processes the
  // objects that are ready, and those they queue in turn, until none is ready or `max_objects`
  // were processed; returns how many were. Objects waiting out a retry backoff stay queued.
  size_t run_queued(size_t max_objects = 1000);
  // Objects queued, ready or waiting out a backoff (not those being processed).
  size_t queued() const { return queue_.size(); }

  // Reads the init PIDs of every namespace holder lxe knows (one LXD list call with state) and
  // queues the pods whose holder runs as a different process than the one recorded: restarted
  // outside lxe while lxe could not see it (lxe was down, or the event stream was). Run once at
  // start and after every reconnect of the event stream.
  void check_holder_pids();

  // An LXD lifecycle event (from lxd::EventStream): queues the object whose instance it is about.
  // Never waits on LXD (it runs on the event stream's thread).
  void on_lxd_event(const lxd::LifecycleEvent& event);
  // The event stream (re)connected or dropped: events may have been missed, so the resync thread
  // resyncs and checks the holders' PIDs at once. Never waits on LXD.
  void on_lxd_events_connection(bool connected);
  // Runs the resync and holder-PID check a reconnect asked for, if it did; whether it ran. The
  // resync thread calls it; tests that drive the reconciler on their own thread too.
  bool catch_up();

 private:
  void resync_pass();
  void record_exits_from_files();
  void worker();
  void resync_loop();
  void process(const WorkKey& key);
  Outcome process_sandbox(const std::string& id);
  Outcome process_container(const std::string& id);
  std::chrono::milliseconds backoff_for(const WorkKey& key, bool failed);

  store::Registry& registry_;
  const lxd::Api& lxd_;
  ReconcilerOptions options_;
  const Volumes& volumes_;
  const HostFiles& files_;
  ReadyInstances ready_;
  Executor executor_;
  WorkQueue queue_;

  // A holder PID read outside process_sandbox (check_holder_pids, holder events), handed to the
  // next plan of that sandbox.
  void note_holder_pid(const std::string& sandbox_id, int64_t pid);
  std::optional<int64_t> take_holder_pid(const std::string& sandbox_id);
  // Whether an event said the sandbox's holder (re)started since: its PID is then read by the
  // worker that plans the sandbox, not on the event thread.
  bool take_holder_check(const std::string& sandbox_id);

  mutable std::mutex mutex_;  // guards failures_, holder_pids_, holders_to_check_, catch_up_requested_,
                              // stopping_ and the adoption times
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::map<WorkKey, int> failures_;
  std::map<std::string, int64_t> holder_pids_;  // sandbox id -> holder PID seen
  std::set<std::string> holders_to_check_;      // sandbox ids whose holder an event saw start
  bool catch_up_requested_ = false;             // the event stream reconnected: resync + holder check
  std::atomic<bool> adopted_{false};             // adopt() has listed and queued everything
  std::optional<std::chrono::steady_clock::time_point> adoption_started_;
  std::chrono::duration<double> adoption_took_{0};
  std::atomic<bool> events_connected_{false};    // LXD's event stream is up
  std::vector<std::thread> threads_;
};

}  // namespace lxe::reconcile
