#include "reconcile/reconciler.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <set>

#include "reconcile/errors.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"
#include "reconcile/plan.h"
#include "reconcile/pod_network.h"

namespace lxe::reconcile {

Reconciler::Reconciler(store::Registry& registry, const lxd::Api& lxd, const HostFiles& files,
                       const Volumes& volumes, ReconcilerOptions options)
    : registry_(registry), lxd_(lxd), options_(options), volumes_(volumes), files_(files),
      ready_(lxd, {options.ready_instances_per_image, options.lxd_name_prefix, options.mapping, files.init_binary()},
             [&registry] {
               std::set<std::string> images;
               registry.for_each_container([&](const store::ContainerRecord& c) {
                 if (!c.image_ref.empty() && c.desired_state != store::ContainerState::Removed) images.insert(c.image_ref);
               });
               return images;
             }),
      executor_(registry, lxd, files, volumes, options.mapping, options.crash_points, options.observer) {
  if (ready_.enabled()) executor_.use_ready_instances(&ready_);
}

Reconciler::~Reconciler() { stop(); }

void Reconciler::start() {
  record_exits_from_files();
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker(); });
  ready_.start();
  // Off the caller's thread: lxe serves from the store while LXD is asked (or while it hangs).
  threads_.emplace_back([this] {
    adopt();
    resync_loop();
  });
}

ReconcilerReadiness readiness_of(const ReconcilerHealth& h) {
  if (h.adopting)
    return {false, "AdoptionInProgress",
            "lxe started and is still adopting what runs in LXD (" + std::to_string(h.queued) + " object(s) queued)"};
  if (h.stuck) {
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(h.oldest_ready_wait).count();
    return {false, "ReconcileQueueStuck",
            "an object has waited " + std::to_string(waited) + " s for a reconcile worker: all " +
                std::to_string(h.processing) + " busy worker(s) are held up (a hung LXD call, long graceful stops); " +
                std::to_string(h.queued) + " object(s) queued"};
  }
  return {};
}

ReconcilerHealth Reconciler::health() const {
  ReconcilerHealth h;
  h.adopted = adopted_.load();
  {
    std::lock_guard lock(mutex_);
    h.adopting = adoption_started_.has_value() && !h.adopted;
    h.adoption_took = adoption_took_;
    h.failing = failures_.size();
  }
  h.queued = queue_.size();
  h.processing = queue_.processing();
  h.oldest_ready_wait = queue_.oldest_ready_wait();
  h.stuck = h.oldest_ready_wait > options_.stuck_after;
  return h;
}

void Reconciler::adopt() {
  const auto started = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    adoption_started_ = started;
  }
  // Staged volumes of containers removed while lxe was not looking (a crash between unmounting
  // and erasing, a store restored from a backup): nothing else would ever unmount them.
  if (const int swept = volumes_.sweep([this](const std::string& id) { return registry_.container(id).has_value(); }))
    spdlog::info("volumes: removed the staged mounts of {} container(s) the store no longer has", swept);
  // Decided now, so that CRI Status shows it and the log says it once, before any container needs
  // it; while LXD does not answer, the first container with volumes decides.
  try {
    volumes_.support();
  } catch (const lxd::Error& e) {
    spdlog::debug("volumes: idmapped mounts not decided yet: {}", e.what());
  }
  // Two list calls instead of a GET per object for the first look at everything lxe owns.
  try {
    executor_.prime([this] {
      return Executor::Lists{lxd_.list_instances("config." + std::string(model::kManagedKey) + " eq true"),
                             lxd_.list_profiles()};
    });
  } catch (const lxd::Error& e) {
    spdlog::warn("adoption: cannot list LXD's instances and profiles ({}); looking at each object instead",
                 e.what());
  }
  size_t sandboxes = 0, containers = 0;
  for (const auto& s : registry_.sandboxes()) {
    enqueue_sandbox(s.id);
    ++sandboxes;
  }
  for (const auto& c : registry_.containers()) {
    enqueue_container(c.id);
    ++containers;
  }
  spdlog::info("adoption: {} sandbox(es) and {} container(s) queued", sandboxes, containers);
  // Holders restarted while lxe was down look like they never stopped: their PIDs tell. After the
  // queueing, because LXD takes long for this list (it reads each holder's state: ~16 s for 100
  // holders here) and the lists above must be used while they are fresh; a pod found with a new
  // holder is queued again.
  check_holder_pids();
  {
    std::lock_guard lock(mutex_);
    adoption_took_ = std::chrono::steady_clock::now() - started;
  }
  adopted_ = true;
}

