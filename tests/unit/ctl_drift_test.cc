// `lxe-ctl diff`'s logic, without LXD: store records and LXD lists in, drift items out.
#include <catch2/catch.hpp>

#include "ctl/drift.h"
#include "model/naming.h"

using namespace lxe::ctl;
using lxe::lxd::Instance;
using lxe::lxd::Profile;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;

namespace {

const std::string kPodId = "a0" + std::string(62, '1');
const std::string kAppId = "c0" + std::string(62, '2');

lxe::lxd::Config marks(const std::string& kind, const std::string& id, const std::string& sandbox_id) {
  return {{lxe::model::kManagedKey, "true"},
          {lxe::model::kKindKey, kind},
          {lxe::model::kIdKey, id},
          {lxe::model::kSandboxIdKey, sandbox_id}};
}

// A node where everything matches: one ready pod, one running container with a memory limit.
struct Node {
  StoreSnapshot store;
  LxdSnapshot lxd;

  Node() {
    SandboxRecord s;
    s.id = kPodId;
    s.name = "web";
    s.namespace_ = "default";
    s.lxd_name = "lxe-web-" + kPodId.substr(0, 12);
    s.desired_state = SandboxState::Ready;
    s.observed_state = SandboxObserved::Ready;
    s.generation = 1;
    s.observed_generation = 1;
    store.sandboxes.push_back(s);

    ContainerRecord c;
    c.id = kAppId;
    c.sandbox_id = kPodId;
    c.name = "app";
    c.lxd_name = "lxe-web-app-" + kAppId.substr(0, 12);
    c.resources_json = R"({"memory_limit_in_bytes":"67108864"})";
    c.log_path = "/var/log/pods/x/app/0.log";
    c.started_at = 1;
    c.desired_state = ContainerState::Running;
    c.observed_state = ContainerObserved::Running;
    c.generation = 2;
    c.observed_generation = 2;
    store.containers.push_back(c);

    Profile p;
    p.name = s.lxd_name;
    p.config = marks("sandbox", kPodId, kPodId);
    lxd.profiles.push_back(p);
    Profile other;  // not lxe's: ignored
    other.name = "default";
    lxd.profiles.push_back(other);

    Instance holder;
    holder.name = s.lxd_name;
    holder.status = "Running";
    holder.status_code = 103;
    holder.config = marks("sandbox", kPodId, kPodId);
    holder.devices = {{"lxe-init", {{"type", "disk"}}}};
    lxd.instances.push_back(holder);

    Instance app;
    app.name = c.lxd_name;
    app.status = "Running";
    app.status_code = 103;
    app.config = marks("container", kAppId, kPodId);
    app.config["limits.memory"] = "67108864";
    app.devices = {{"lxe-init", {}}, {"lxe-state", {}}, {"lxe-log", {}}};
    lxd.instances.push_back(app);
  }

  SandboxRecord& pod() { return store.sandboxes[0]; }
  ContainerRecord& app() { return store.containers[0]; }
  Instance& holder() { return lxd.instances[0]; }
  Instance& app_instance() { return lxd.instances[1]; }

  DriftReport diff(const std::string& prefix = "") const { return find_drift(store, lxd, prefix); }
};

void stop(Instance& i) {
  i.status = "Stopped";
  i.status_code = 102;
}

std::vector<std::string> kinds(const DriftReport& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items) out.push_back(std::string(to_string(i.kind)) + " " + i.object_kind + " " + i.aspect);
  return out;
}

}  // namespace

TEST_CASE("ctl drift: a node where LXD matches the store has none", "[ctl]") {
  Node node;
  const auto r = node.diff();
  CHECK(r.items.empty());
  CHECK(r.skipped.empty());
  CHECK(r.sandboxes_compared == 1);
  CHECK(r.containers_compared == 1);
  CHECK(r.lxd_instances == 2);
  CHECK(r.lxd_profiles == 1);

  // Stopped and exited objects whose instances are stopped match too.
  node.pod().desired_state = SandboxState::NotReady;
  node.pod().observed_state = SandboxObserved::NotReady;
  stop(node.holder());
  node.app().desired_state = ContainerState::Exited;
  node.app().observed_state = ContainerObserved::Exited;
  stop(node.app_instance());
  CHECK(node.diff().items.empty());
}

