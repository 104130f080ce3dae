// The reconciler's decision functions, for every desired/observed pair: sandboxes and containers,
// enumerated over every dimension a plan reads. Each combination is checked three ways:
//   - against an expected action sequence written out from the rules (docs/architecture.md and
//     the comments in plan.h), kinds in order;
//   - against properties that must hold whatever the rules (removal ends with EraseRecord, a
//     started container is never started again, Wait stands alone, MarkReconciled comes last);
//   - idempotency: the plan is applied to a simulated LXD and record (with each action's
//     preconditions asserted, e.g. a running instance is never deleted), and re-planning gives
//     an empty plan, or the same Wait.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/plan.h"

using lxe::reconcile::Action;
using lxe::reconcile::ActionKind;
using lxe::reconcile::ContainerObservation;
using lxe::reconcile::ExitRecord;
using lxe::reconcile::InstanceFacts;
using lxe::reconcile::namespace_share_lines;
using lxe::reconcile::plan_container;
using lxe::reconcile::plan_sandbox;
using lxe::reconcile::SandboxObservation;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using K = lxe::reconcile::ActionKind;

namespace Catch {
template <>
struct StringMaker<ActionKind> {
  static std::string convert(ActionKind k) { return std::string(lxe::reconcile::to_string(k)); }
};
template <>
struct StringMaker<SandboxState> {
  static std::string convert(SandboxState s) { return std::string(lxe::store::to_string(s)); }
};
template <>
struct StringMaker<SandboxObserved> {
  static std::string convert(SandboxObserved s) { return std::string(lxe::store::to_string(s)); }
};
template <>
struct StringMaker<ContainerState> {
  static std::string convert(ContainerState s) { return std::string(lxe::store::to_string(s)); }
};
template <>
struct StringMaker<ContainerObserved> {
  static std::string convert(ContainerObserved s) { return std::string(lxe::store::to_string(s)); }
};
}  // namespace Catch

namespace {

using Kinds = std::vector<ActionKind>;

constexpr int64_t kInfraPid = 4242;
constexpr int64_t kOldInfraPid = 1111;

Kinds kinds(const std::vector<Action>& plan) {
  Kinds out;
  for (const auto& a : plan) out.push_back(a.kind);
  return out;
}

bool contains(const Kinds& ks, ActionKind k) { return std::find(ks.begin(), ks.end(), k) != ks.end(); }

size_t index_of(const Kinds& ks, ActionKind k) {
  return static_cast<size_t>(std::find(ks.begin(), ks.end(), k) - ks.begin());
}

// Every plan, whatever it is: Wait stands alone; MarkReconciled and EraseRecord come last and only
// once; each action has a reason for the event log.
void check_shape(const std::vector<Action>& plan) {
  const Kinds ks = kinds(plan);
  for (const auto& a : plan) CHECK_FALSE(a.reason.empty());
  if (contains(ks, K::Wait)) CHECK(ks == Kinds{K::Wait});
  for (const ActionKind last : {K::MarkReconciled, K::EraseRecord}) {
    CHECK(std::count(ks.begin(), ks.end(), last) <= 1);
    if (contains(ks, last)) CHECK(ks.back() == last);
  }
  CHECK_FALSE((contains(ks, K::MarkReconciled) && contains(ks, K::EraseRecord)));
  // No action twice.
  for (const ActionKind k : ks) CHECK(std::count(ks.begin(), ks.end(), k) == 1);
}

// ---------------------------------------------------------------------------------------------
// Sandboxes.

enum class Infra { Absent, Stopped, Running };

SandboxRecord sandbox_record(SandboxState desired, int64_t infra_pid, SandboxObserved observed, bool gen_matches) {
  SandboxRecord s;
  s.id = std::string(64, 'a');
  s.name = "web";
  s.namespace_ = "default";
  s.lxd_name = "lxe-web-aaaaaaaaaaaa";
  s.desired_state = desired;
  s.infra_pid = infra_pid;
  s.observed_state = observed;
  s.generation = 3;
  s.observed_generation = gen_matches ? 3 : 2;
  return s;
}

SandboxObservation sandbox_observation(bool profile, Infra infra, const std::string& raw = "") {
  SandboxObservation o;
  o.profile_exists = profile;
  if (infra != Infra::Absent) o.infra = InstanceFacts{infra == Infra::Running, raw};
  return o;
}

std::vector<ContainerRecord> some_containers(int n, const std::string& sandbox_id) {
  std::vector<ContainerRecord> out;
  for (int i = 0; i < n; ++i) {
    ContainerRecord c;
    c.id = std::string(63, 'c') + std::to_string(i);
    c.sandbox_id = sandbox_id;
    c.desired_state = ContainerState::Removed;
    out.push_back(c);
  }
  return out;
}

// The rules, written out from the documentation of the actions.
Kinds expected_sandbox(SandboxState desired, bool profile, Infra infra, int64_t pid, size_t containers,
                       SandboxObserved observed, bool gen_matches) {
  Kinds k;
  const bool running = infra == Infra::Running;
  auto mark = [&] {
    if (!k.empty() || !gen_matches) k.push_back(K::MarkReconciled);
  };
  switch (desired) {
    case SandboxState::Ready: {
      const bool holder_gone = pid != 0 && (!running || observed == SandboxObserved::NotReady);
      if (holder_gone) {
        if (observed != SandboxObserved::NotReady) k.push_back(K::RecordNotReady);
      } else {
        if (!profile) k.push_back(K::CreateProfile);
        if (infra == Infra::Absent) k.push_back(K::CreateInfra);
        if (!running) k.push_back(K::StartInfra);
        if (!running || pid == 0) k.push_back(K::RecordInfraPid);
        if (!k.empty() || observed != SandboxObserved::Ready) k.push_back(K::RecordReady);
      }
      mark();
      return k;
    }
    case SandboxState::NotReady:
      if (running) k.push_back(K::StopInfra);
      if (!k.empty() || observed != SandboxObserved::NotReady) k.push_back(K::RecordNotReady);
      mark();
      return k;
    case SandboxState::Removed:
      // (some_containers: removed, but not yet removed for CRI.)
      if (containers != 0) return {K::Wait};
      if (running) k.push_back(K::StopInfra);
      // The caller is answered at the mark; the deletes come in the next plan.
      if (!gen_matches) {
        k.push_back(K::MarkReconciled);
        return k;
      }
      if (infra != Infra::Absent) k.push_back(K::DeleteInfra);
      if (profile) k.push_back(K::DeleteProfile);
      k.push_back(K::EraseRecord);
      return k;
  }
  return k;
}

// A simulated LXD and store for one sandbox: applies a plan as the executor would, asserting
// that each action makes sense in the state it meets.
struct SandboxWorld {
  SandboxRecord record;
  SandboxObservation observed;
  bool erased = false;
  int64_t next_pid = 5000;

