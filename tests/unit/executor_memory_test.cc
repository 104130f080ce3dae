// The executor against the in-memory LXD: every action of plan.h, its effect in LXD and on the host,
// and the store commit after it; then every action that calls LXD with each of LXD's failures
// injected (unreachable, slow, refusing, missing, taken, busy): the outcome, what the record and the
// event log keep, that nothing else of the record is lost, and that running the action again once
// LXD answers completes it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "reconcile/executor.h"
#include "reconcile/idmapped_mount.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"
#include "model/stored_config.h"
#include "reconcile/plan.h"
#include "support/init_spec.h"
#include "support/memory_fixture.h"

namespace fs = std::filesystem;
using lxe::lxd::ErrorKind;
using lxe::reconcile::Action;
using lxe::reconcile::ActionKind;
using lxe::reconcile::Outcome;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::EventOutcome;
using lxe::store::FailureKind;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::test::MemoryLxd;
using Op = MemoryLxd::Op;

namespace {

struct Bed : lxe::test::MemoryFixture {
  lxe::reconcile::Executor executor{registry, lxd, files, volumes, {}};

  Outcome run(const SandboxRecord& s, std::vector<ActionKind> kinds) {
    std::vector<Action> plan;
    for (auto k : kinds) plan.push_back({k, "test"});
    return executor.run(s, plan);
  }
  Outcome run(const ContainerRecord& c, std::vector<ActionKind> kinds) {
    std::vector<Action> plan;
    for (auto k : kinds) plan.push_back({k, "test"});
    return executor.run(c, sandbox(c.sandbox_id), plan);
  }

  // A sandbox as RunPodSandbox leaves it: profile, running holder, PID recorded, ready.
  SandboxRecord ready_sandbox() {
    const auto s = add_sandbox();
    REQUIRE(run(s, {ActionKind::CreateProfile, ActionKind::CreateInfra, ActionKind::StartInfra,
                    ActionKind::RecordInfraPid, ActionKind::RecordReady, ActionKind::MarkReconciled}) ==
            Outcome::Done);
    return sandbox(s.id);
  }
  // A container as CreateContainer leaves it: its instance exists, stopped.
  ContainerRecord created_container(const SandboxRecord& s, const std::string& name = "app") {
    const auto c = add_container(s, name);
    REQUIRE(run(c, {ActionKind::CreateInstance, ActionKind::RecordCreated, ActionKind::MarkReconciled}) ==
            Outcome::Done);
    return container(c.id);
  }
  // The desired state moved on (a CRI call changed it): the next generation, to be planned.
  ContainerRecord want(ContainerRecord c, ContainerState state) {
    c.desired_state = state;
    c.generation += 1;
    put(c);
    return container(c.id);
  }
  SandboxRecord want(SandboxRecord s, SandboxState state) {
    s.desired_state = state;
    s.generation += 1;
    put(s);
    return sandbox(s.id);
  }
  // As StartContainer leaves it: running, start recorded.
  ContainerRecord running_container(const SandboxRecord& s, const std::string& name = "app") {
    const auto c = want(created_container(s, name), ContainerState::Running);
    REQUIRE(run(c, {ActionKind::SyncNamespaces, ActionKind::StartInstance, ActionKind::RecordStarted,
                    ActionKind::MarkReconciled}) == Outcome::Done);
    return container(c.id);
  }

  std::vector<std::string> actions_logged(const std::string& id, EventOutcome outcome) const {
    std::vector<std::string> out;
    for (const auto& e : events_of(id))
      if (e.outcome == outcome) out.push_back(e.action);
    return out;
  }
};

// Gives a stored container the CRI mounts `mounts` (host path, container path, read-only).
ContainerRecord with_mounts(Bed& bed, ContainerRecord c,
                            const std::vector<std::tuple<std::string, std::string, bool>>& mounts) {
  auto config = lxe::model::parse_container_config(c.config_json);
  for (const auto& [host, path, readonly] : mounts) {
    auto* m = config.add_mounts();
    m->set_host_path(host);
    m->set_container_path(path);
    m->set_readonly(readonly);
  }
  c.config_json = lxe::model::to_json(config);
  bed.put(c);
  return bed.container(c.id);
}

}  // namespace

// ---- sandbox actions ------------------------------------------------------------------------

TEST_CASE("executor: create-profile makes the pod's profile, marked as lxe's, and its resolv.conf", "[executor]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  CHECK(bed.run(s, {ActionKind::CreateProfile}) == Outcome::Done);
  const auto profile = bed.lxd.profile(s.lxd_name);
  REQUIRE(profile);
  CHECK(profile->config.at(lxe::model::kIdKey) == s.id);
  CHECK(profile->config.at(lxe::model::kManagedKey) == "true");
  CHECK(profile->devices.at("lxe-resolv").at("path") == "/etc/resolv.conf");
  CHECK_THAT(lxe::test::read_file(bed.files.sandbox_dir(s.id) + "/resolv.conf"),
             Catch::Contains("nameserver 10.96.0.10"));
  CHECK(bed.actions_logged(s.id, EventOutcome::Ok) == std::vector<std::string>{"create-profile"});

  // Made by an attempt that crashed before recording it: found, and fine because it is lxe's.
  CHECK(bed.run(s, {ActionKind::CreateProfile}) == Outcome::Done);
  // Someone else's profile of that name is not.
  const auto other = bed.add_sandbox("other");
  bed.lxd.create_profile({other.lxd_name, "not lxe's", {}, {}});
  CHECK(bed.run(other, {ActionKind::CreateProfile}) == Outcome::Failed);
  CHECK_THAT(bed.sandbox(other.id).last_error, Catch::StartsWith("create-profile: ") && Catch::Contains("already exists"));
}