void Reconciler::record_exits_from_files() {
  for (const auto& c : registry_.containers()) {
    try {
      const auto plan = plan_container_from_files(c, executor_.observe_container_files(c));
      if (plan.empty()) continue;
      const auto sandbox = registry_.sandbox(c.sandbox_id);
      if (sandbox) executor_.run(c, *sandbox, plan);
    } catch (const std::exception& e) {
      // The full reconcile of this container comes next and records the exit then.
      spdlog::warn("container {}: cannot record its exit from lxe-init's record: {}", c.id.substr(0, 12), e.what());
    }
  }
}

void Reconciler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  queue_.shutdown();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  ready_.stop(true);
}

void Reconciler::worker() {
  while (auto key = queue_.take()) {
    process(*key);
    queue_.done(*key);
  }
}

size_t Reconciler::run_queued(size_t max_objects) {
  size_t processed = 0;
  while (processed < max_objects) {
    const auto key = queue_.try_take();
    if (!key) break;
    process(*key);
    queue_.done(*key);
    ++processed;
  }
  return processed;
}

void Reconciler::resync_loop() {
  // Ticks at the short interval so that a dropped event stream shortens the wait at once.
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, options_.resync_interval, [this] { return stopping_ || catch_up_requested_; });
    if (stopping_) break;
    if (catch_up_requested_) {
      lock.unlock();
      catch_up();
      lock.lock();
      last = std::chrono::steady_clock::now();
      continue;
    }
    const auto interval = events_connected_.load() ? options_.resync_interval_with_events : options_.resync_interval;
    const auto now = std::chrono::steady_clock::now();
    if (now - last + std::chrono::milliseconds(50) < interval) continue;
    last = now;
    lock.unlock();
    resync();
    lock.lock();
  }
}

void Reconciler::resync() {
  resync_pass();
  // The list above is the biggest allocation lxe makes (about 5 MB of JSON and its parse at 1,000
  // instances), from whichever thread ran it; glibc keeps what a thread's arena freed, which was
  // half of lxe's RSS at 1,000 containers (lxe-bench). Give it back.
  ::malloc_trim(0);
}

void Reconciler::resync_pass() {
  std::map<std::string, bool> running_by_name;
  std::map<std::string, lxd::Config> config_by_name;
  std::set<std::string> lacking_devices;
  try {
    for (auto& instance : lxd_.list_instances("config." + std::string(model::kManagedKey) + " eq true")) {
      running_by_name[instance.name] = instance.running();
      if (executor_.lacks_devices(instance.name, instance.devices)) lacking_devices.insert(instance.name);
      config_by_name[instance.name] = std::move(instance.config);
    }
  } catch (const lxd::Error& e) {
    spdlog::debug("resync: cannot list LXD instances: {}", e.what());
    return;
  }
  auto running = [&](const std::string& name) {
    const auto it = running_by_name.find(name);
    return it != running_by_name.end() && it->second;
  };
  // Under the registry's read lock, without copying the records: this runs every few seconds over
  // every record.
  std::map<std::string, store::SandboxRecord> pod_resources;  // id → a record with only resources_json
  registry_.for_each_sandbox([&](const store::SandboxRecord& s) {
    if (s.resources_json != "{}" && !s.resources_json.empty()) pod_resources[s.id].resources_json = s.resources_json;
    const bool ready = s.observed_state == store::SandboxObserved::Ready;
    const bool pinned = s.pod_namespaces == store::PodNamespaces::Pinned;
    // A holder that stopped or lost a device; pins that are gone (no LXD event tells of either
    // for pins).
    auto netns = [&] { return pod_netns(s, files_.pod_namespaces_dir(s.id)); };
    bool drifted = ready && (pinned ? netns().empty() : !running(s.lxd_name) || lacking_devices.count(s.lxd_name) != 0);
    // The pod's interface, changed inside its namespace (no LXD event tells of that).
    if (ready && !drifted && has_pod_interface(s)) {
      const auto seen = look_at_pod_interface(s, netns());
      drifted = seen && (!seen->present || (!set_up_by_cni(s) && !seen->has_address));
    }
    // A record being removed is here only until its LXD objects are deleted.
    if (drifted || s.observed_generation < s.generation || s.desired_state == store::SandboxState::Removed)
      enqueue_sandbox(s.id);
  });
  // A managed limit edited behind lxe's back (lxc config set ...) is put back by the plan.
  auto limits_drifted = [&](const store::ContainerRecord& c) {
    const auto it = config_by_name.find(c.lxd_name);
    if (it == config_by_name.end()) return false;
    try {
      const auto pod = pod_resources.find(c.sandbox_id);
      return !limits_match(container_limits(c, pod == pod_resources.end() ? store::SandboxRecord{} : pod->second),
                           it->second);
    } catch (const std::exception&) {
      return false;
    }
  };
  registry_.for_each_container([&](const store::ContainerRecord& c) {
    // A device removed behind lxe's back (LXD's event for it requeues at once; this is the net).
    const bool live = c.observed_state == store::ContainerObserved::Running ||
                      c.observed_state == store::ContainerObserved::Created;
    // An exited container whose instance still runs: lxe-init recorded the exit and has not
    // ended (it normally exits at once), or the instance was started again outside lxe.
    const bool lingering = c.observed_state == store::ContainerObserved::Exited &&
                           c.desired_state == store::ContainerState::Exited && running(c.lxd_name);
    const bool drifted = (c.observed_state == store::ContainerObserved::Running &&
                          (!running(c.lxd_name) || limits_drifted(c))) ||
                         (live && lacking_devices.count(c.lxd_name) != 0) || lingering;
    if (drifted || c.observed_generation < c.generation || c.desired_state == store::ContainerState::Removed)
      enqueue_container(c.id);
  });
}