TEST_CASE("ctl drift: a container deleted behind lxe's back is missing", "[ctl]") {
  Node node;
  node.lxd.instances.pop_back();
  for (auto observed : {ContainerObserved::Running, ContainerObserved::Exited, ContainerObserved::Created}) {
    node.app().observed_state = observed;
    const auto r = node.diff();
    REQUIRE(r.items.size() == 1);
    const auto& item = r.items[0];
    CHECK(item.kind == DriftKind::Missing);
    CHECK(item.object_kind == "container");
    CHECK(item.id == kAppId);
    CHECK(item.name == "app");
    CHECK(item.lxd_name == node.app().lxd_name);
    CHECK_THAT(item.detail, Catch::Contains("is not in LXD") && Catch::Contains(std::string(to_string(observed))));
  }
  // A StartError that never ran may never have had an instance.
  node.app().observed_state = ContainerObserved::Exited;
  node.app().reason = "StartError";
  node.app().started_at = 0;
  CHECK(node.diff().items.empty());
}

TEST_CASE("ctl drift: a ready pod needs its profile and a running holder", "[ctl]") {
  Node node;
  node.lxd.profiles.erase(node.lxd.profiles.begin());
  CHECK(kinds(node.diff()) == std::vector<std::string>{"missing sandbox profile"});

  Node gone;
  gone.lxd.instances.erase(gone.lxd.instances.begin());
  CHECK(kinds(gone.diff()) == std::vector<std::string>{"missing sandbox instance"});
  // A pod recorded notready may have lost its holder: that is no drift.
  gone.pod().observed_state = SandboxObserved::NotReady;
  CHECK(gone.diff().items.empty());

  Node stopped;
  stop(stopped.holder());
  auto r = stopped.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"state sandbox running"});
  CHECK_THAT(r.items[0].detail, Catch::Contains("is Stopped in LXD; the store has the pod ready"));

  // A holder running again while the pod is recorded notready.
  Node again;
  again.pod().observed_state = SandboxObserved::NotReady;
  r = again.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"state sandbox running"});
  CHECK_THAT(r.items[0].detail, Catch::Contains("is Running in LXD; the store has the pod notready"));
}

TEST_CASE("ctl drift: a pod whose namespaces lxe pins needs its profile and no holder", "[ctl][pinned]") {
  Node node;
  node.pod().pod_namespaces = lxe::store::PodNamespaces::Pinned;
  node.pod().pinned_netns = 4026532999;
  node.lxd.instances.erase(node.lxd.instances.begin());  // no holder
  CHECK(node.diff().items.empty());
  node.lxd.profiles.erase(node.lxd.profiles.begin());
  CHECK(kinds(node.diff()) == std::vector<std::string>{"missing sandbox profile"});
}

TEST_CASE("ctl drift: running state against the observed state of a container", "[ctl]") {
  Node node;
  stop(node.app_instance());
  auto r = node.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"state container running"});
  CHECK_THAT(r.items[0].detail, Catch::Contains("is Stopped in LXD; the store has the container running"));

  Node exited;
  exited.app().observed_state = ContainerObserved::Exited;
  r = exited.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"state container running"});
  CHECK_THAT(r.items[0].detail, Catch::Contains("is Running in LXD; the store has the container exited"));

  Node frozen;
  frozen.app_instance().status = "Frozen";
  frozen.app_instance().status_code = 110;
  CHECK(kinds(frozen.diff()) == std::vector<std::string>{"state container running"});
}

TEST_CASE("ctl drift: managed limits against the record's resources", "[ctl]") {
  Node node;
  node.app_instance().config["limits.memory"] = "134217728";
  node.app_instance().config["limits.cpu"] = "2";
  auto r = node.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"limits container limits.cpu", "limits container limits.memory"});
  CHECK(r.items[0].detail == "limits.cpu is \"2\" in LXD; the record's resources want \"\"");
  CHECK(r.items[1].detail == "limits.memory is \"134217728\" in LXD; the record's resources want \"67108864\"");

  // Keys lxe does not manage are not compared.
  Node other;
  other.app_instance().config["limits.processes"] = "100";
  CHECK(other.diff().items.empty());

  Node broken;
  broken.app().resources_json = "{not json";
  CHECK(kinds(broken.diff()) == std::vector<std::string>{"limits container resources"});
}

TEST_CASE("ctl drift: devices lxe adds must be there", "[ctl]") {
  Node node;
  node.app_instance().devices.erase("lxe-state");
  node.holder().devices.clear();
  auto r = node.diff();
  CHECK(kinds(r) == std::vector<std::string>{"device sandbox lxe-init", "device container lxe-state"});
  // lxe-log only when the container has a log.
  Node nolog;
  nolog.app().log_path.clear();
  nolog.app_instance().devices.erase("lxe-log");
  CHECK(nolog.diff().items.empty());
}