TEST_CASE("executor: create-infra imports the holder image once and creates the stopped holder", "[executor]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  REQUIRE(bed.run(s, {ActionKind::CreateProfile}) == Outcome::Done);
  CHECK(bed.run(s, {ActionKind::CreateInfra}) == Outcome::Done);
  const auto holder = bed.lxd.instance(s.lxd_name);
  REQUIRE(holder);
  CHECK_FALSE(holder->running());
  CHECK(holder->profiles == std::vector<std::string>{"default", s.lxd_name});
  CHECK(holder->config.at(lxe::model::kIdKey) == s.id);
  CHECK(holder->config.at("volatile.base_image") == bed.lxd.get_image_alias("lxe-pause").target);
  CHECK(bed.lxd.count(Op::ImportImage) == 1);

  // A second pod uses the image that is there.
  const auto s2 = bed.add_sandbox("web2");
  REQUIRE(bed.run(s2, {ActionKind::CreateProfile, ActionKind::CreateInfra}) == Outcome::Done);
  CHECK(bed.lxd.count(Op::ImportImage) == 1);
}

TEST_CASE("executor: start-infra and record-infra-pid: the holder runs, its PID is recorded", "[executor]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  REQUIRE(bed.run(s, {ActionKind::CreateProfile, ActionKind::CreateInfra}) == Outcome::Done);
  CHECK(bed.run(s, {ActionKind::StartInfra}) == Outcome::Done);
  CHECK(bed.lxd.instance(s.lxd_name)->running());
  CHECK(bed.sandbox(s.id).infra_pid == 0);
  CHECK(bed.run(s, {ActionKind::RecordInfraPid}) == Outcome::Done);
  const int64_t pid = bed.lxd.get_instance_state(s.lxd_name).pid;
  CHECK(pid > 0);
  CHECK(bed.sandbox(s.id).infra_pid == pid);
  CHECK(bed.events_of(s.id).back().detail == "test: pid " + std::to_string(pid));
}

TEST_CASE("executor: record-infra-pid of a holder that has no PID is an error, not PID 0", "[executor]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  REQUIRE(bed.run(s, {ActionKind::CreateProfile, ActionKind::CreateInfra}) == Outcome::Done);
  CHECK(bed.run(s, {ActionKind::RecordInfraPid}) == Outcome::Failed);  // stopped: PID 0
  CHECK_THAT(bed.sandbox(s.id).last_error, Catch::Contains("has no PID"));
  CHECK(bed.sandbox(s.id).infra_pid == 0);
}

TEST_CASE("executor: record-ready, record-notready and mark-reconciled only write the record", "[executor]") {
  Bed bed;
  auto s = bed.add_sandbox();
  s.set_failure(FailureKind::Refused, "an earlier failure");
  bed.put(s);
  s = bed.sandbox(s.id);
  bed.lxd.clear_calls();
  CHECK(bed.run(s, {ActionKind::RecordReady}) == Outcome::Done);
  CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::Ready);
  CHECK(bed.run(s, {ActionKind::RecordNotReady}) == Outcome::Done);
  CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::NotReady);
  CHECK(bed.run(s, {ActionKind::MarkReconciled}) == Outcome::Done);
  CHECK(bed.sandbox(s.id).observed_generation == s.generation);
  CHECK(bed.sandbox(s.id).last_error.empty());
  CHECK(bed.sandbox(s.id).last_error_kind == FailureKind::None);
  CHECK(bed.lxd.calls().empty());
  CHECK(bed.actions_logged(s.id, EventOutcome::Ok) ==
        std::vector<std::string>{"record-ready", "record-notready", "mark-reconciled"});
}

TEST_CASE("executor: restore-devices puts back the profile devices edited outside lxe, only those", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto wanted = bed.lxd.profile(s.lxd_name)->devices.at("lxe-resolv");
  bed.lxd.edit_profile(s.lxd_name, [](lxe::lxd::Profile& p) {
    p.devices.erase("lxe-resolv");
    p.devices["theirs"] = {{"type", "disk"}, {"source", "/srv"}, {"path", "/srv"}};
  });
  REQUIRE(bed.executor.observe_sandbox(s).drifted_profile_devices == std::vector<std::string>{"lxe-resolv"});
  CHECK(bed.run(s, {ActionKind::RestoreDevices}) == Outcome::Done);
  const auto profile = bed.lxd.profile(s.lxd_name);
  CHECK(profile->devices.at("lxe-resolv") == wanted);
  CHECK(profile->devices.count("theirs") == 1);  // not lxe's: left alone
  const auto patches = bed.lxd.calls(Op::PatchProfile);
  REQUIRE(patches.size() == 1);
  CHECK(patches[0].body["devices"].size() == 1);
  CHECK(bed.executor.observe_sandbox(s).drifted_profile_devices.empty());
}

TEST_CASE("executor: stop-infra stops the holder by force; delete-infra and delete-profile remove it all",
          "[executor]") {
  Bed bed;
  const auto s = bed.want(bed.ready_sandbox(), SandboxState::Removed);
  CHECK(bed.run(s, {ActionKind::StopInfra}) == Outcome::Done);
  CHECK_FALSE(bed.lxd.instance(s.lxd_name)->running());
  CHECK(bed.lxd.calls(Op::StopInstance).at(0).body["mode"] == "force");
  CHECK(bed.run(s, {ActionKind::DeleteInfra}) == Outcome::Done);
  CHECK_FALSE(bed.lxd.instance(s.lxd_name));
  CHECK(bed.run(s, {ActionKind::DeleteProfile}) == Outcome::Done);
  CHECK_FALSE(bed.lxd.profile(s.lxd_name));
  // Gone already (a person deleted them, or an earlier attempt did): nothing to do, no error.
  CHECK(bed.run(s, {ActionKind::DeleteInfra, ActionKind::DeleteProfile}) == Outcome::Done);
  CHECK(bed.sandbox(s.id).last_error.empty());
}

TEST_CASE("executor: erase-record of a sandbox removes the record and its host folder", "[executor]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  REQUIRE(bed.run(s, {ActionKind::CreateProfile}) == Outcome::Done);  // writes resolv.conf
  REQUIRE(fs::exists(bed.files.sandbox_dir(s.id)));
  CHECK(bed.run(s, {ActionKind::EraseRecord, ActionKind::MarkReconciled}) == Outcome::Done);
  CHECK_FALSE(bed.registry.sandbox(s.id));
  CHECK_FALSE(fs::exists(bed.files.sandbox_dir(s.id)));
  // The event log keeps the erasure, and nothing after it.
  CHECK(bed.actions_logged(s.id, EventOutcome::Ok) == std::vector<std::string>{"create-profile", "erase-record"});
}