  void apply(const std::vector<Action>& plan) {
    for (const auto& a : plan) {
      INFO("applying " << lxe::reconcile::to_string(a.kind));
      switch (a.kind) {
        case K::CreateProfile:
          REQUIRE_FALSE(observed.profile_exists);
          observed.profile_exists = true;
          break;
        case K::CreateInfra:
          REQUIRE(observed.profile_exists);  // the holder uses the pod's profile
          REQUIRE_FALSE(observed.infra);
          observed.infra = InstanceFacts{false, ""};
          break;
        case K::StartInfra:
          REQUIRE(observed.infra);
          REQUIRE_FALSE(observed.infra->running);
          REQUIRE(record.infra_pid == 0);  // never a second holder for the same pod
          observed.infra->running = true;
          break;
        case K::RecordInfraPid:
          REQUIRE(observed.infra);
          REQUIRE(observed.infra->running);
          record.infra_pid = next_pid++;
          break;
        case K::RecordReady:
          REQUIRE(record.infra_pid != 0);
          REQUIRE(observed.infra);
          REQUIRE(observed.infra->running);
          record.observed_state = SandboxObserved::Ready;
          break;
        case K::RecordNotReady: record.observed_state = SandboxObserved::NotReady; break;
        case K::StopInfra:
          REQUIRE(observed.infra);
          REQUIRE(observed.infra->running);
          observed.infra->running = false;
          break;
        case K::DeleteInfra:
          REQUIRE(observed.infra);
          REQUIRE_FALSE(observed.infra->running);
          observed.infra.reset();
          break;
        case K::DeleteProfile:
          REQUIRE(observed.profile_exists);
          REQUIRE_FALSE(observed.infra);  // LXD refuses to delete a profile in use
          observed.profile_exists = false;
          break;
        case K::MarkReconciled: record.observed_generation = record.generation; break;
        case K::RestoreDevices:
          REQUIRE(observed.profile_exists);
          observed.drifted_profile_devices.clear();
          break;
        case K::EraseRecord:
          REQUIRE_FALSE(observed.infra);
          REQUIRE_FALSE(observed.profile_exists);
          erased = true;
          break;
        case K::Wait: break;
        default: FAIL("a container action in a sandbox plan: " << lxe::reconcile::to_string(a.kind));
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Containers.

enum class Instance { Absent, Stopped, Running };
// The container's CRI mounts: none, or one whose staged mount is there, or one whose staged mount
// is gone (seen only while the instance runs: lxe looks at it only then).
enum class Vols { None, Staged, Unstaged };
enum class Pod { Usable, NoPidYet, PidNotYetReady, HolderDied, Stopped, Removed };

SandboxRecord pod_record(Pod pod) {
  switch (pod) {
    case Pod::Usable: return sandbox_record(SandboxState::Ready, kInfraPid, SandboxObserved::Ready, true);
    case Pod::NoPidYet: return sandbox_record(SandboxState::Ready, 0, SandboxObserved::Unknown, false);
    case Pod::PidNotYetReady: return sandbox_record(SandboxState::Ready, kInfraPid, SandboxObserved::Unknown, false);
    case Pod::HolderDied: return sandbox_record(SandboxState::Ready, kInfraPid, SandboxObserved::NotReady, true);
    case Pod::Stopped: return sandbox_record(SandboxState::NotReady, kInfraPid, SandboxObserved::NotReady, true);
    case Pod::Removed: return sandbox_record(SandboxState::Removed, kInfraPid, SandboxObserved::NotReady, true);
  }
  return {};
}

const char* pod_name(Pod pod) {
  switch (pod) {
    case Pod::Usable: return "usable";
    case Pod::NoPidYet: return "no-pid-yet";
    case Pod::PidNotYetReady: return "pid-not-yet-ready";
    case Pod::HolderDied: return "holder-died";
    case Pod::Stopped: return "stopped";
    case Pod::Removed: return "removed";
  }
  return "?";
}

ContainerObserved matching_observed(ContainerState desired) {
  switch (desired) {
    case ContainerState::Created: return ContainerObserved::Created;
    case ContainerState::Running: return ContainerObserved::Running;
    case ContainerState::Exited: return ContainerObserved::Exited;
    case ContainerState::Removed: return ContainerObserved::Exited;
  }
  return ContainerObserved::Unknown;
}

// raw.lxc as the instance has it: the pod's namespaces at the current holder PID, or at an old one.
std::string raw_lxc(bool current_lines, int64_t pid) {
  return "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web\n" +
         namespace_share_lines(current_lines ? pid : kOldInfraPid);
}

struct ContainerCase {
  ContainerState desired;
  Instance instance;
  bool started_at;     // the record has started_at
  bool finished_at;    // the record has finished_at
  bool started_json;   // lxe-init wrote started.json
  bool exit_json;      // lxe-init wrote exit.json
  Pod pod;
  bool raw_has_lines;  // raw.lxc already joins the pod's current namespaces
  bool observed_matches;
  bool gen_matches;
  Vols volumes = Vols::None;
};

ContainerRecord container_record(const ContainerCase& c) {
  ContainerRecord r;
  r.id = std::string(64, 'b');
  r.sandbox_id = std::string(64, 'a');
  r.name = "app";
  r.lxd_name = "lxe-web-app-bbbbbbbbbbbb";
  r.desired_state = c.desired;
  r.started_at = c.started_at ? 1000 : 0;
  r.finished_at = c.finished_at ? 2000 : 0;
  r.observed_state = c.observed_matches ? matching_observed(c.desired) : ContainerObserved::Unknown;
  r.generation = 2;
  r.observed_generation = c.gen_matches ? 2 : 1;
  return r;
}

ContainerObservation container_observation(const ContainerCase& c, int64_t pid) {
  ContainerObservation o;
  if (c.instance != Instance::Absent)
    o.instance = InstanceFacts{c.instance == Instance::Running, raw_lxc(c.raw_has_lines, pid)};
  if (c.started_json) o.started_at = 1500;
  if (c.exit_json) o.exit = ExitRecord{3, 0, false, 1800};
  if (c.volumes != Vols::None) o.mounts = 1;
  if (c.volumes == Vols::Unstaged && c.instance == Instance::Running) o.unstaged_volumes = {"mount0"};
  return o;
}

Kinds expected_container(const ContainerCase& c) {
  const bool usable = c.pod == Pod::Usable;
  const bool present = c.instance != Instance::Absent;
  const bool running = c.instance == Instance::Running;
  const bool ran = c.started_json || c.exit_json;
  const bool observed_matches = c.observed_matches;
  Kinds k;
  auto mark = [&] {
    if (!k.empty() || !c.gen_matches) k.push_back(K::MarkReconciled);
  };
  switch (c.desired) {
    case ContainerState::Created:
      if (!present) {
        if (!usable) return {K::Wait};
        k.push_back(K::CreateInstance);
      }
      if (!k.empty() || !observed_matches) k.push_back(K::RecordCreated);
      break;
    case ContainerState::Running:
      if (c.started_at) {
        if (!running && !c.finished_at) k.push_back(K::RecordExit);
        if (running && c.volumes == Vols::Unstaged) k.push_back(K::StageVolumes);
      } else if (running) {
        k.push_back(K::RecordStarted);
        if (c.volumes == Vols::Unstaged) k.push_back(K::StageVolumes);
      } else if (ran) {
        k.push_back(K::RecordStarted);
        if (!c.finished_at) k.push_back(K::RecordExit);
      } else {
        if (!usable) return {K::Wait};
        if (!present) k.push_back(K::CreateInstance);
        if (c.volumes != Vols::None) k.push_back(K::StageVolumes);
        if (!present || !c.raw_has_lines) k.push_back(K::SyncNamespaces);
        k.push_back(K::StartInstance);
        k.push_back(K::RecordStarted);
      }
      break;
    case ContainerState::Exited:
      if (running && c.finished_at) {
        // StartError recorded (it stays never started), or the exit is recorded and lxe-init has
        // not ended the instance.
        k.push_back(K::KillInstance);
      } else if (running && c.exit_json) {
        // lxe-init recorded the end and exits next: recorded, not stopped again.
        if (!c.started_at) k.push_back(K::RecordStarted);
        k.push_back(K::RecordExit);
      } else if (running) {
        if (!c.started_at) k.push_back(K::RecordStarted);
        k.push_back(K::StopInstance);
        k.push_back(K::RecordExit);
      } else if (c.started_at) {
        if (!c.finished_at) k.push_back(K::RecordExit);
      } else if (ran && !c.finished_at) {
        k = {K::RecordStarted, K::RecordExit};
      }
      break;
    case ContainerState::Removed:
      if (running) k.push_back(K::KillInstance);
      // The caller is answered at the mark; the delete comes in the next plan.
      if (!c.gen_matches) {
        k.push_back(K::MarkReconciled);
        return k;
      }
      if (present) k.push_back(K::DeleteInstance);
      k.push_back(K::EraseRecord);
      return k;
  }
  mark();
  return k;
}

// A simulated LXD, lxe-init and store for one container.
struct ContainerWorld {
  ContainerRecord record;
  ContainerObservation observed;
  SandboxRecord sandbox;
  bool erased = false;
  int starts = 0;
  int64_t clock = 10000;
  bool volumes_staged = false;  // a stage-volumes ran (before the start it must precede)

  void apply(const std::vector<Action>& plan) {
    for (const auto& a : plan) {
      INFO("applying " << lxe::reconcile::to_string(a.kind));
      ++clock;
      switch (a.kind) {
        case K::CreateInstance:
          REQUIRE_FALSE(observed.instance);
          REQUIRE(sandbox.infra_pid != 0);
          // Created with the pod's namespaces in raw.lxc; the state directory starts empty.
          observed.instance = InstanceFacts{false, raw_lxc(true, sandbox.infra_pid)};
          observed.started_at.reset();
          observed.exit.reset();
          break;
        case K::SyncNamespaces:
          REQUIRE(observed.instance);
          REQUIRE_FALSE(observed.instance->running);
          observed.instance->raw_lxc = raw_lxc(true, sandbox.infra_pid);
          break;
        case K::StartInstance:
          REQUIRE(observed.instance);
          REQUIRE_FALSE(observed.instance->running);
          REQUIRE(record.started_at == 0);  // CRI containers start once
          // Never started outside the pod's current namespaces.
          REQUIRE(observed.instance->raw_lxc.find(namespace_share_lines(sandbox.infra_pid)) != std::string::npos);
          // Never started without its volumes staged (an empty staging folder would be mounted).
          REQUIRE((observed.mounts == 0 || volumes_staged));
          observed.instance->running = true;
          observed.exit.reset();
          observed.started_at = clock;
          ++starts;
          break;
        case K::RecordStarted:
          REQUIRE(record.started_at == 0);
          record.started_at = observed.started_at.value_or(clock);
          record.observed_state = ContainerObserved::Running;
          break;
        case K::StopInstance:
          // lxe-init stops the workload and records the exit; the instance stops by itself a
          // moment later (at the end of this plan, below).
          REQUIRE(observed.instance);
          REQUIRE(observed.instance->running);
          REQUIRE_FALSE(observed.exit);
          observed.exit = ExitRecord{137, 9, false, clock};
          instance_stopping = true;
          break;
        case K::KillInstance:
          REQUIRE(observed.instance);
          REQUIRE(observed.instance->running);
          observed.instance->running = false;
          if (!observed.exit) observed.exit = ExitRecord{137, 9, false, clock};
          break;
        case K::RecordExit:
          // The workload is over: lxe-init's record says so, or the instance is not running.
          REQUIRE((observed.exit || !(observed.instance && observed.instance->running)));
          REQUIRE(record.finished_at == 0);  // recorded once
          // Recorded while lxe-init is on its way out: the instance stops by itself.
          if (observed.instance && observed.instance->running) instance_stopping = true;
          REQUIRE(record.started_at != 0);  // RecordStarted came first
          record.finished_at = observed.exit ? observed.exit->finished_at : clock;
          record.exit_code = observed.exit ? observed.exit->exit_code : 137;
          record.observed_state = ContainerObserved::Exited;
          break;
        case K::RestoreDevices:
          REQUIRE(observed.instance);
          observed.drifted_devices.clear();
          break;
        case K::StageVolumes:
          REQUIRE(observed.instance);
          REQUIRE(observed.mounts > 0);
          observed.unstaged_volumes.clear();
          volumes_staged = true;
          break;
        case K::RecordCreated:
          REQUIRE(observed.instance);
          record.observed_state = ContainerObserved::Created;
          break;
        case K::DeleteInstance:
          REQUIRE(observed.instance);
          REQUIRE_FALSE(observed.instance->running);
          observed.instance.reset();
          break;
        case K::MarkReconciled: record.observed_generation = record.generation; break;
        case K::EraseRecord:
          REQUIRE_FALSE(observed.instance);
          erased = true;
          break;
        case K::Wait: break;
        default: FAIL("a sandbox action in a container plan: " << lxe::reconcile::to_string(a.kind));
      }
    }
    // LXD notices that lxe-init exited after a stop, and tears the instance down.
    if (instance_stopping && observed.instance) observed.instance->running = false;
    instance_stopping = false;
  }
  bool instance_stopping = false;
};

}  // namespace

// =============================================================================================
// Sandbox plans.

TEST_CASE("plan_sandbox: every desired/observed combination", "[plan][sandbox]") {
  const auto desired = GENERATE(SandboxState::Ready, SandboxState::NotReady, SandboxState::Removed);
  const bool profile = GENERATE(false, true);
  const auto infra = GENERATE(Infra::Absent, Infra::Stopped, Infra::Running);
  const int64_t pid = GENERATE(int64_t{0}, kInfraPid);
  const size_t n_containers = GENERATE(size_t{0}, size_t{2});
  const auto observed = GENERATE(SandboxObserved::Unknown, SandboxObserved::Absent, SandboxObserved::Ready,
                                 SandboxObserved::NotReady);
  const bool gen_matches = GENERATE(false, true);
  CAPTURE(desired, profile, static_cast<int>(infra), pid, n_containers, observed, gen_matches);

  const SandboxRecord record = sandbox_record(desired, pid, observed, gen_matches);
  const auto containers = some_containers(static_cast<int>(n_containers), record.id);
  const SandboxObservation obs = sandbox_observation(profile, infra);
  const auto plan = plan_sandbox(record, containers, obs);
  const Kinds ks = kinds(plan);

  CHECK(ks == expected_sandbox(desired, profile, infra, pid, n_containers, observed, gen_matches));
  check_shape(plan);

  // Properties.
  if (desired == SandboxState::Removed) {
    if (n_containers != 0) {
      CHECK(ks == Kinds{K::Wait});
    } else {
      REQUIRE_FALSE(ks.empty());
      CHECK(ks.back() == (gen_matches ? K::EraseRecord : K::MarkReconciled));
      // Nothing is deleted before the caller is answered.
      if (!gen_matches) CHECK_FALSE(contains(ks, K::DeleteInfra));
    }
  }
  if (pid != 0) {
    // The holder's namespaces were made once: never a new holder for the same record.
    CHECK_FALSE(contains(ks, K::CreateInfra));
    CHECK_FALSE(contains(ks, K::StartInfra));
    CHECK_FALSE(contains(ks, K::RecordInfraPid));
  }
  if (desired == SandboxState::Ready && pid != 0 && infra != Infra::Running) CHECK_FALSE(contains(ks, K::RecordReady));
  if (desired != SandboxState::Ready) {
    CHECK_FALSE(contains(ks, K::CreateProfile));
    CHECK_FALSE(contains(ks, K::CreateInfra));
    CHECK_FALSE(contains(ks, K::StartInfra));
    CHECK_FALSE(contains(ks, K::RecordReady));
  }
  if (contains(ks, K::StartInfra)) CHECK(index_of(ks, K::StartInfra) < index_of(ks, K::RecordInfraPid));
  if (contains(ks, K::RecordInfraPid)) CHECK(index_of(ks, K::RecordInfraPid) < index_of(ks, K::RecordReady));
  if (contains(ks, K::StopInfra) && contains(ks, K::DeleteInfra))
    CHECK(index_of(ks, K::StopInfra) < index_of(ks, K::DeleteInfra));

  // Idempotent: once the plan is applied, there is nothing left to do.
  SandboxWorld world{record, obs};
  world.apply(plan);
  if (desired == SandboxState::Removed && contains(ks, K::MarkReconciled)) {
    // A removal goes on after answering its caller: the next plan deletes the rest and erases.
    const auto rest = plan_sandbox(world.record, containers, world.observed);
    CHECK_FALSE(contains(kinds(rest), K::MarkReconciled));
    world.apply(rest);
    CHECK(world.erased);
  }
  if (!world.erased) {
    const auto again = plan_sandbox(world.record, containers, world.observed);
    if (ks == Kinds{K::Wait})
      CHECK(kinds(again) == Kinds{K::Wait});
    else
      CHECK(kinds(again).empty());
  }
}

TEST_CASE("plan_sandbox: the main paths, written out", "[plan][sandbox]") {
  struct Row {
    const char* name;
    SandboxState desired;
    bool profile;
    Infra infra;
    int64_t pid;
    int containers;
    SandboxObserved observed;
    bool gen_matches;
    Kinds expected;
  };
  const std::vector<Row> rows = {
      {"new sandbox", SandboxState::Ready, false, Infra::Absent, 0, 0, SandboxObserved::Unknown, false,
       {K::CreateProfile, K::CreateInfra, K::StartInfra, K::RecordInfraPid, K::RecordReady, K::MarkReconciled}},
      {"crash after the profile", SandboxState::Ready, true, Infra::Absent, 0, 0, SandboxObserved::Unknown, false,
       {K::CreateInfra, K::StartInfra, K::RecordInfraPid, K::RecordReady, K::MarkReconciled}},
      {"crash after creating the holder", SandboxState::Ready, true, Infra::Stopped, 0, 0, SandboxObserved::Unknown,
       false, {K::StartInfra, K::RecordInfraPid, K::RecordReady, K::MarkReconciled}},
      {"crash after starting the holder", SandboxState::Ready, true, Infra::Running, 0, 0, SandboxObserved::Unknown,
       false, {K::RecordInfraPid, K::RecordReady, K::MarkReconciled}},
      {"crash after recording the PID", SandboxState::Ready, true, Infra::Running, kInfraPid, 0,
       SandboxObserved::Unknown, false, {K::RecordReady, K::MarkReconciled}},
      {"ready and reconciled", SandboxState::Ready, true, Infra::Running, kInfraPid, 1, SandboxObserved::Ready, true,
       {}},
      {"ready, new generation", SandboxState::Ready, true, Infra::Running, kInfraPid, 1, SandboxObserved::Ready, false,
       {K::MarkReconciled}},
      {"ready, profile deleted behind lxe's back", SandboxState::Ready, false, Infra::Running, kInfraPid, 0,
       SandboxObserved::Ready, true, {K::CreateProfile, K::RecordReady, K::MarkReconciled}},
      {"holder stopped", SandboxState::Ready, true, Infra::Stopped, kInfraPid, 1, SandboxObserved::Ready, true,
       {K::RecordNotReady, K::MarkReconciled}},
      {"holder deleted", SandboxState::Ready, true, Infra::Absent, kInfraPid, 1, SandboxObserved::Ready, true,
       {K::RecordNotReady, K::MarkReconciled}},
      {"holder died, already reported", SandboxState::Ready, true, Infra::Stopped, kInfraPid, 1,
       SandboxObserved::NotReady, true, {}},
      {"holder died, then restarted outside lxe", SandboxState::Ready, true, Infra::Running, kInfraPid, 1,
       SandboxObserved::NotReady, true, {}},
      {"stop", SandboxState::NotReady, true, Infra::Running, kInfraPid, 1, SandboxObserved::Ready, false,
       {K::StopInfra, K::RecordNotReady, K::MarkReconciled}},
      {"stop, holder already stopped", SandboxState::NotReady, true, Infra::Stopped, kInfraPid, 0,
       SandboxObserved::Ready, false, {K::RecordNotReady, K::MarkReconciled}},
      {"stop, nothing was ever made", SandboxState::NotReady, false, Infra::Absent, 0, 0, SandboxObserved::Unknown,
       false, {K::RecordNotReady, K::MarkReconciled}},
      {"stopped and reconciled", SandboxState::NotReady, true, Infra::Stopped, kInfraPid, 0,
       SandboxObserved::NotReady, true, {}},
      {"remove a running sandbox", SandboxState::Removed, true, Infra::Running, kInfraPid, 0, SandboxObserved::Ready,
       false, {K::StopInfra, K::MarkReconciled}},
      {"remove a stopped sandbox", SandboxState::Removed, true, Infra::Stopped, kInfraPid, 0,
       SandboxObserved::NotReady, false, {K::MarkReconciled}},
      {"removed for CRI: the holder and the profile go", SandboxState::Removed, true, Infra::Stopped, kInfraPid, 0,
       SandboxObserved::NotReady, true, {K::DeleteInfra, K::DeleteProfile, K::EraseRecord}},
      {"removed for CRI, LXD still shows the holder running", SandboxState::Removed, true, Infra::Running, kInfraPid,
       0, SandboxObserved::NotReady, true, {K::StopInfra, K::DeleteInfra, K::DeleteProfile, K::EraseRecord}},
      {"removed for CRI, holder already gone", SandboxState::Removed, true, Infra::Absent, kInfraPid, 0,
       SandboxObserved::NotReady, true, {K::DeleteProfile, K::EraseRecord}},
      {"removed for CRI, nothing left in LXD", SandboxState::Removed, false, Infra::Absent, kInfraPid, 0,
       SandboxObserved::NotReady, true, {K::EraseRecord}},
      {"remove, containers still there", SandboxState::Removed, true, Infra::Running, kInfraPid, 3,
       SandboxObserved::Ready, false, {K::Wait}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto record = sandbox_record(row.desired, row.pid, row.observed, row.gen_matches);
    const auto plan = plan_sandbox(record, some_containers(row.containers, record.id),
                                   sandbox_observation(row.profile, row.infra));
    CHECK(kinds(plan) == row.expected);
  }
}

TEST_CASE("plan_sandbox: CNI ADD once the holder runs, never again once done, and DEL before the holder stops",
          "[plan][sandbox][cni]") {
  struct Row {
    const char* name;
    SandboxState desired;
    Infra infra;
    int64_t pid;
    const char* cni_state;
    int containers;
    Kinds expected;
  };
  const std::vector<Row> rows = {
      {"new pod", SandboxState::Ready, Infra::Absent, 0, "", 0,
       {K::CreateInfra, K::StartInfra, K::RecordInfraPid, K::RecordNetworkAdding, K::NetworkAdd, K::RecordReady,
        K::MarkReconciled}},
      {"crash before ADD ran (or while it ran)", SandboxState::Ready, Infra::Running, kInfraPid, "adding", 0,
       {K::NetworkAdd, K::RecordReady, K::MarkReconciled}},
      {"ADD done, then lxe restarted", SandboxState::Ready, Infra::Running, kInfraPid, "added", 0,
       {K::RecordReady, K::MarkReconciled}},
      {"holder died after ADD: NotReady, no new ADD", SandboxState::Ready, Infra::Stopped, kInfraPid, "added", 0,
       {K::RecordNotReady, K::MarkReconciled}},
      {"stop", SandboxState::NotReady, Infra::Running, kInfraPid, "added", 0,
       {K::NetworkDel, K::StopInfra, K::RecordNotReady, K::MarkReconciled}},
      {"stop after an unfinished ADD", SandboxState::NotReady, Infra::Running, kInfraPid, "adding", 0,
       {K::NetworkDel, K::StopInfra, K::RecordNotReady, K::MarkReconciled}},
      {"stop, DEL done", SandboxState::NotReady, Infra::Stopped, kInfraPid, "", 0, {K::RecordNotReady, K::MarkReconciled}},
      {"remove without a stop", SandboxState::Removed, Infra::Running, kInfraPid, "added", 0,
       {K::NetworkDel, K::StopInfra, K::MarkReconciled}},
      {"remove, containers still there", SandboxState::Removed, Infra::Running, kInfraPid, "added", 2, {K::Wait}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto record = sandbox_record(row.desired, row.pid, SandboxObserved::Unknown, false);
    record.pod_network = "cni:podnet";
    record.cni_network = R"({"name":"podnet","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})";
    record.cni_state = row.cni_state;
    const auto plan = plan_sandbox(record, some_containers(row.containers, record.id),
                                   sandbox_observation(true, row.infra));
    CHECK(kinds(plan) == row.expected);
  }
}

TEST_CASE("plan_sandbox: a pod interface removed outside lxe is put back on the bridge, and NotReady with CNI",
          "[plan][sandbox][drift]") {
  auto bridged = sandbox_record(SandboxState::Ready, kInfraPid, SandboxObserved::Ready, true);
  bridged.pod_network = "bridge:lxebr0";
  bridged.pod_ip = "10.233.0.2/16";
  auto cni_pod = sandbox_record(SandboxState::Ready, kInfraPid, SandboxObserved::Ready, true);
  cni_pod.pod_network = "cni:podnet";
  cni_pod.cni_network = R"({"name":"podnet","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})";
  cni_pod.cni_state = "added";
  cni_pod.pod_ip = "10.22.0.5/24";
  auto loopback_only = sandbox_record(SandboxState::Ready, kInfraPid, SandboxObserved::Ready, true);
  auto observed = [](std::vector<std::string> drifted, std::optional<bool> interface, std::optional<bool> address) {
    auto o = sandbox_observation(true, Infra::Running);
    o.drifted_holder_devices = std::move(drifted);
    o.pod_interface_present = interface;
    o.pod_address_present = address;
    return o;
  };
  const Kinds restore = {K::RestoreHolderNetwork, K::RecordReady, K::MarkReconciled};
  const Kinds not_ready = {K::RecordNotReady, K::MarkReconciled};
  // All there: nothing to do.
  CHECK(kinds(plan_sandbox(bridged, {}, observed({}, true, true))).empty());
  CHECK(kinds(plan_sandbox(cni_pod, {}, observed({}, true, std::nullopt))).empty());
  // Bridge: the NIC device removed in LXD (its interface went with it), or only the address: put back.
  CHECK(kinds(plan_sandbox(bridged, {}, observed({"eth0"}, false, false))) == restore);
  CHECK(kinds(plan_sandbox(bridged, {}, observed({}, true, false))) == restore);
  CHECK(kinds(plan_sandbox(bridged, {}, observed({"lxe-port0"}, true, true))) == restore);
  // Bridge: the interface deleted inside the namespace while LXD still has the NIC: NotReady.
  CHECK(kinds(plan_sandbox(bridged, {}, observed({}, false, false))) == not_ready);
  // CNI: never ADDed again; NotReady, and kubelet makes a new sandbox.
  CHECK(kinds(plan_sandbox(cni_pod, {}, observed({}, false, std::nullopt))) == not_ready);
  // A pod without an address: only its proxies can drift.
  CHECK(kinds(plan_sandbox(loopback_only, {}, observed({"lxe-port1"}, std::nullopt, std::nullopt))) == restore);
  // Reported NotReady once: stays so, nothing is repaired in a pod kubelet will replace.
  auto reported = cni_pod;
  reported.observed_state = SandboxObserved::NotReady;
  CHECK(kinds(plan_sandbox(reported, {}, observed({}, false, std::nullopt))).empty());
}

TEST_CASE("plan_sandbox: a holder that died after the pod was ready is reported NotReady and never restarted",
          "[plan][sandbox]") {
  SandboxRecord s = sandbox_record(SandboxState::Ready, 0, SandboxObserved::Unknown, false);
  SandboxWorld world{s, sandbox_observation(false, Infra::Absent)};
  world.apply(plan_sandbox(world.record, {}, world.observed));
  REQUIRE(world.record.observed_state == SandboxObserved::Ready);
  const int64_t pid = world.record.infra_pid;
  REQUIRE(pid != 0);
  REQUIRE(plan_sandbox(world.record, {}, world.observed).empty());

  SECTION("stopped") {
    world.observed.infra->running = false;
    const auto plan = plan_sandbox(world.record, some_containers(1, s.id), world.observed);
    REQUIRE(kinds(plan) == Kinds{K::RecordNotReady, K::MarkReconciled});
    CHECK(plan[0].reason.find("stopped") != std::string::npos);
    world.apply(plan);
  }
  SECTION("deleted") {
    world.observed.infra.reset();
    const auto plan = plan_sandbox(world.record, some_containers(1, s.id), world.observed);
    REQUIRE(kinds(plan) == Kinds{K::RecordNotReady, K::MarkReconciled});
    CHECK(plan[0].reason.find("deleted") != std::string::npos);
    world.apply(plan);
  }
  SECTION("restarted outside lxe: running, but its state shows another PID") {
    world.observed.infra->pid = pid + 7;
    const auto plan = plan_sandbox(world.record, some_containers(1, s.id), world.observed);
    REQUIRE(kinds(plan) == Kinds{K::RecordNotReady, K::MarkReconciled});
    CHECK(plan[0].reason.find("restarted outside lxe") != std::string::npos);
    CHECK(plan[0].reason.find(std::to_string(pid + 7)) != std::string::npos);
    world.apply(plan);
  }
  CHECK(world.record.observed_state == SandboxObserved::NotReady);
  CHECK(world.record.infra_pid == pid);
  // Nothing more, however often it is looked at, and even once the holder runs again (restarted
  // outside lxe: new namespaces, a PID the record does not have).
  CHECK(plan_sandbox(world.record, {}, world.observed).empty());
  world.observed.infra = InstanceFacts{true, ""};
  CHECK(plan_sandbox(world.record, {}, world.observed).empty());
  world.record.generation += 1;  // e.g. a label change
  CHECK(kinds(plan_sandbox(world.record, {}, world.observed)) == Kinds{K::MarkReconciled});
}

TEST_CASE("plan_sandbox: a holder whose state shows the recorded PID, or no PID, is left alone", "[plan][sandbox]") {
  SandboxRecord s = sandbox_record(SandboxState::Ready, 0, SandboxObserved::Unknown, false);
  SandboxWorld world{s, sandbox_observation(false, Infra::Absent)};
  world.apply(plan_sandbox(world.record, {}, world.observed));
  REQUIRE(world.record.observed_state == SandboxObserved::Ready);
  world.observed.infra->pid = world.record.infra_pid;
  CHECK(plan_sandbox(world.record, {}, world.observed).empty());
  world.observed.infra->pid = 0;  // stopped between the list and the look: the stop is seen next time
  CHECK(plan_sandbox(world.record, {}, world.observed).empty());
  world.observed.infra->pid.reset();
  CHECK(plan_sandbox(world.record, {}, world.observed).empty());
  // A pod still being made (no PID recorded yet) takes whatever PID its holder has.
  SandboxRecord fresh = sandbox_record(SandboxState::Ready, 0, SandboxObserved::Unknown, false);
  SandboxObservation running = sandbox_observation(true, Infra::Running);
  running.infra->pid = 4242;
  CHECK_FALSE(contains(kinds(plan_sandbox(fresh, {}, running)), K::RecordNotReady));
}

TEST_CASE("plan_sandbox: idempotent along the main paths, by hand", "[plan][sandbox]") {
  // Run: Create* + Start + RecordInfraPid + RecordReady + MarkReconciled, then LXD shows it all.
  SandboxRecord s = sandbox_record(SandboxState::Ready, 0, SandboxObserved::Unknown, false);
  REQUIRE(kinds(plan_sandbox(s, {}, sandbox_observation(false, Infra::Absent))) ==
          Kinds{K::CreateProfile, K::CreateInfra, K::StartInfra, K::RecordInfraPid, K::RecordReady,
                K::MarkReconciled});
  s.infra_pid = kInfraPid;
  s.observed_state = SandboxObserved::Ready;
  s.observed_generation = s.generation;
  CHECK(plan_sandbox(s, {}, sandbox_observation(true, Infra::Running)).empty());

  // Stop.
  s.desired_state = SandboxState::NotReady;
  s.generation += 1;
  REQUIRE(kinds(plan_sandbox(s, {}, sandbox_observation(true, Infra::Running))) ==
          Kinds{K::StopInfra, K::RecordNotReady, K::MarkReconciled});
  s.observed_state = SandboxObserved::NotReady;
  s.observed_generation = s.generation;
  CHECK(plan_sandbox(s, {}, sandbox_observation(true, Infra::Stopped)).empty());

  // Remove: waits for the containers to be removed for CRI, answers the caller, then takes
  // everything down and erases the record.
  s.desired_state = SandboxState::Removed;
  s.generation += 1;
  CHECK(kinds(plan_sandbox(s, some_containers(1, s.id), sandbox_observation(true, Infra::Stopped))) ==
        Kinds{K::Wait});
  REQUIRE(kinds(plan_sandbox(s, {}, sandbox_observation(true, Infra::Stopped))) == Kinds{K::MarkReconciled});
  s.observed_generation = s.generation;
  CHECK(kinds(plan_sandbox(s, {}, sandbox_observation(true, Infra::Stopped))) ==
        Kinds{K::DeleteInfra, K::DeleteProfile, K::EraseRecord});
  // A crash after DeleteInfra: the rest, and erase.
  CHECK(kinds(plan_sandbox(s, {}, sandbox_observation(true, Infra::Absent))) ==
        Kinds{K::DeleteProfile, K::EraseRecord});
}

TEST_CASE("plan_sandbox: a removal waits for its containers to be removed for CRI, and for their instances to go "
          "before the profile",
          "[plan][sandbox]") {
  SandboxRecord s = sandbox_record(SandboxState::Removed, kInfraPid, SandboxObserved::Ready, false);
  auto containers = some_containers(2, s.id);
  // One container's processes are gone (removed for CRI), the other's not yet.
  containers[0].observed_generation = containers[0].generation;
  {
    const auto plan = plan_sandbox(s, containers, sandbox_observation(true, Infra::Running));
    REQUIRE(kinds(plan) == Kinds{K::Wait});
    CHECK(plan[0].reason.find("1 container(s) still being removed") != std::string::npos);
  }
  // Both removed for CRI: the holder stops and the caller is answered, though LXD still has both
  // instances.
  containers[1].observed_generation = containers[1].generation;
  REQUIRE(kinds(plan_sandbox(s, containers, sandbox_observation(true, Infra::Running))) ==
          Kinds{K::StopInfra, K::MarkReconciled});
  s.observed_generation = s.generation;
  // The holder is deleted; the profile waits while the containers' instances (which use it) are there.
  CHECK(kinds(plan_sandbox(s, containers, sandbox_observation(true, Infra::Stopped))) == Kinds{K::DeleteInfra});
  {
    const auto plan = plan_sandbox(s, containers, sandbox_observation(true, Infra::Absent));
    REQUIRE(kinds(plan) == Kinds{K::Wait});
    CHECK(plan[0].reason.find("2 container instance(s) still being deleted") != std::string::npos);
  }
  // The last one erased (its erase requeues the sandbox): the profile goes, and the record.
  CHECK(kinds(plan_sandbox(s, {}, sandbox_observation(true, Infra::Absent))) ==
        Kinds{K::DeleteProfile, K::EraseRecord});
}

// =============================================================================================
// Container plans.

TEST_CASE("plan_container: every desired/observed combination", "[plan][container]") {
  ContainerCase c;
  c.desired = GENERATE(ContainerState::Created, ContainerState::Running, ContainerState::Exited,
                       ContainerState::Removed);
  c.instance = GENERATE(Instance::Absent, Instance::Stopped, Instance::Running);
  c.started_at = GENERATE(false, true);
  c.finished_at = GENERATE(false, true);
  c.started_json = GENERATE(false, true);
  c.exit_json = GENERATE(false, true);
  c.pod = GENERATE(Pod::Usable, Pod::NoPidYet, Pod::PidNotYetReady, Pod::HolderDied, Pod::Stopped, Pod::Removed);
  c.raw_has_lines = GENERATE(false, true);
  c.observed_matches = GENERATE(false, true);
  c.gen_matches = GENERATE(false, true);
  c.volumes = GENERATE(Vols::None, Vols::Staged, Vols::Unstaged);
  CAPTURE(c.desired, static_cast<int>(c.instance), c.started_at, c.finished_at, c.started_json, c.exit_json,
          pod_name(c.pod), c.raw_has_lines, c.observed_matches, c.gen_matches, static_cast<int>(c.volumes));

  const ContainerRecord record = container_record(c);
  const SandboxRecord sandbox = pod_record(c.pod);
  const ContainerObservation obs = container_observation(c, sandbox.infra_pid);
  const auto plan = plan_container(record, sandbox, obs);
  const Kinds ks = kinds(plan);

  CHECK(ks == expected_container(c));
  check_shape(plan);

  // Properties.
  if (c.started_at || c.started_json || c.exit_json) {
    // Started once (by the record, or by what lxe-init wrote): never started again, and not
    // re-created to be started (a created-only container's instance may be re-created).
    CHECK_FALSE(contains(ks, K::StartInstance));
    CHECK_FALSE(contains(ks, K::SyncNamespaces));
    if (c.desired != ContainerState::Created) CHECK_FALSE(contains(ks, K::CreateInstance));
  }
  if (c.started_at) CHECK_FALSE(contains(ks, K::RecordStarted));
  if (c.finished_at) {
    // How it ended is recorded once, unless it runs now (StartError, then it started after all).
    if (c.instance != Instance::Running) CHECK_FALSE(contains(ks, K::RecordExit));
  }
  if (c.desired == ContainerState::Removed) {
    REQUIRE_FALSE(ks.empty());
    CHECK(ks.back() == (c.gen_matches ? K::EraseRecord : K::MarkReconciled));
    CHECK_FALSE(contains(ks, K::StartInstance));
    // Nothing is deleted before the caller is answered.
    if (!c.gen_matches) CHECK_FALSE(contains(ks, K::DeleteInstance));
  }
  if (c.pod != Pod::Usable) {
    // Nothing is created in, or started into, a pod that is not ready.
    CHECK_FALSE(contains(ks, K::CreateInstance));
    CHECK_FALSE(contains(ks, K::StartInstance));
  }
  if (c.desired != ContainerState::Running) {
    CHECK_FALSE(contains(ks, K::StartInstance));
    CHECK_FALSE(contains(ks, K::SyncNamespaces));
  }
  if (contains(ks, K::StartInstance)) {
    // Started right after its raw.lxc names the pod's current holder, and the start recorded.
    const size_t start = index_of(ks, K::StartInstance);
    REQUIRE(start + 1 < ks.size());
    CHECK(ks[start + 1] == K::RecordStarted);
    if (contains(ks, K::SyncNamespaces)) CHECK(index_of(ks, K::SyncNamespaces) + 1 == start);
    if (contains(ks, K::CreateInstance)) CHECK(index_of(ks, K::CreateInstance) < start);
  }
  if (contains(ks, K::RecordStarted) && contains(ks, K::RecordExit))
    CHECK(index_of(ks, K::RecordStarted) < index_of(ks, K::RecordExit));
  if (contains(ks, K::StopInstance)) CHECK(index_of(ks, K::StopInstance) + 1 == index_of(ks, K::RecordExit));
  if (contains(ks, K::KillInstance) && c.desired == ContainerState::Removed)
    CHECK(ks[index_of(ks, K::KillInstance) + 1] == (c.gen_matches ? K::DeleteInstance : K::MarkReconciled));
  if (c.desired == ContainerState::Exited && !c.started_at && c.finished_at) {
    // StartError is recorded: whatever LXD shows, the container stays never started.
    CHECK_FALSE(contains(ks, K::RecordStarted));
    CHECK_FALSE(contains(ks, K::RecordExit));
  }
  if (contains(ks, K::SyncNamespaces)) {
    CHECK(plan[index_of(ks, K::SyncNamespaces)].reason.find(std::to_string(kInfraPid)) != std::string::npos);
  }
  // Volumes are staged before every start, after the instance exists; never without mounts, and
  // never as part of stopping or removing.
  if (c.volumes == Vols::None) CHECK_FALSE(contains(ks, K::StageVolumes));
  if (contains(ks, K::StartInstance) && c.volumes != Vols::None) {
    REQUIRE(contains(ks, K::StageVolumes));
    CHECK(index_of(ks, K::StageVolumes) < index_of(ks, K::StartInstance));
    if (contains(ks, K::CreateInstance)) CHECK(index_of(ks, K::CreateInstance) < index_of(ks, K::StageVolumes));
  }
  if (c.desired != ContainerState::Running) CHECK_FALSE(contains(ks, K::StageVolumes));

  // Idempotent.
  ContainerWorld world{record, obs, sandbox};
  world.apply(plan);
  if (c.desired == ContainerState::Removed && contains(ks, K::MarkReconciled)) {
    // A removal goes on after answering its caller: the next plan deletes and erases.
    const auto rest = plan_container(world.record, sandbox, world.observed);
    CHECK_FALSE(contains(kinds(rest), K::MarkReconciled));
    world.apply(rest);
    CHECK(world.erased);
  }
  CHECK(world.starts <= 1);
  if (!world.erased) {
    const auto again = plan_container(world.record, sandbox, world.observed);
    if (ks == Kinds{K::Wait})
      CHECK(kinds(again) == Kinds{K::Wait});
    else
      CHECK(kinds(again).empty());
  }
}

TEST_CASE("plan_container: the main paths, written out", "[plan][container]") {
  struct Row {
    const char* name;
    ContainerCase c;
    Kinds expected;
  };
  using CS = ContainerState;
  using I = Instance;
  const std::vector<Row> rows = {
      {"create", {CS::Created, I::Absent, false, false, false, false, Pod::Usable, false, false, false},
       {K::CreateInstance, K::RecordCreated, K::MarkReconciled}},
      {"create in a pod not ready yet", {CS::Created, I::Absent, false, false, false, false, Pod::NoPidYet, false,
                                         false, false},
       {K::Wait}},
      {"create in a pod whose holder died",
       {CS::Created, I::Absent, false, false, false, false, Pod::HolderDied, false, false, false},
       {K::Wait}},
      {"created, crash before recording",
       {CS::Created, I::Stopped, false, false, false, false, Pod::Usable, true, false, false},
       {K::RecordCreated, K::MarkReconciled}},
      {"created and reconciled", {CS::Created, I::Stopped, false, false, false, false, Pod::Usable, true, true, true},
       {}},
      {"start", {CS::Running, I::Stopped, false, false, false, false, Pod::Usable, true, true, false},
       {K::StartInstance, K::RecordStarted, K::MarkReconciled}},
      {"start, raw.lxc names an old holder",
       {CS::Running, I::Stopped, false, false, false, false, Pod::Usable, false, true, false},
       {K::SyncNamespaces, K::StartInstance, K::RecordStarted, K::MarkReconciled}},
      {"start, instance deleted before it started",
       {CS::Running, I::Absent, false, false, false, false, Pod::Usable, false, true, false},
       {K::CreateInstance, K::SyncNamespaces, K::StartInstance, K::RecordStarted, K::MarkReconciled}},
      {"start in a stopped pod", {CS::Running, I::Stopped, false, false, false, false, Pod::Stopped, true, true, false},
       {K::Wait}},
      {"crash after start, still running",
       {CS::Running, I::Running, false, false, true, false, Pod::Usable, true, false, false},
       {K::RecordStarted, K::MarkReconciled}},
      {"crash after start, already ended",
       {CS::Running, I::Stopped, false, false, true, true, Pod::Usable, true, false, false},
       {K::RecordStarted, K::RecordExit, K::MarkReconciled}},
      {"crash after start, setup failed (exit.json only)",
       {CS::Running, I::Stopped, false, false, false, true, Pod::Usable, true, false, false},
       {K::RecordStarted, K::RecordExit, K::MarkReconciled}},
      {"crash after start, then deleted outside lxe",
       {CS::Running, I::Absent, false, false, true, false, Pod::Usable, true, false, false},
       {K::RecordStarted, K::RecordExit, K::MarkReconciled}},
      {"running and reconciled", {CS::Running, I::Running, true, false, true, false, Pod::Usable, true, true, true},
       {}},
      {"running, its pod's holder died", {CS::Running, I::Running, true, false, true, false, Pod::HolderDied, true,
                                          true, true},
       {}},
      {"the command ended", {CS::Running, I::Stopped, true, false, true, true, Pod::Usable, true, true, true},
       {K::RecordExit, K::MarkReconciled}},
      {"the command ended and was recorded", {CS::Running, I::Stopped, true, true, true, true, Pod::Usable, true, false,
                                              true},
       {}},
      {"deleted outside lxe while running", {CS::Running, I::Absent, true, false, true, false, Pod::Usable, true, true,
                                             true},
       {K::RecordExit, K::MarkReconciled}},
      {"stop a running container", {CS::Exited, I::Running, true, false, true, false, Pod::Usable, true, false, false},
       {K::StopInstance, K::RecordExit, K::MarkReconciled}},
      {"stop, start never recorded", {CS::Exited, I::Running, false, false, true, false, Pod::Usable, true, false,
                                      false},
       {K::RecordStarted, K::StopInstance, K::RecordExit, K::MarkReconciled}},
      {"stop an ended container", {CS::Exited, I::Stopped, true, false, true, true, Pod::Usable, true, false, false},
       {K::RecordExit, K::MarkReconciled}},
      {"stop an ended, recorded container", {CS::Exited, I::Stopped, true, true, true, true, Pod::Usable, true, false,
                                             false},
       {K::MarkReconciled}},
      {"stop a created container", {CS::Exited, I::Stopped, false, false, false, false, Pod::Usable, true, false,
                                    false},
       {K::MarkReconciled}},
      {"stop after a start that ran unrecorded",
       {CS::Exited, I::Stopped, false, false, true, true, Pod::Usable, true, false, false},
       {K::RecordStarted, K::RecordExit, K::MarkReconciled}},
      {"StartError already recorded", {CS::Exited, I::Stopped, false, true, true, true, Pod::Usable, true, true, true},
       {}},
      {"StartError recorded, then LXD completed the start",
       {CS::Exited, I::Running, false, true, true, false, Pod::Usable, true, true, false},
       {K::KillInstance, K::MarkReconciled}},
      {"exited and reconciled", {CS::Exited, I::Stopped, true, true, true, true, Pod::Usable, true, true, true}, {}},
      {"remove a running container", {CS::Removed, I::Running, true, false, true, false, Pod::Usable, true, false,
                                      false},
       {K::KillInstance, K::MarkReconciled}},
      {"remove a stopped container", {CS::Removed, I::Stopped, true, true, true, true, Pod::Removed, true, false,
                                      false},
       {K::MarkReconciled}},
      {"removed for CRI: the instance goes", {CS::Removed, I::Stopped, true, true, true, true, Pod::Removed, true,
                                              false, true},
       {K::DeleteInstance, K::EraseRecord}},
      {"removed for CRI, LXD still shows it running", {CS::Removed, I::Running, true, true, true, true, Pod::Usable,
                                                       true, false, true},
       {K::KillInstance, K::DeleteInstance, K::EraseRecord}},
      {"removed for CRI, instance already gone", {CS::Removed, I::Absent, false, false, false, false, Pod::Removed,
                                                  false, false, true},
       {K::EraseRecord}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto sandbox = pod_record(row.c.pod);
    const auto plan =
        plan_container(container_record(row.c), sandbox, container_observation(row.c, sandbox.infra_pid));
    CHECK(kinds(plan) == row.expected);
  }
}

TEST_CASE("plan_container: a started container is never started again", "[plan][container]") {
  const SandboxRecord pod = pod_record(Pod::Usable);
  ContainerRecord c = container_record({ContainerState::Running, Instance::Stopped, true, false, true, true,
                                        Pod::Usable, true, true, true});
  for (const bool have_instance : {false, true}) {
    for (const bool started_json : {false, true}) {
      for (const bool exit_json : {false, true}) {
        for (const int64_t finished : {int64_t{0}, int64_t{99}}) {
          c.finished_at = finished;
          ContainerObservation o;
          if (have_instance) o.instance = InstanceFacts{false, ""};  // not even the namespace lines
          if (started_json) o.started_at = 5;
          if (exit_json) o.exit = ExitRecord{};
          const Kinds ks = kinds(plan_container(c, pod, o));
          CAPTURE(have_instance, started_json, exit_json, finished, ks);
          CHECK_FALSE(contains(ks, K::StartInstance));
          CHECK_FALSE(contains(ks, K::CreateInstance));
          CHECK_FALSE(contains(ks, K::SyncNamespaces));
          CHECK(ks == (finished == 0 ? Kinds{K::RecordExit, K::MarkReconciled} : Kinds{}));
        }
      }
    }
  }
}

TEST_CASE("plan_container: the namespace lines must name the current holder exactly", "[plan][container]") {
  SandboxRecord pod = pod_record(Pod::Usable);
  const ContainerRecord c = container_record({ContainerState::Running, Instance::Stopped, false, false, false, false,
                                              Pod::Usable, true, true, true});
  auto plan_with_raw = [&](const std::string& raw) {
    ContainerObservation o;
    o.instance = InstanceFacts{false, raw};
    return kinds(plan_container(c, pod, o));
  };
  const Kinds sync = {K::SyncNamespaces, K::StartInstance, K::RecordStarted, K::MarkReconciled};
  const Kinds no_sync = {K::StartInstance, K::RecordStarted, K::MarkReconciled};
  CHECK(plan_with_raw("") == sync);
  CHECK(plan_with_raw("lxc.uts.name = web\n") == sync);
  CHECK(plan_with_raw(namespace_share_lines(kInfraPid)) == no_sync);
  CHECK(plan_with_raw("lxc.uts.name = web\n" + namespace_share_lines(kInfraPid)) == no_sync);
  // PIDs that contain the current one as a prefix or suffix are other processes.
  CHECK(plan_with_raw(namespace_share_lines(kInfraPid * 10 + 2)) == sync);
  CHECK(plan_with_raw(namespace_share_lines(10000 + kInfraPid)) == sync);
  CHECK(plan_with_raw(namespace_share_lines(kInfraPid / 10)) == sync);
  // Only the net line, or only the user line: not joined.
  CHECK(plan_with_raw("lxc.namespace.share.net = " + std::to_string(kInfraPid) + "\n") == sync);
  CHECK(plan_with_raw("lxc.namespace.share.user = " + std::to_string(kInfraPid) + "\n") == sync);

  const std::string lines = namespace_share_lines(kInfraPid);
  CHECK(lines == "lxc.namespace.share.net = 4242\nlxc.namespace.share.user = 4242\n");
}

TEST_CASE("plan_container: a host network pod's containers join the host's namespace, whatever the holder's PID",
          "[plan][container][host-network]") {
  SandboxRecord pod = pod_record(Pod::Usable);
  pod.pod_network = "host";
  const ContainerRecord c = container_record({ContainerState::Running, Instance::Stopped, false, false, false, false,
                                              Pod::Usable, true, true, true});
  ContainerObservation o;
  o.instance = InstanceFacts{false, "lxc.namespace.share.net = /proc/1/ns/net\n"};
  CHECK(kinds(plan_container(c, pod, o)) == Kinds{K::StartInstance, K::RecordStarted, K::MarkReconciled});
}

TEST_CASE("plan_container: idempotent along the main paths, by hand", "[plan][container]") {
  const SandboxRecord pod = pod_record(Pod::Usable);
  ContainerRecord c = container_record({ContainerState::Created, Instance::Absent, false, false, false, false,
                                        Pod::Usable, false, false, false});
  ContainerObservation o;

  // CreateContainer.
  REQUIRE(kinds(plan_container(c, pod, o)) == Kinds{K::CreateInstance, K::RecordCreated, K::MarkReconciled});
  o.instance = InstanceFacts{false, "lxc.uts.name = web\n" + namespace_share_lines(pod.infra_pid)};
  c.observed_state = ContainerObserved::Created;
  c.observed_generation = c.generation;
  CHECK(plan_container(c, pod, o).empty());

  // StartContainer.
  c.desired_state = ContainerState::Running;
  c.generation += 1;
  REQUIRE(kinds(plan_container(c, pod, o)) == Kinds{K::StartInstance, K::RecordStarted, K::MarkReconciled});
  o.instance->running = true;
  o.started_at = 123;
  c.started_at = 123;
  c.observed_state = ContainerObserved::Running;
  c.observed_generation = c.generation;
  CHECK(plan_container(c, pod, o).empty());

  // The command ends by itself.
  o.instance->running = false;
  o.exit = ExitRecord{0, 0, false, 456};
  REQUIRE(kinds(plan_container(c, pod, o)) == Kinds{K::RecordExit, K::MarkReconciled});
  c.finished_at = 456;
  c.observed_state = ContainerObserved::Exited;
  CHECK(plan_container(c, pod, o).empty());

  // StopContainer on it: only the generation is marked.
  c.desired_state = ContainerState::Exited;
  c.generation += 1;
  REQUIRE(kinds(plan_container(c, pod, o)) == Kinds{K::MarkReconciled});
  c.observed_generation = c.generation;
  CHECK(plan_container(c, pod, o).empty());

  // RemoveContainer: answered at once (nothing runs), then the instance goes.
  c.desired_state = ContainerState::Removed;
  c.generation += 1;
  REQUIRE(kinds(plan_container(c, pod, o)) == Kinds{K::MarkReconciled});
  c.observed_generation = c.generation;
  CHECK(kinds(plan_container(c, pod, o)) == Kinds{K::DeleteInstance, K::EraseRecord});
  o.instance.reset();
  CHECK(kinds(plan_container(c, pod, o)) == Kinds{K::EraseRecord});
}

TEST_CASE("plan_container: Wait when the pod is not usable, and a plan resumes once it is", "[plan][container]") {
  ContainerRecord c = container_record({ContainerState::Running, Instance::Stopped, false, false, false, false,
                                        Pod::NoPidYet, false, false, false});
  ContainerObservation o;
  o.instance = InstanceFacts{false, "lxc.uts.name = web\n"};
  SandboxRecord pod = pod_record(Pod::NoPidYet);
  const auto waiting = plan_container(c, pod, o);
  REQUIRE(kinds(waiting) == Kinds{K::Wait});
  CHECK(waiting[0].reason.find("sandbox") != std::string::npos);
  pod = pod_record(Pod::Usable);
  CHECK(kinds(plan_container(c, pod, o)) ==
        Kinds{K::SyncNamespaces, K::StartInstance, K::RecordStarted, K::MarkReconciled});
}

TEST_CASE("plan to_string names every action", "[plan]") {
  std::vector<std::string> names;
  for (int k = static_cast<int>(K::CreateProfile); k <= static_cast<int>(K::Wait); ++k) {
    const std::string name(lxe::reconcile::to_string(static_cast<ActionKind>(k)));
    CHECK(name != "unknown");
    CHECK_FALSE(name.empty());
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  CHECK(lxe::reconcile::to_string(K::MarkReconciled) == "mark-reconciled");
  CHECK(lxe::reconcile::to_string(K::EraseRecord) == "erase-record");
}

TEST_CASE("plan_container_from_files: an exit lxe-init recorded while lxe was down, before serving",
          "[plan][container]") {
  ContainerRecord c;
  c.id = "c1";
  c.desired_state = ContainerState::Running;
  c.observed_state = lxe::store::ContainerObserved::Running;
  c.started_at = 1000;
  ContainerObservation with_exit;
  with_exit.exit = ExitRecord{3, 0, false, 2000};
  // Running in the store, and an exit record on disk: record the exit now.
  {
    const auto plan = lxe::reconcile::plan_container_from_files(c, with_exit);
    REQUIRE(kinds(plan) == Kinds{K::RecordExit});
    CHECK(plan[0].reason.find("while lxe was not running") != std::string::npos);
  }
  // Desired exited (a stop was in flight) is the same.
  c.desired_state = ContainerState::Exited;
  CHECK(kinds(lxe::reconcile::plan_container_from_files(c, with_exit)) == Kinds{K::RecordExit});
  // Everything else is the full plan's business.
  CHECK(lxe::reconcile::plan_container_from_files(c, ContainerObservation{}).empty());  // still running
  ContainerRecord finished = c;
  finished.finished_at = 2000;
  CHECK(lxe::reconcile::plan_container_from_files(finished, with_exit).empty());  // already recorded
  ContainerRecord never_started = c;
  never_started.started_at = 0;
  CHECK(lxe::reconcile::plan_container_from_files(never_started, with_exit).empty());
  ContainerRecord created = c;
  created.observed_state = lxe::store::ContainerObserved::Created;
  CHECK(lxe::reconcile::plan_container_from_files(created, with_exit).empty());
  ContainerRecord removed = c;
  removed.desired_state = ContainerState::Removed;
  CHECK(lxe::reconcile::plan_container_from_files(removed, with_exit).empty());
}

TEST_CASE("plan: devices removed or changed outside lxe are put back, never by a restart", "[plan][drift]") {
  const SandboxRecord pod = pod_record(Pod::Usable);
  ContainerRecord running = container_record({ContainerState::Running, Instance::Running, true, false, true, false,
                                              Pod::Usable, true, true, true});
  ContainerObservation o;
  o.instance = InstanceFacts{true, raw_lxc(true, kInfraPid)};
  o.started_at = 1000;
  REQUIRE(plan_container(running, pod, o).empty());

  o.drifted_devices = {"lxe-log", "mount0"};
  {
    const auto plan = plan_container(running, pod, o);
    REQUIRE(kinds(plan) == Kinds{K::RestoreDevices, K::MarkReconciled});
    CHECK(plan[0].reason.find("lxe-log, mount0") != std::string::npos);
  }
  // Created, not started: restored too, and before a start (lxe-init is one of them).
  ContainerRecord created = running;
  created.desired_state = ContainerState::Created;
  created.observed_state = ContainerObserved::Created;
  created.started_at = 0;
  ContainerObservation stopped = o;
  stopped.instance->running = false;
  stopped.started_at.reset();
  CHECK(kinds(plan_container(created, pod, stopped)) == Kinds{K::RestoreDevices, K::RecordCreated, K::MarkReconciled});
  ContainerRecord to_start = created;
  to_start.desired_state = ContainerState::Running;
  const Kinds start_plan = kinds(plan_container(to_start, pod, stopped));
  REQUIRE(contains(start_plan, K::RestoreDevices));
  CHECK(index_of(start_plan, K::RestoreDevices) < index_of(start_plan, K::StartInstance));
  // Exited or being removed: nothing to restore.
  ContainerRecord exited = running;
  exited.finished_at = 2000;
  exited.observed_state = ContainerObserved::Exited;
  CHECK_FALSE(contains(kinds(plan_container(exited, pod, stopped)), K::RestoreDevices));
  ContainerRecord removed = running;
  removed.desired_state = ContainerState::Removed;
  CHECK_FALSE(contains(kinds(plan_container(removed, pod, o)), K::RestoreDevices));

  // The pod's profile.
  SandboxObservation so = sandbox_observation(true, Infra::Running);
  REQUIRE(plan_sandbox(pod, {}, so).empty());
  so.drifted_profile_devices = {"lxe-resolv"};
  const auto plan = plan_sandbox(pod, {}, so);
  REQUIRE(kinds(plan) == Kinds{K::RestoreDevices, K::RecordReady, K::MarkReconciled});
  CHECK(plan[0].reason.find("lxe-resolv") != std::string::npos);
  SandboxWorld world{pod, so};
  world.apply(plan);
  CHECK(plan_sandbox(world.record, {}, world.observed).empty());
}

TEST_CASE("plan_container: volumes are staged before every start, and again for a running container without a restart",
          "[plan][container][volumes]") {
  const SandboxRecord pod = pod_record(Pod::Usable);
  ContainerRecord c = container_record({ContainerState::Running, Instance::Absent, false, false, false, false,
                                        Pod::Usable, false, false, false});
  ContainerObservation o;
  o.mounts = 2;
  {
    const auto plan = plan_container(c, pod, o);
    REQUIRE(kinds(plan) == Kinds{K::CreateInstance, K::StageVolumes, K::SyncNamespaces, K::StartInstance,
                                 K::RecordStarted, K::MarkReconciled});
    CHECK(plan[1].reason.find("before a start") != std::string::npos);
  }
  // The instance exists (created by CreateContainer): staged all the same, whatever was seen.
  o.instance = InstanceFacts{false, raw_lxc(true, kInfraPid)};
  CHECK(kinds(plan_container(c, pod, o)) ==
        Kinds{K::StageVolumes, K::StartInstance, K::RecordStarted, K::MarkReconciled});

  // Running and started: nothing, until a staged mount is gone (an lxe restart found it so).
  c.started_at = 1000;
  c.observed_state = ContainerObserved::Running;
  c.observed_generation = c.generation;
  o.instance->running = true;
  o.started_at = 1000;
  CHECK(plan_container(c, pod, o).empty());
  o.unstaged_volumes = {"mount1"};
  o.drifted_devices = {"mount1"};
  {
    const auto plan = plan_container(c, pod, o);
    REQUIRE(kinds(plan) == Kinds{K::StageVolumes, K::RestoreDevices, K::MarkReconciled});
    CHECK(plan[0].reason.find("mount1") != std::string::npos);
  }
  // Stopped by itself with a staged mount gone: only its exit is recorded.
  o.instance->running = false;
  o.unstaged_volumes.clear();
  o.exit = ExitRecord{0, 0, false, 2000};
  CHECK(kinds(plan_container(c, pod, o)) == Kinds{K::RecordExit, K::MarkReconciled});
}

TEST_CASE("plan_container: the exit reason names what ended the container", "[plan][container]") {
  const SandboxRecord pod = pod_record(Pod::Usable);
  ContainerRecord c = container_record({ContainerState::Running, Instance::Running, true, false, true, false,
                                        Pod::Usable, true, true, true});
  ContainerObservation o;
  o.started_at = 1000;
  auto reason_of_exit = [&](const ContainerObservation& obs) {
    for (const auto& a : plan_container(c, pod, obs))
      if (a.kind == K::RecordExit) return a.reason;
    return std::string("(no RecordExit)");
  };
  CHECK(reason_of_exit(o) == lxe::reconcile::kDeletedOutside);  // no instance
  o.instance = InstanceFacts{false, raw_lxc(true, kInfraPid)};
  CHECK(reason_of_exit(o) == lxe::reconcile::kStoppedOutside);  // stopped, and lxe-init wrote no exit
  o.exit = ExitRecord{3, 0, false, 2000};
  CHECK(reason_of_exit(o) == "the command ended");
}

TEST_CASE("plan_container: limits follow the pod's ceiling, and only a difference plans ApplyLimits", "[plan][update]") {
  SandboxRecord sandbox;
  sandbox.id = "s";
  sandbox.desired_state = SandboxState::Ready;
  sandbox.observed_state = SandboxObserved::Ready;
  sandbox.infra_pid = 42;
  ContainerRecord c;
  c.id = "c";
  c.sandbox_id = "s";
  c.desired_state = ContainerState::Running;
  c.observed_state = ContainerObserved::Running;
  c.started_at = 1;
  c.generation = c.observed_generation = 3;
  c.resources_json = R"({"memoryLimitInBytes": "536870912"})";
  ContainerObservation o;
  o.instance = InstanceFacts{};
  o.instance->running = true;
  o.instance->limits = {{"limits.memory", "536870912"}};
  o.started_at = 1;
  const auto kinds = [&] {
    std::vector<ActionKind> out;
    for (const auto& a : plan_container(c, sandbox, o)) out.push_back(a.kind);
    return out;
  };
  CHECK(kinds().empty());  // its own limit, no ceiling
  sandbox.resources_json = R"({"memoryLimitInBytes": "268435456"})";
  CHECK(kinds() == std::vector<ActionKind>{K::ApplyLimits, K::MarkReconciled});
  o.instance->limits = {{"limits.memory", "268435456"}};
  CHECK(kinds().empty());  // applied: level-triggered, nothing more to do
  sandbox.resources_json = R"({"memoryLimitInBytes": "1073741824"})";  // above its own: its own wins
  CHECK(kinds() == std::vector<ActionKind>{K::ApplyLimits, K::MarkReconciled});
}

TEST_CASE("plan_sandbox: a stopping pod's holder goes only after its containers have stopped", "[plan][sandbox]") {
  // Killing the holder first would take the pod's PID namespace, and with it containers that share
  // it, before their lxe-init recorded how they ended.
  SandboxRecord s = sandbox_record(SandboxState::NotReady, kInfraPid, SandboxObserved::Ready, false);
  SandboxObservation o;
  o.profile_exists = true;
  o.infra = InstanceFacts{true, ""};
  ContainerRecord stopping;
  stopping.id = std::string(64, 'b');
  stopping.desired_state = ContainerState::Exited;
  stopping.observed_state = ContainerObserved::Running;
  stopping.generation = 3;
  stopping.observed_generation = 2;
  const auto plan = plan_sandbox(s, {stopping}, o);
  REQUIRE(kinds(plan) == Kinds{K::Wait});
  CHECK_THAT(plan[0].reason, Catch::Contains("1 container(s) still stopping"));
  // Stopped (its exit recorded): the holder goes.
  ContainerRecord stopped = stopping;
  stopped.observed_state = ContainerObserved::Exited;
  stopped.observed_generation = 3;
  CHECK(kinds(plan_sandbox(s, {stopped}, o)) == Kinds{K::StopInfra, K::RecordNotReady, K::MarkReconciled});
  // The holder is gone already: nothing to wait for.
  o.infra->running = false;
  CHECK(kinds(plan_sandbox(s, {stopping}, o)) == Kinds{K::RecordNotReady, K::MarkReconciled});
}

TEST_CASE("plan_container: the stop's in-between state (workload dead, instance running) records the exit once",
          "[plan][container]") {
  ContainerCase base{ContainerState::Exited, Instance::Running, true, false, true, true, Pod::Usable, true, false, false};
  // lxe died after lxe-init recorded the exit and before lxe did: record it, no second stop.
  const SandboxRecord pod = pod_record(Pod::Usable);
  auto record = container_record(base);
  auto observed = container_observation(base, kInfraPid);
  CHECK(kinds(plan_container(record, pod, observed)) == Kinds{K::RecordExit, K::MarkReconciled});
  // Recorded, and the instance still runs (lxe-init not gone yet, or started again outside lxe):
  // its processes are killed; the exit stays as recorded.
  record.finished_at = 2000;
  record.observed_state = ContainerObserved::Exited;
  record.observed_generation = record.generation;
  CHECK(kinds(plan_container(record, pod, observed)) == Kinds{K::KillInstance, K::MarkReconciled});
  // Stopped: nothing.
  observed.instance->running = false;
  CHECK(plan_container(record, pod, observed).empty());
}

TEST_CASE("plan_sandbox: a pod whose namespaces lxe pins: no holder, pins made once, lost pins are NotReady for good",
          "[plan][sandbox][pinned]") {
  constexpr int64_t kNetns = 4026532999;
  constexpr std::optional<int64_t> kNone;
  struct Row {
    const char* name;
    SandboxState desired;
    bool profile;
    int64_t recorded;              // pinned_netns in the record
    std::optional<int64_t> pins;   // what the pins hold now
    const char* cni_state;         // "-": no CNI network
    int containers;
    SandboxObserved observed;
    bool gen_matches;
    Kinds expected;
  };
  const std::vector<Row> rows = {
      {"new pod", SandboxState::Ready, false, 0, kNone, "-", 0, SandboxObserved::Unknown, false,
       {K::CreateProfile, K::PinNamespaces, K::RecordReady, K::MarkReconciled}},
      {"new CNI pod", SandboxState::Ready, false, 0, kNone, "", 0, SandboxObserved::Unknown, false,
       {K::CreateProfile, K::PinNamespaces, K::RecordNetworkAdding, K::NetworkAdd, K::RecordReady, K::MarkReconciled}},
      {"crash after pinning, before recording it: pinned again", SandboxState::Ready, true, 0, kNetns + 1, "-", 0,
       SandboxObserved::Unknown, false, {K::PinNamespaces, K::RecordReady, K::MarkReconciled}},
      {"crash after recording the pins", SandboxState::Ready, true, kNetns, kNetns, "", 0, SandboxObserved::Unknown,
       false, {K::RecordNetworkAdding, K::NetworkAdd, K::RecordReady, K::MarkReconciled}},
      {"ready and reconciled", SandboxState::Ready, true, kNetns, kNetns, "added", 2, SandboxObserved::Ready, true, {}},
      {"ready, profile deleted behind lxe's back", SandboxState::Ready, false, kNetns, kNetns, "-", 0,
       SandboxObserved::Ready, true, {K::CreateProfile, K::RecordReady, K::MarkReconciled}},
      {"pins gone (host reboot)", SandboxState::Ready, true, kNetns, kNone, "added", 1, SandboxObserved::Ready, true,
       {K::RecordNotReady, K::MarkReconciled}},
      {"pins hold another namespace", SandboxState::Ready, true, kNetns, kNetns + 1, "-", 1, SandboxObserved::Ready,
       true, {K::RecordNotReady, K::MarkReconciled}},
      {"pins lost, already reported: never pinned again", SandboxState::Ready, true, kNetns, kNone, "-", 1,
       SandboxObserved::NotReady, true, {}},
      {"stop", SandboxState::NotReady, true, kNetns, kNetns, "added", 0, SandboxObserved::Ready, false,
       {K::NetworkDel, K::UnpinNamespaces, K::RecordNotReady, K::MarkReconciled}},
      {"stop, pins already gone", SandboxState::NotReady, true, kNetns, kNone, "-", 0, SandboxObserved::Ready, false,
       {K::RecordNotReady, K::MarkReconciled}},
      {"stopped and reconciled", SandboxState::NotReady, true, kNetns, kNone, "-", 0, SandboxObserved::NotReady, true,
       {}},
      {"remove a ready pod", SandboxState::Removed, true, kNetns, kNetns, "added", 0, SandboxObserved::Ready, false,
       {K::NetworkDel, K::UnpinNamespaces, K::MarkReconciled}},
      {"remove, containers still there", SandboxState::Removed, true, kNetns, kNetns, "-", 2, SandboxObserved::Ready,
       false, {K::Wait}},
      {"removed for CRI: the profile goes, no holder to delete", SandboxState::Removed, true, kNetns, kNone, "-", 0,
       SandboxObserved::NotReady, true, {K::DeleteProfile, K::EraseRecord}},
      {"removed for CRI, pins back (crash in the unpin)", SandboxState::Removed, true, kNetns, kNetns, "-", 0,
       SandboxObserved::NotReady, true, {K::UnpinNamespaces, K::DeleteProfile, K::EraseRecord}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto record = sandbox_record(row.desired, 0, row.observed, row.gen_matches);
    record.pod_namespaces = lxe::store::PodNamespaces::Pinned;
    record.pinned_netns = row.recorded;
    if (std::string(row.cni_state) != "-") {
      record.pod_network = "cni:podnet";
      record.cni_network = R"({"name":"podnet","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})";
      record.cni_state = row.cni_state;
    }
    auto observed = sandbox_observation(row.profile, Infra::Absent);
    observed.pinned_netns = row.pins;
    const auto plan = plan_sandbox(record, some_containers(row.containers, record.id), observed);
    check_shape(plan);
    CHECK(kinds(plan) == row.expected);
    // Never a holder.
    for (const auto k : {K::CreateInfra, K::StartInfra, K::RecordInfraPid, K::StopInfra, K::DeleteInfra})
      CHECK_FALSE(contains(kinds(plan), k));
  }
}

TEST_CASE("plan_container: a pinned pod's containers join its pins by path, and only a PID line means a resync",
          "[plan][container][pinned]") {
  SandboxRecord pod = sandbox_record(SandboxState::Ready, 0, SandboxObserved::Ready, true);
  pod.pod_namespaces = lxe::store::PodNamespaces::Pinned;
  pod.pinned_netns = 4026532999;
  ContainerRecord c;
  c.id = std::string(64, 'b');
  c.sandbox_id = pod.id;
  c.lxd_name = "lxe-web-app-bbbbbbbbbbbb";
  c.desired_state = ContainerState::Running;
  const auto refs = lxe::reconcile::pinned_refs("/var/lib/lxe/namespaces/" + pod.id);
  const std::string joined = "lxc.namespace.share.net = " + refs.network + "\nlxc.namespace.share.user = " + refs.user +
                             "\nlxc.namespace.share.ipc = " + refs.ipc + "\n";
  auto plan_with_raw = [&](const std::string& raw) {
    ContainerObservation o;
    o.instance = InstanceFacts{false, raw};
    o.pod_refs = refs;
    return kinds(plan_container(c, pod, o));
  };
  const Kinds start{K::StartInstance, K::RecordStarted, K::MarkReconciled};
  const Kinds sync_start{K::SyncNamespaces, K::StartInstance, K::RecordStarted, K::MarkReconciled};
  CHECK(plan_with_raw(joined) == start);
  CHECK(plan_with_raw("lxc.uts.name = web\n" + joined) == start);
  CHECK(plan_with_raw("") == sync_start);                        // created before the pins were made
  CHECK(plan_with_raw(namespace_share_lines(kInfraPid)) == sync_start);  // names a holder
  CHECK(plan_with_raw(joined + "lxc.namespace.share.pid = 77\n") == sync_start);
  // Not made yet: the container waits (the pod is not usable).
  pod.pinned_netns = 0;
  CHECK(plan_with_raw(joined) == Kinds{K::Wait});
}