TEST_CASE("ctl drift: LXD objects marked as lxe's that the store does not know", "[ctl]") {
  Node node;
  Instance stray;
  stray.name = "lxe-old-app-" + std::string(12, '9');
  stray.status = "Stopped";
  stray.config = marks("container", std::string(64, '9'), std::string(64, '8'));
  node.lxd.instances.push_back(stray);
  Profile stray_profile;
  stray_profile.name = "lxe-old-" + std::string(12, '8');
  stray_profile.config = marks("sandbox", std::string(64, '8'), std::string(64, '8'));
  node.lxd.profiles.push_back(stray_profile);
  Instance unmarked;  // not lxe's at all: never reported
  unmarked.name = "lxe-mine";
  node.lxd.instances.push_back(unmarked);

  auto r = node.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"unknown instance ", "unknown profile "});
  CHECK(r.items[0].lxd_name == stray.name);
  CHECK(r.items[0].id == std::string(64, '9'));
  CHECK_THAT(r.items[0].detail, Catch::Contains("marked as lxe's (container 999999999999)") &&
                                    Catch::Contains("the store does not know it"));
  CHECK(r.items[1].lxd_name == stray_profile.name);
  CHECK(r.lxd_instances == 3);

  // Scoped to a name prefix: another lxe's objects are not this store's business.
  CHECK(node.diff("lxe-web").items.empty());
  CHECK(node.diff("lxe-web").lxd_instances == 2);
  CHECK(node.diff("lxe").items.size() == 2);
  CHECK(node.diff("lxe-o").items.empty());  // "lxe-o-..." only: the prefix ends at a '-'
}

TEST_CASE("ctl drift: an LXD object of the expected name with another ID is foreign", "[ctl]") {
  Node node;
  node.app_instance().config[lxe::model::kIdKey] = std::string(64, '7');
  auto r = node.diff();
  REQUIRE(kinds(r) == std::vector<std::string>{"foreign container "});
  CHECK_THAT(r.items[0].detail, Catch::Contains("user.lxe.id=777777777777"));

  Node profile;
  profile.lxd.profiles[0].config[lxe::model::kIdKey] = "x";
  CHECK(kinds(profile.diff()) == std::vector<std::string>{"foreign sandbox profile"});
}

TEST_CASE("ctl drift: objects lxe is still reconciling are not compared", "[ctl]") {
  Node node;
  node.lxd.instances.clear();
  node.lxd.profiles.clear();
  node.pod().generation = 2;  // observed generation 1: being reconciled
  node.app().desired_state = ContainerState::Removed;
  auto r = node.diff();
  CHECK(r.items.empty());
  CHECK(r.skipped == std::vector<std::string>{kPodId, kAppId});
  CHECK(r.sandboxes_compared == 0);

  Node fresh;
  fresh.lxd.instances.pop_back();
  fresh.app().observed_state = ContainerObserved::Unknown;  // never observed yet
  CHECK(fresh.diff().items.empty());
}

TEST_CASE("ctl drift: only drift seen in both passes is reported", "[ctl]") {
  Node node;
  stop(node.app_instance());
  const auto first = node.diff();
  Node later;
  later.lxd.instances.pop_back();  // the instance went away in between: a different item
  const auto second = later.diff();
  CHECK(persistent_drift(first, second).items.empty());
  const auto same = persistent_drift(first, node.diff());
  REQUIRE(same.items.size() == 1);
  CHECK(same.items[0].kind == DriftKind::State);
}

TEST_CASE("ctl drift: JSON report", "[ctl]") {
  Node node;
  node.lxd.instances.pop_back();
  const auto j = drift_json(node.diff());
  REQUIRE(j["drift"].size() == 1);
  CHECK(j["drift"][0]["kind"] == "missing");
  CHECK(j["drift"][0]["objectKind"] == "container");
  CHECK(j["drift"][0]["id"] == kAppId);
  CHECK(j["drift"][0]["lxdName"] == node.app().lxd_name);
  CHECK(j["compared"]["containers"] == 1);
  CHECK(j["skipped"].empty());
}

TEST_CASE("ctl drift: lxe's ready instances are no drift; a half-claimed one is", "[ctl][ready]") {
  for (const std::string prefix : {"", "lxe"}) {
    Node node;
    Instance ready;
    ready.name = "lxe--ready-" + std::string(12, '7');
    ready.status = "Stopped";
    ready.config = {{lxe::model::kManagedKey, "true"}, {lxe::model::kKindKey, "ready"}};
    node.lxd.instances.push_back(ready);
    Instance half = ready;  // a crash between a claim's PATCH and its rename
    half.name = "lxe--ready-" + std::string(12, '6');
    half.config = marks("container", std::string(64, '9'), std::string(64, '8'));
    node.lxd.instances.push_back(half);
    auto r = node.diff(prefix);
    INFO("prefix '" << prefix << "'");
    REQUIRE(kinds(r) == std::vector<std::string>{"unknown instance "});
    CHECK(r.items[0].lxd_name == half.name);
  }
}