TEST_CASE("executor: wait does nothing and says so", "[executor]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  bed.lxd.clear_calls();
  CHECK(bed.run(s, {ActionKind::Wait}) == Outcome::Waiting);
  CHECK(bed.events_of(s.id).empty());
  CHECK(bed.lxd.calls().empty());
}

// ---- container actions ----------------------------------------------------------------------

TEST_CASE("executor: create-instance writes the spec and log file, creates the instance, gives the files to its root",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.add_container(s);
  CHECK(bed.run(c, {ActionKind::CreateInstance}) == Outcome::Done);
  const auto instance = bed.lxd.instance(c.lxd_name);
  REQUIRE(instance);
  CHECK_FALSE(instance->running());
  CHECK(instance->config.at(lxe::model::kIdKey) == c.id);
  CHECK(instance->config.at("volatile.base_image") == bed.image_fingerprint);
  CHECK(instance->devices.at("lxe-state").at("source") == bed.files.container_dir(c.id));
  CHECK_THAT(lxe::test::read_file(bed.files.container_dir(c.id) + "/spec.json"), Catch::Contains("3600"));
  REQUIRE(fs::exists(c.log_path));
  struct stat st {};
  REQUIRE(::stat(bed.files.container_dir(c.id).c_str(), &st) == 0);
  CHECK(st.st_uid == 1000000);  // MemoryLxd's idmap: the container's root
  REQUIRE(::stat(c.log_path.c_str(), &st) == 0);
  CHECK(st.st_gid == 1000000);

  // Created by an attempt whose answer was lost: adopted, since it is lxe's.
  CHECK(bed.run(c, {ActionKind::CreateInstance}) == Outcome::Done);
  CHECK(bed.container(c.id).last_error.empty());
}

TEST_CASE("executor: create-instance over an instance of that name that is not lxe's fails and leaves it alone",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.add_container(s);
  lxe::lxd::InstanceSpec theirs;
  theirs.name = c.lxd_name;
  theirs.config = {{"user.owner", "someone"}};
  theirs.source.type = "none";
  bed.lxd.add_instance(theirs, true);
  CHECK(bed.run(c, {ActionKind::CreateInstance}) == Outcome::Failed);
  CHECK_THAT(bed.container(c.id).last_error, Catch::StartsWith("create-instance: "));
  CHECK(bed.lxd.instance(c.lxd_name)->config.at("user.owner") == "someone");
  CHECK(bed.lxd.instance(c.lxd_name)->running());
}

TEST_CASE("executor: record-created and record-started write the observed state; the start time is lxe-init's",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.created_container(s);
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Created);
  bed.write_started(c.id, 1234567890);
  bed.lxd.clear_calls();
  CHECK(bed.run(c, {ActionKind::RecordStarted}) == Outcome::Done);
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Running);
  CHECK(bed.container(c.id).started_at == 1234567890);
  CHECK(bed.lxd.calls().empty());
}

TEST_CASE("executor: sync-namespaces points raw.lxc at the pod's holder PID", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.created_container(s);
  CHECK(bed.run(c, {ActionKind::SyncNamespaces}) == Outcome::Done);
  CHECK_THAT(bed.lxd.instance(c.lxd_name)->config.at("raw.lxc"),
             Catch::Contains(lxe::reconcile::namespace_share_lines(s.infra_pid)));
}

TEST_CASE("executor: start-instance clears the previous run's records and starts the instance", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.want(bed.created_container(s), ContainerState::Running);
  bed.write_started(c.id, 1);
  bed.write_exit(c.id, 3);
  CHECK(bed.run(c, {ActionKind::StartInstance}) == Outcome::Done);
  CHECK(bed.lxd.instance(c.lxd_name)->running());
  CHECK_FALSE(bed.files.read_started_at(c.id));
  CHECK_FALSE(bed.files.read_exit(c.id));
}

TEST_CASE("executor: stop-instance stops gracefully for the record's stop timeout; kill-instance by force",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.want(bed.running_container(s), ContainerState::Exited);
  c.stop_timeout = 7;
  bed.put(c);
  c = bed.container(c.id);
  CHECK(bed.run(c, {ActionKind::StopInstance}) == Outcome::Done);
  CHECK_FALSE(bed.lxd.instance(c.lxd_name)->running());
  auto stops = bed.lxd.calls(Op::StopInstance);
  REQUIRE(stops.size() == 1);
  CHECK(stops[0].body == nlohmann::json{{"mode", "graceful"}, {"timeout", 7}});

  const auto k = bed.want(bed.running_container(bed.sandbox(s.id), "second"), ContainerState::Removed);
  CHECK(bed.run(k, {ActionKind::KillInstance}) == Outcome::Done);
  CHECK_FALSE(bed.lxd.instance(k.lxd_name)->running());
  stops = bed.lxd.calls(Op::StopInstance);
  CHECK(stops.back().body["mode"] == "force");
  // Stopping what is stopped already is done, not an error.
  CHECK(bed.run(k, {ActionKind::KillInstance}) == Outcome::Done);
}

TEST_CASE("executor: record-exit takes lxe-init's exit record, else what the stop tells", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  SECTION("lxe-init wrote the exit") {
    const auto c = bed.want(bed.running_container(s), ContainerState::Exited);
    bed.write_exit(c.id, 3);
    CHECK(bed.run(c, {ActionKind::RecordExit}) == Outcome::Done);
    const auto now = bed.container(c.id);
    CHECK(now.observed_state == ContainerObserved::Exited);
    CHECK(now.exit_code == 3);
    CHECK(now.reason == "Error");
    CHECK(now.finished_at > 0);
    CHECK(bed.events_of(c.id).back().detail == "test: exit code 3");
  }
  SECTION("no exit record: killed") {
    const auto c = bed.want(bed.running_container(s), ContainerState::Exited);
    CHECK(bed.run(c, {ActionKind::RecordExit}) == Outcome::Done);
    CHECK(bed.container(c.id).exit_code == 137);
    CHECK(bed.container(c.id).message == "test");
  }
}