void Reconciler::check_holder_pids() {
  std::map<std::string, int64_t> pid_by_name;
  try {
    for (const auto& instance : lxd_.list_instances("config." + std::string(model::kKindKey) + " eq sandbox", true))
      if (instance.state && instance.state->pid > 0) pid_by_name[instance.name] = instance.state->pid;
  } catch (const lxd::Error& e) {
    spdlog::debug("holder check: cannot list LXD instances: {}", e.what());
    return;
  }
  registry_.for_each_sandbox([&](const store::SandboxRecord& s) {
    if (s.infra_pid == 0 || s.observed_state != store::SandboxObserved::Ready) return;
    const auto it = pid_by_name.find(s.lxd_name);
    if (it == pid_by_name.end() || it->second == s.infra_pid) return;
    note_holder_pid(s.id, it->second);
    enqueue_sandbox(s.id);
  });
}

void Reconciler::note_holder_pid(const std::string& sandbox_id, int64_t pid) {
  std::lock_guard lock(mutex_);
  holder_pids_[sandbox_id] = pid;
}

bool Reconciler::take_holder_check(const std::string& sandbox_id) {
  std::lock_guard lock(mutex_);
  return holders_to_check_.erase(sandbox_id) > 0;
}

std::optional<int64_t> Reconciler::take_holder_pid(const std::string& sandbox_id) {
  std::lock_guard lock(mutex_);
  const auto it = holder_pids_.find(sandbox_id);
  if (it == holder_pids_.end()) return std::nullopt;
  const int64_t pid = it->second;
  holder_pids_.erase(it);
  return pid;
}

void Reconciler::on_lxd_event(const lxd::LifecycleEvent& event) {
  // Runs on the event stream's thread: nothing here may wait on LXD, or events pile up unread.
  const bool profile = event.source.rfind("/1.0/profiles/", 0) == 0;
  if (!profile && event.source.rfind("/1.0/instances/", 0) != 0) return;
  // Which record the event is about, by the registry's LXD-name index (events come in bursts).
  const auto named = registry_.by_lxd_name(event.name);
  if (!named) return;
  // Whatever adoption's lists showed of it may be older than this change.
  executor_.forget_primed(event.name);
  if (named->kind == store::ObjectKind::Container) {
    if (!profile) enqueue_container(named->id);
    return;
  }
  // `lxc restart` of a holder: stopped and started again between two looks, so only its PID
  // tells. The worker that takes the pod reads the holder's state (one read per holder start
  // event, rare: lxe starts a holder once).
  const bool started = event.action == "instance-started" || event.action == "instance-restarted";
  if (!profile && started) {
    std::lock_guard lock(mutex_);
    holders_to_check_.insert(named->id);
  }
  enqueue_sandbox(named->id);
}

void Reconciler::on_lxd_events_connection(bool connected) {
  events_connected_ = connected;
  // The first connection comes while adoption is looking at everything anyway.
  if (!connected || !adopted_.load()) return;
  // Events may have been missed while the stream was down: resync and look at every holder's PID,
  // on the resync thread (the holder list takes LXD ~16 s for 100 holders, during which this
  // thread would read no event).
  {
    std::lock_guard lock(mutex_);
    catch_up_requested_ = true;
  }
  stop_cv_.notify_all();
}

bool Reconciler::catch_up() {
  {
    std::lock_guard lock(mutex_);
    if (!catch_up_requested_) return false;
    catch_up_requested_ = false;
  }
  resync();
  check_holder_pids();
  return true;
}

std::chrono::milliseconds Reconciler::backoff_for(const WorkKey& key, bool failed) {
  std::lock_guard lock(mutex_);
  if (!failed) {
    failures_.erase(key);
    return std::chrono::milliseconds(0);
  }
  const int n = ++failures_[key];
  const auto delay = options_.initial_backoff * (1 << std::min(n - 1, 8));
  return std::min(delay, options_.max_backoff);
}