TEST_CASE("executor: apply-limits patches the record's resources into limits.*, limits.cpu on its own",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.created_container(s);
  c.resources_json = R"({"memory_limit_in_bytes": "268435456", "cpuset_cpus": "0", "cpu_quota": "50000", "cpu_period": "100000"})";
  c.generation += 1;
  bed.put(c);
  c = bed.container(c.id);
  bed.lxd.clear_calls();
  CHECK(bed.run(c, {ActionKind::ApplyLimits}) == Outcome::Done);
  const auto config = bed.lxd.instance(c.lxd_name)->config;
  CHECK(config.at("limits.memory") == "268435456");
  CHECK(config.at("limits.cpu") == "0-0");  // LXD's range form of a cpuset
  bool cpu_alone = false;
  for (const auto& call : bed.lxd.calls(Op::PatchInstance))
    if (call.body["config"].contains("limits.cpu")) cpu_alone = call.body["config"].size() == 1;
  CHECK(cpu_alone);
}

TEST_CASE("executor: restore-devices puts back the container's devices removed outside lxe", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.running_container(s);
  const auto wanted = bed.lxd.instance(c.lxd_name)->devices.at("lxe-state");
  bed.lxd.edit_instance(c.lxd_name, [](lxe::lxd::Instance& i) { i.devices.erase("lxe-state"); });
  REQUIRE(bed.executor.observe_container(c, s).drifted_devices == std::vector<std::string>{"lxe-state"});
  CHECK(bed.run(c, {ActionKind::RestoreDevices}) == Outcome::Done);
  CHECK(bed.lxd.instance(c.lxd_name)->devices.at("lxe-state") == wanted);
  CHECK(bed.lxd.instance(c.lxd_name)->running());  // hot-plugged: no restart
}

namespace {

// A host that stages idmapped volumes, and an image whose rootfs has /var/run -> ../run, in the
// memory LXD's default pool (the default profile gets the root disk LXD's has).
struct VolumeBed : Bed {
  lxe::reconcile::Volumes staged{files, [] { return lxe::reconcile::VolumeSupport{true, ""}; }};
  lxe::reconcile::Executor staging{registry, lxd, files, staged, {}};
  std::string host = dir.file("host");
  std::string host_file = dir.file("host-file");

  VolumeBed() {
    fs::create_directories(host);
    lxe::test::write_file(host + "/inside", "x\n");
    lxe::test::write_file(host_file, "f\n");
    lxd.edit_profile("default", [](lxe::lxd::Profile& p) {
      p.devices["root"] = {{"type", "disk"}, {"path", "/"}, {"pool", "default"}};
    });
  }
  Outcome stage_run(const ContainerRecord& c, std::vector<ActionKind> kinds) {
    std::vector<Action> plan;
    for (auto k : kinds) plan.push_back({k, "test"});
    return staging.run(c, sandbox(c.sandbox_id), plan);
  }
  // The container's rootfs as LXD unpacks it at creation.
  void make_rootfs(const ContainerRecord& c) const {
    const std::string root = dir.file("lxd/storage-pools/default/containers/" + c.lxd_name + "/rootfs");
    fs::create_directories(root + "/run");
    fs::create_directories(root + "/var");
    fs::create_directories(root + "/etc");
    fs::create_symlink("../run", root + "/var/run");
  }
  ContainerRecord container_with_volumes(const SandboxRecord& s) {
    auto c = with_mounts(*this, add_container(s), {{host, "/var/run/data", true}, {host_file, "/etc/f", false}});
    REQUIRE(stage_run(c, {ActionKind::CreateInstance, ActionKind::RecordCreated, ActionKind::MarkReconciled}) ==
            Outcome::Done);
    make_rootfs(c);
    return container(c.id);
  }
  std::string stage(const ContainerRecord& c, int n) const { return files.volume_stage(c.id, n); }
};

}  // namespace

TEST_CASE("executor: stage-volumes resolves container paths in the rootfs, stages idmapped mounts and points the "
          "devices at them; erase-record unmounts them",
          "[executor][volumes]") {
  VolumeBed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.container_with_volumes(s);
  // Created with empty mount points (LXD wants a disk's source to exist) at the paths as given.
  {
    const auto devices = bed.lxd.instance(c.lxd_name)->devices;
    CHECK(devices.at("mount0").at("source") == bed.stage(c, 0));
    CHECK(devices.at("mount0").at("path") == "/var/run/data");
    CHECK(fs::is_directory(bed.stage(c, 0)));
    CHECK(fs::is_regular_file(bed.stage(c, 1)));
    CHECK_FALSE(lxe::reconcile::is_mount_point(bed.stage(c, 0)));
  }
  c = bed.want(c, ContainerState::Running);
  const size_t patches = bed.lxd.count(Op::PatchInstance);
  CHECK(bed.stage_run(c, {ActionKind::StageVolumes}) == Outcome::Done);
  {
    const auto devices = bed.lxd.instance(c.lxd_name)->devices;
    CHECK(devices.at("mount0") == std::map<std::string, std::string>{{"type", "disk"},
                                                                      {"source", bed.stage(c, 0)},
                                                                      {"path", "/run/data"},
                                                                      {"readonly", "true"}});
    CHECK(devices.at("mount1").at("path") == "/etc/f");
  }
  CHECK(bed.lxd.count(Op::PatchInstance) == patches + 1);
  CHECK(lxe::reconcile::is_mount_point(bed.stage(c, 0)));
  CHECK(lxe::reconcile::is_mount_point(bed.stage(c, 1)));
  struct stat st {};
  REQUIRE(::stat((bed.stage(c, 0) + "/inside").c_str(), &st) == 0);
  CHECK(st.st_uid == 1000000);  // the memory LXD's idmap: host root is the container's root
  CHECK(bed.actions_logged(c.id, EventOutcome::Ok).back() == "stage-volumes");

  // Again (the next start attempt): nothing to change.
  CHECK(bed.stage_run(c, {ActionKind::StageVolumes}) == Outcome::Done);
  CHECK(bed.lxd.count(Op::PatchInstance) == patches + 1);

  // Removed: unmounted and gone, the host's files where they were.
  c = bed.want(bed.container(c.id), ContainerState::Removed);
  CHECK(bed.stage_run(c, {ActionKind::DeleteInstance, ActionKind::EraseRecord}) == Outcome::Done);
  CHECK_FALSE(fs::exists(bed.files.volume_dir(c.id)));
  CHECK(lxe::test::read_file(bed.host + "/inside") == "x\n");
}

TEST_CASE("executor: a running container's staged mount that is gone is seen and made again, the instance untouched",
          "[executor][volumes]") {
  VolumeBed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.want(bed.container_with_volumes(s), ContainerState::Running);
  REQUIRE(bed.stage_run(c, {ActionKind::StageVolumes, ActionKind::SyncNamespaces, ActionKind::StartInstance,
                            ActionKind::RecordStarted, ActionKind::MarkReconciled}) == Outcome::Done);
  c = bed.container(c.id);
  const int64_t pid = bed.lxd.get_instance_state(c.lxd_name).pid;
  CHECK(bed.staging.observe_container(c, s).unstaged_volumes.empty());

  lxe::reconcile::unmount_all_under(bed.stage(c, 0));
  const auto observed = bed.staging.observe_container(c, s);
  CHECK(observed.unstaged_volumes == std::vector<std::string>{"mount0"});
  CHECK(observed.drifted_devices.empty());
  const size_t patches = bed.lxd.count(Op::PatchInstance), starts = bed.lxd.count(Op::StartInstance);
  CHECK(bed.stage_run(c, {ActionKind::StageVolumes}) == Outcome::Done);
  CHECK(lxe::reconcile::is_mount_point(bed.stage(c, 0)));
  CHECK(bed.lxd.count(Op::PatchInstance) == patches);
  CHECK(bed.lxd.count(Op::StartInstance) == starts);
  CHECK(bed.lxd.count(Op::StopInstance) == 0);
  CHECK(bed.lxd.get_instance_state(c.lxd_name).pid == pid);
  // The paths stay the ones resolved before the first start, whatever the rootfs says now.
  CHECK(bed.lxd.instance(c.lxd_name)->devices.at("mount0").at("path") == "/run/data");
  bed.staged.remove(c.id);
}

TEST_CASE("executor: stage-volumes of an instance without a root disk, or in a pool LXD does not have, fails naming it",
          "[executor][volumes]") {
  VolumeBed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.want(bed.container_with_volumes(s), ContainerState::Running);
  bed.lxd.edit_profile("default", [](lxe::lxd::Profile& p) { p.devices["root"]["pool"] = "elsewhere"; });
  CHECK(bed.stage_run(c, {ActionKind::StageVolumes}) == Outcome::Failed);
  CHECK_THAT(bed.container(c.id).last_error, Catch::StartsWith("stage-volumes: ") && Catch::Contains("not found"));
  bed.lxd.edit_profile("default", [](lxe::lxd::Profile& p) { p.devices.clear(); });
  CHECK(bed.stage_run(c, {ActionKind::StageVolumes}) == Outcome::Failed);
  CHECK_THAT(bed.container(c.id).last_error, Catch::Contains("no root disk"));
  bed.staged.remove(c.id);
}

TEST_CASE("executor: delete-instance and erase-record remove a container from LXD, the host and the store",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.want(bed.created_container(s), ContainerState::Removed);
  CHECK(bed.run(c, {ActionKind::DeleteInstance}) == Outcome::Done);
  CHECK_FALSE(bed.lxd.instance(c.lxd_name));
  CHECK(bed.run(c, {ActionKind::DeleteInstance}) == Outcome::Done);  // gone already: fine
  CHECK(bed.run(c, {ActionKind::EraseRecord}) == Outcome::Done);
  CHECK_FALSE(bed.registry.container(c.id));
  CHECK_FALSE(fs::exists(bed.files.container_dir(c.id)));
  // A container record that is gone ends a plan without error.
  CHECK(bed.run(c, {ActionKind::MarkReconciled}) == Outcome::Done);
}

TEST_CASE("executor: deleting a running instance is refused by LXD and recorded, the record kept", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.want(bed.running_container(s), ContainerState::Removed);
  CHECK(bed.run(c, {ActionKind::DeleteInstance, ActionKind::EraseRecord}) == Outcome::Failed);
  CHECK_THAT(bed.container(c.id).last_error, Catch::Contains("delete-instance") && Catch::Contains("Instance is running"));
  CHECK(bed.lxd.instance(c.lxd_name));
}

TEST_CASE("executor: a plan stops at a new generation and says replan", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.want(bed.created_container(s), ContainerState::Running);
  // StopContainer arrives while the start is under way.
  bed.lxd.set_hook([&](const MemoryLxd::Call& call) {
    if (call.op == Op::StartInstance) bed.want(bed.container(c.id), ContainerState::Exited);
  });
  CHECK(bed.run(c, {ActionKind::SyncNamespaces, ActionKind::StartInstance, ActionKind::RecordStarted,
                    ActionKind::MarkReconciled}) == Outcome::Replan);
  const auto now = bed.container(c.id);
  CHECK(now.generation == c.generation + 1);
  CHECK(now.observed_generation < c.generation);  // generation 2 was not marked reconciled
  CHECK(bed.actions_logged(c.id, EventOutcome::Ok).back() == "start-instance");
}

// ---- LXD's failures, for every action that calls LXD -----------------------------------------