void Reconciler::process(const WorkKey& key) {
  Outcome outcome = Outcome::Done;
  try {
    outcome = key.kind == store::ObjectKind::Sandbox ? process_sandbox(key.id) : process_container(key.id);
  } catch (const std::exception& e) {
    // Observation failed (LXD unreachable, an object that is not lxe's...): record it like a
    // failed action so that a waiting CRI call learns about it.
    const Failure failure = failure_of(e);
    const std::string& text = failure.message;
    spdlog::warn("{} {}: {}", to_string(key.kind), key.id.substr(0, 12), text);
    try {
      store::Registry::Change change(registry_);
      store::ReconcileEvent event;
      event.object_kind = key.kind;
      event.object_id = key.id;
      event.action = "observe";
      event.outcome = store::EventOutcome::Error;
      event.detail = text;
      if (key.kind == store::ObjectKind::Sandbox) {
        if (auto s = change.sandbox(key.id)) {
          s->set_failure(failure.kind, "observe: " + text);
          event.generation = s->generation;
          change.put(*s);
        }
      } else if (auto c = change.container(key.id)) {
        c->set_failure(failure.kind, "observe: " + text);
        event.generation = c->generation;
        change.put(*c);
      }
      change.log(event);
      change.commit();
    } catch (const std::exception& store_error) {
      spdlog::error("cannot record a reconcile failure: {}", store_error.what());
    }
    outcome = Outcome::Failed;
  }
  switch (outcome) {
    case Outcome::Done: backoff_for(key, false); break;
    case Outcome::Replan: queue_.add(key); break;
    case Outcome::Waiting: break;
    case Outcome::Failed: queue_.add_after(key, backoff_for(key, true)); break;
  }
}

Outcome Reconciler::process_sandbox(const std::string& id) {
  const auto sandbox = registry_.sandbox(id);
  if (!sandbox) return Outcome::Done;
  const auto containers = registry_.containers_of(id);
  auto observed = executor_.observe_sandbox(*sandbox);
  if (take_holder_check(id) && sandbox->infra_pid != 0) {
    try {
      const int64_t pid = executor_.holder_init_pid(*sandbox);
      if (pid > 0 && pid != sandbox->infra_pid) note_holder_pid(id, pid);
    } catch (const lxd::Error& e) {
      spdlog::debug("holder {}: cannot read its state: {}", sandbox->lxd_name, e.what());
    }
  }
  if (const auto pid = take_holder_pid(id); pid && observed.infra) observed.infra->pid = pid;
  const auto plan = plan_sandbox(*sandbox, containers, observed);
  Outcome outcome = plan.empty() ? Outcome::Done : executor_.run(*sandbox, plan);
  // A removal answers its caller halfway (plan.h); what LXD still holds is planned afresh at once.
  if (outcome == Outcome::Done && sandbox->desired_state == store::SandboxState::Removed && registry_.sandbox(id))
    outcome = Outcome::Replan;
  // Containers waiting for their pod to become ready (or to learn it is not) go next.
  for (const auto& c : registry_.containers_of(id))
    if (c.observed_generation < c.generation) enqueue_container(c.id);
  return outcome;
}

Outcome Reconciler::process_container(const std::string& id) {
  const auto container = registry_.container(id);
  if (!container) return Outcome::Done;
  const auto sandbox = registry_.sandbox(container->sandbox_id);
  if (!sandbox) return Outcome::Done;  // cannot happen: the foreign key keeps the sandbox
  // A removal's first step looks only at whether anything of it runs (cheaper, and no LXD call
  // while the instance has a cgroup).
  const bool removal_unanswered = container->desired_state == store::ContainerState::Removed &&
                                  container->observed_generation < container->generation;
  const auto plan = plan_container(*container, *sandbox,
                                   removal_unanswered ? executor_.observe_container_for_removal(*container)
                                                      : executor_.observe_container(*container, *sandbox));
  Outcome outcome = plan.empty() ? Outcome::Done : executor_.run(*container, *sandbox, plan);
  // A removal answers its caller halfway (plan.h); the instance's delete is planned afresh at once.
  if (outcome == Outcome::Done && container->desired_state == store::ContainerState::Removed &&
      registry_.container(id))
    outcome = Outcome::Replan;
  // A sandbox being stopped waits for its containers to stop, one being removed for them to go.
  // Not after a failure: the sandbox would requeue the container at once, around its backoff.
  if (sandbox->desired_state != store::SandboxState::Ready && outcome != Outcome::Failed)
    enqueue_sandbox(sandbox->id);
  return outcome;
}

}  // namespace lxe::reconcile