namespace {

struct Target {
  SandboxRecord sandbox;
  std::optional<ContainerRecord> container;
};

struct ActionCase {
  ActionKind kind;
  Op op;                   // the call the failure is injected into
  bool missing_is_done;    // deleting what is gone is success
  std::function<Target(Bed&)> setup;
  // A delete waits out LXD's "busy" (its teardown of an instance whose processes lxe killed).
  bool waits_out_busy = false;
};

std::vector<ActionCase> action_cases() {
  auto sandbox_only = [](Bed& bed, std::vector<ActionKind> before) {
    const auto s = bed.add_sandbox();
    if (!before.empty()) REQUIRE(bed.run(s, before) == Outcome::Done);
    return Target{bed.sandbox(s.id), std::nullopt};
  };
  auto drifted_sandbox = [](Bed& bed) {
    const auto s = bed.ready_sandbox();
    bed.lxd.edit_profile(s.lxd_name, [](lxe::lxd::Profile& p) { p.devices.clear(); });
    return Target{s, std::nullopt};
  };
  auto removed_sandbox = [](Bed& bed, std::vector<ActionKind> before) {
    const auto s = bed.want(bed.ready_sandbox(), SandboxState::Removed);
    if (!before.empty()) REQUIRE(bed.run(s, before) == Outcome::Done);
    return Target{bed.sandbox(s.id), std::nullopt};
  };
  auto created = [](Bed& bed, ContainerState want) {
    const auto s = bed.ready_sandbox();
    return Target{s, bed.want(bed.created_container(s), want)};
  };
  auto running = [](Bed& bed, ContainerState want) {
    const auto s = bed.ready_sandbox();
    return Target{s, bed.want(bed.running_container(s), want)};
  };
  using K = ActionKind;
  return {
      {K::CreateProfile, Op::CreateProfile, false, [=](Bed& b) { return sandbox_only(b, {}); }},
      {K::CreateInfra, Op::CreateInstance, false, [=](Bed& b) { return sandbox_only(b, {K::CreateProfile}); }},
      {K::StartInfra, Op::StartInstance, false,
       [=](Bed& b) { return sandbox_only(b, {K::CreateProfile, K::CreateInfra}); }},
      {K::RecordInfraPid, Op::GetInstanceState, false,
       [=](Bed& b) { return sandbox_only(b, {K::CreateProfile, K::CreateInfra, K::StartInfra}); }},
      {K::RestoreDevices, Op::PatchProfile, false, drifted_sandbox},
      {K::StopInfra, Op::StopInstance, false, [=](Bed& b) { return removed_sandbox(b, {}); }},
      {K::DeleteInfra, Op::DeleteInstance, true, [=](Bed& b) { return removed_sandbox(b, {K::StopInfra}); }, true},
      {K::DeleteProfile, Op::DeleteProfile, true,
       [=](Bed& b) { return removed_sandbox(b, {K::StopInfra, K::DeleteInfra}); }},
      {K::CreateInstance, Op::CreateInstance, false,
       [](Bed& b) {
         const auto s = b.ready_sandbox();
         return Target{s, b.add_container(s)};
       }},
      {K::SyncNamespaces, Op::PatchInstance, false, [=](Bed& b) { return created(b, ContainerState::Running); }},
      {K::StartInstance, Op::StartInstance, false, [=](Bed& b) { return created(b, ContainerState::Running); }},
      {K::ApplyLimits, Op::PatchInstance, false,
       [=](Bed& b) {
         auto t = created(b, ContainerState::Created);
         t.container->resources_json = R"({"memory_limit_in_bytes": "268435456"})";
         b.put(*t.container);
         t.container = b.container(t.container->id);
         return t;
       }},
      {K::RestoreDevices, Op::PatchInstance, false,
       [=](Bed& b) {
         auto t = running(b, ContainerState::Running);
         b.lxd.edit_instance(t.container->lxd_name, [](lxe::lxd::Instance& i) { i.devices.erase("lxe-init"); });
         return t;
       }},
      {K::StageVolumes, Op::GetInstance, false,
       [=](Bed& b) {
         auto t = created(b, ContainerState::Running);
         b.lxd.edit_profile("default", [](lxe::lxd::Profile& p) {
           p.devices["root"] = {{"type", "disk"}, {"path", "/"}, {"pool", "default"}};
         });
         fs::create_directories(b.dir.file("volume"));
         t.container = with_mounts(b, *t.container, {{b.dir.file("volume"), "/data", false}});
         return t;
       }},
      {K::StopInstance, Op::StopInstance, false, [=](Bed& b) { return running(b, ContainerState::Exited); }},
      {K::KillInstance, Op::StopInstance, false, [=](Bed& b) { return running(b, ContainerState::Removed); }},
      {K::DeleteInstance, Op::DeleteInstance, true, [=](Bed& b) { return created(b, ContainerState::Removed); },
       true},
  };
}

struct FailureCase {
  const char* name;
  MemoryLxd::Fault fault;
  FailureKind recorded;  // the record's last_error_kind
  const char* text;      // in the recorded error
};

std::vector<FailureCase> failure_cases() {
  return {
      {"transport", {.kind = ErrorKind::Transport, .message = "Connection refused"}, FailureKind::Unavailable,
       "Connection refused"},
      {"timeout", {.kind = ErrorKind::Timeout, .message = "no answer within 30000 ms"}, FailureKind::Unavailable,
       "no answer"},
      {"bad request", {.kind = ErrorKind::BadRequest, .message = "Invalid config"}, FailureKind::Refused,
       "Invalid config"},
      {"not found", {.kind = ErrorKind::NotFound, .message = "Instance not found"}, FailureKind::Refused, "not found"},
      {"conflict", {.kind = ErrorKind::Conflict, .message = "entry already exists"}, FailureKind::Refused,
       "already exists"},
      {"busy", {.kind = ErrorKind::Busy, .message = "Instance is busy running a \"stop\" operation"},
       FailureKind::Busy, "is busy"},
  };
}

// The record's fields an action's failure must not touch (only last_error and updated_at change).
struct Kept {
  int64_t generation, observed_generation, infra_pid, started_at, finished_at;
  int observed;
};
Kept kept(Bed& bed, const Target& t) {
  if (t.container) {
    const auto c = bed.container(t.container->id);
    return {c.generation, c.observed_generation, 0, c.started_at, c.finished_at, static_cast<int>(c.observed_state)};
  }
  const auto s = bed.sandbox(t.sandbox.id);
  return {s.generation, s.observed_generation, s.infra_pid, 0, 0, static_cast<int>(s.observed_state)};
}
bool operator==(const Kept& a, const Kept& b) {
  return a.generation == b.generation && a.observed_generation == b.observed_generation &&
         a.infra_pid == b.infra_pid && a.started_at == b.started_at && a.finished_at == b.finished_at &&
         a.observed == b.observed;
}

}  // namespace

TEST_CASE("executor: every action that calls LXD, with each of LXD's failures: recorded, nothing lost, retried",
          "[executor]") {
  const auto actions = action_cases();
  const auto failures = failure_cases();
  for (const auto& a : actions) {
    for (const auto& f : failures) {
      const std::string action(lxe::reconcile::to_string(a.kind));
      INFO(action << (a.op == Op::PatchProfile ? " (sandbox)" : "") << " with " << f.name);
      Bed bed;
      const Target t = a.setup(bed);
      const std::string id = t.container ? t.container->id : t.sandbox.id;
      const std::string lxd_name = t.container ? t.container->lxd_name : t.sandbox.lxd_name;
      const Kept before = kept(bed, t);
      const auto lxd_before = bed.lxd.instance(lxd_name);
      const auto profile_before = bed.lxd.profile(t.sandbox.lxd_name);
      auto fault = f.fault;
      fault.target = a.op == Op::CreateProfile || a.op == Op::PatchProfile || a.op == Op::DeleteProfile
                         ? t.sandbox.lxd_name
                         : lxd_name;
      bed.lxd.fail_next(a.op, fault);
      const auto run = [&] {
        return t.container ? bed.run(*t.container, {a.kind}) : bed.run(t.sandbox, {a.kind});
      };

      const Outcome outcome = run();
      REQUIRE(bed.lxd.count(a.op, fault.target) >= 1);  // the failure met the action's call
      const std::string last_error = t.container ? bed.container(id).last_error : bed.sandbox(id).last_error;
      const FailureKind kind = t.container ? bed.container(id).last_error_kind : bed.sandbox(id).last_error_kind;
      if ((a.missing_is_done && f.fault.kind == ErrorKind::NotFound) ||
          (a.waits_out_busy && f.fault.kind == ErrorKind::Busy)) {
        CHECK(outcome == Outcome::Done);
        CHECK(last_error.empty());
        continue;
      }
      CHECK(outcome == Outcome::Failed);
      // LXD said the profile's name is taken, yet it is not there when lxe looks whether it is its
      // own: that lookup's NotFound is the error.
      const bool lookup_failed = a.kind == ActionKind::CreateProfile && f.fault.kind == ErrorKind::Conflict;
      CHECK_THAT(last_error, Catch::StartsWith(action + ": ") && Catch::Contains(lookup_failed ? "not found" : f.text));
      CHECK(kind == f.recorded);
      CHECK(kept(bed, t) == before);
      // LXD refused: nothing of it changed.
      const auto lxd_after = bed.lxd.instance(lxd_name);
      CHECK(lxd_after.has_value() == lxd_before.has_value());
      if (lxd_after && lxd_before) {
        CHECK(lxd_after->etag == lxd_before->etag);
        CHECK(lxd_after->running() == lxd_before->running());
      }
      const auto profile_after = bed.lxd.profile(t.sandbox.lxd_name);
      CHECK(profile_after.has_value() == profile_before.has_value());
      const auto errors = bed.actions_logged(id, EventOutcome::Error);
      REQUIRE(errors.size() == 1);
      CHECK(errors[0] == action);

      // LXD answers again: the same action completes.
      CHECK(run() == Outcome::Done);
      CHECK(bed.actions_logged(id, EventOutcome::Ok).back() == action);
    }
  }
}

TEST_CASE("executor: an answer lost after LXD created the instance: the retry adopts it, nothing is made twice",
          "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  const auto c = bed.add_container(s);
  bed.lxd.fail_next(Op::CreateInstance, {.kind = ErrorKind::Timeout, .after_effect = true});
  CHECK(bed.run(c, {ActionKind::CreateInstance}) == Outcome::Failed);
  CHECK(bed.container(c.id).last_error_kind == FailureKind::Unavailable);
  REQUIRE(bed.lxd.instance(c.lxd_name));
  CHECK(bed.run(c, {ActionKind::CreateInstance, ActionKind::RecordCreated, ActionKind::MarkReconciled}) ==
        Outcome::Done);
  CHECK(bed.container(c.id).last_error.empty());
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Created);
  CHECK(bed.lxd.instance_names().size() == 2);  // the holder and this one
}

TEST_CASE("executor: observing an object LXD cannot be asked about, or that is not lxe's, throws", "[executor]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  bed.lxd.fail_next(Op::GetProfile, {.kind = ErrorKind::Transport});
  CHECK_THROWS_AS(bed.executor.observe_sandbox(s), lxe::lxd::Error);
  const auto other = bed.add_sandbox("other");
  lxe::lxd::InstanceSpec theirs;
  theirs.name = other.lxd_name;
  theirs.source.type = "none";
  bed.lxd.add_instance(theirs);
  try {
    bed.executor.observe_sandbox(other);
    FAIL("observed someone else's instance as lxe's");
  } catch (const lxe::lxd::Error& e) {
    CHECK(e.kind() == ErrorKind::Conflict);
    CHECK_THAT(e.what(), Catch::Contains("not created by lxe"));
  }
  // What is missing is observed as missing.
  const auto fresh = bed.add_sandbox("fresh");
  const auto o = bed.executor.observe_sandbox(fresh);
  CHECK_FALSE(o.profile_exists);
  CHECK_FALSE(o.infra);
}

// ---- stopping without LXD's stop call (cgroup_cleanup.h, workload_stop.h)

namespace {

// `argv` in the background, in `cwd` when given.
pid_t spawn(const std::vector<std::string>& argv, const std::string& cwd = "") {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

// The signal that ended `pid`, or its exit code + 1000; -1 when it did not end within 10 s.
int reap(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) ? WTERMSIG(status) : 1000 + WEXITSTATUS(status);
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

}  // namespace

TEST_CASE("executor: kill-instance and stop-infra kill the instance's cgroup, with no LXD stop call; LXD's without one",
          "[executor][stop]") {
  Bed bed;
  lxe::reconcile::MappingOptions options;
  options.cgroup_root = bed.dir.file("cgroup");
  lxe::reconcile::Executor executor{bed.registry, bed.lxd, bed.files, bed.volumes, options};
  auto s = bed.ready_sandbox();
  const auto c = bed.want(bed.running_container(s), ContainerState::Removed);
  const pid_t workload = spawn({"sleep", "300"});
  const pid_t holder = spawn({"sleep", "300"});
  fs::create_directories(bed.dir.file("cgroup/pids/lxc.payload." + c.lxd_name));
  fs::create_directories(bed.dir.file("cgroup/pids/lxc.payload." + s.lxd_name));
  lxe::test::write_file(bed.dir.file("cgroup/pids/lxc.payload." + c.lxd_name + "/cgroup.procs"),
                        std::to_string(workload) + "\n");
  lxe::test::write_file(bed.dir.file("cgroup/pids/lxc.payload." + s.lxd_name + "/cgroup.procs"),
                        std::to_string(holder) + "\n");

  // An instance lxe finds no cgroup of: LXD's forced stop.
  const auto other = bed.want(bed.running_container(s, "other"), ContainerState::Removed);
  CHECK(executor.run(other, bed.sandbox(s.id), {{ActionKind::KillInstance, "test"}}) == Outcome::Done);
  REQUIRE(bed.lxd.calls(Op::StopInstance).size() == 1);
  CHECK(bed.lxd.calls(Op::StopInstance).at(0).body["mode"] == "force");

  CHECK(executor.run(c, bed.sandbox(s.id), {{ActionKind::KillInstance, "test"}}) == Outcome::Done);
  CHECK(reap(workload) == SIGKILL);
  s = bed.want(bed.sandbox(s.id), SandboxState::NotReady);
  CHECK(executor.run(s, {{ActionKind::StopInfra, "test"}}) == Outcome::Done);
  CHECK(reap(holder) == SIGKILL);
  // LXD was not asked again: it notices the dead init and tears the instance down by itself.
  CHECK(bed.lxd.calls(Op::StopInstance).size() == 1);
}

TEST_CASE("executor: a removal's first observation reads the instance's cgroup, and asks LXD only without one",
          "[executor][stop]") {
  Bed bed;
  lxe::reconcile::MappingOptions options;
  options.cgroup_root = bed.dir.file("cgroup");
  lxe::reconcile::Executor executor{bed.registry, bed.lxd, bed.files, bed.volumes, options};
  const auto s = bed.ready_sandbox();
  const auto c = bed.want(bed.running_container(s), ContainerState::Removed);
  const auto gets = [&] { return bed.lxd.calls(Op::GetInstance).size(); };
  // A cgroup (LXC's, until LXD's teardown ends): running, and LXD is not asked.
  fs::create_directories(bed.dir.file("cgroup/pids/lxc.payload." + c.lxd_name));
  lxe::test::write_file(bed.dir.file("cgroup/pids/lxc.payload." + c.lxd_name + "/cgroup.procs"), "");
  const auto before = gets();
  const auto with_cgroup = executor.observe_container_for_removal(c);
  REQUIRE(with_cgroup.instance);
  CHECK(with_cgroup.instance->running);
  CHECK(gets() == before);
  // No cgroup: LXD says (here: running, since the in-memory LXD runs it without processes).
  fs::remove_all(bed.dir.file("cgroup/pids/lxc.payload." + c.lxd_name));
  const auto asked = executor.observe_container_for_removal(c);
  CHECK(gets() == before + 1);
  REQUIRE(asked.instance);
  CHECK(asked.instance->running == bed.lxd.instance(c.lxd_name)->running());
  // An instance LXD no longer has, and no cgroup: absent.
  bed.lxd.stop_instance(c.lxd_name, lxe::lxd::StopMode::Force);
  bed.lxd.delete_instance(c.lxd_name);
  CHECK_FALSE(executor.observe_container_for_removal(c).instance);
}

TEST_CASE("executor: stop-instance asks the container's lxe-init, which records the exit; no LXD stop call",
          "[executor][stop]") {
  Bed bed;
  const auto s = bed.ready_sandbox();
  auto c = bed.want(bed.running_container(s), ContainerState::Exited);
  c.stop_timeout = 30;
  bed.put(c);
  c = bed.container(c.id);
  // lxe-init as the container runs it, with its state directory where lxe keeps it on the host
  // (the socket by a path relative to it: the host's path is longer than a socket address allows).
  const std::string state = bed.files.container_dir(c.id);
  fs::create_directories(state);
  lxe::test::TempDir spec_dir;
  const std::string spec = lxe::test::write_init_spec(
      spec_dir, {"sleep", "300"}, {{"attach_socket", "attach.sock"}, {"exit_path", state + "/exit.json"}});
  const pid_t init = spawn({(fs::path(LXE_BINARY).parent_path() / "lxe-init").string(), "run", spec}, state);
  for (int i = 0; i < 500 && !fs::exists(bed.files.attach_socket(c.id)); ++i) ::usleep(10000);
  REQUIRE(fs::exists(bed.files.attach_socket(c.id)));

  CHECK(bed.run(c, {ActionKind::StopInstance, ActionKind::RecordExit}) == Outcome::Done);
  CHECK(bed.lxd.calls(Op::StopInstance).empty());
  const auto after = bed.container(c.id);
  CHECK(after.exit_code == 143);  // sleep ended by the stop signal, SIGTERM
  CHECK(after.observed_state == ContainerObserved::Exited);
  CHECK(reap(init) == 1000 + 143);

  SECTION("no lxe-init listens (a system container's own init, or one from before Stop): LXD stops it") {
    auto d = bed.want(bed.running_container(s, "second"), ContainerState::Exited);
    CHECK(bed.run(d, {ActionKind::StopInstance}) == Outcome::Done);
    CHECK(bed.lxd.calls(Op::StopInstance).size() == 1);
  }
}
