// Store records to CRI messages: states for every observed/desired combination, statuses, label
// selectors and ID lookup.
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <string>
#include <variant>
#include <vector>

#include "cri/translate.h"
#include "model/stored_config.h"
#include "reconcile/lxd_specs.h"

using lxe::cri::Ambiguous;
using lxe::cri::container_state;
using lxe::cri::labels_match;
using lxe::cri::resolve_id;
using lxe::cri::sandbox_state;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
namespace v1 = runtime::v1;

namespace Catch {
template <>
struct StringMaker<v1::ContainerState> {
  static std::string convert(v1::ContainerState s) { return v1::ContainerState_Name(s); }
};
template <>
struct StringMaker<v1::PodSandboxState> {
  static std::string convert(v1::PodSandboxState s) { return v1::PodSandboxState_Name(s); }
};
}  // namespace Catch

namespace {

SandboxRecord sandbox_record() {
  SandboxRecord s;
  s.id = std::string(64, 'a');
  s.name = "web";
  s.namespace_ = "shop";
  s.uid = "uid-1";
  s.attempt = 2;
  s.runtime_handler = "lxe";
  s.labels = {{"app", "web"}};
  s.annotations = {{"note", "n"}};
  s.created_at = 111;
  return s;
}

ContainerRecord container_record() {
  ContainerRecord c;
  c.id = std::string(64, 'b');
  c.sandbox_id = std::string(64, 'a');
  c.name = "app";
  c.attempt = 1;
  c.image = "busybox:latest";
  c.image_ref = "f00d";  // the LXD fingerprint
  c.labels = {{"io.kubernetes.container.name", "app"}};
  c.annotations = {{"restart", "3"}};
  c.log_path = "/var/log/pods/shop_web_uid-1/app/1.log";
  c.created_at = 100;
  c.config_json = "{}";
  return c;
}

google::protobuf::Map<std::string, std::string> selector(std::initializer_list<std::pair<std::string, std::string>> kv) {
  google::protobuf::Map<std::string, std::string> m;
  for (const auto& [k, v] : kv) m[k] = v;
  return m;
}

}  // namespace

TEST_CASE("sandbox_state: ready only when desired and observed ready", "[translate]") {
  const auto desired = GENERATE(SandboxState::Ready, SandboxState::NotReady, SandboxState::Removed);
  const auto observed = GENERATE(SandboxObserved::Unknown, SandboxObserved::Absent, SandboxObserved::Ready,
                                 SandboxObserved::NotReady);
  CAPTURE(lxe::store::to_string(desired), lxe::store::to_string(observed));
  SandboxRecord s = sandbox_record();
  s.desired_state = desired;
  s.observed_state = observed;
  const bool ready = desired == SandboxState::Ready && observed == SandboxObserved::Ready;
  CHECK(sandbox_state(s) == (ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY));
  CHECK(lxe::cri::to_pod_sandbox(s).state() == sandbox_state(s));
  CHECK(lxe::cri::to_pod_sandbox_status(s).state() == sandbox_state(s));
}

TEST_CASE("container_state: the observed state wins; otherwise inferred from the record", "[translate]") {
  const auto desired = GENERATE(ContainerState::Created, ContainerState::Running, ContainerState::Exited,
                                ContainerState::Removed);
  const auto observed = GENERATE(ContainerObserved::Unknown, ContainerObserved::Absent, ContainerObserved::Created,
                                 ContainerObserved::Running, ContainerObserved::Exited);
  const bool started = GENERATE(false, true);
  const bool finished = GENERATE(false, true);
  CAPTURE(lxe::store::to_string(desired), lxe::store::to_string(observed), started, finished);
  ContainerRecord c = container_record();
  c.desired_state = desired;
  c.observed_state = observed;
  c.started_at = started ? 200 : 0;
  c.finished_at = finished ? 300 : 0;

  v1::ContainerState expected = v1::CONTAINER_UNKNOWN;
  switch (observed) {
    case ContainerObserved::Created: expected = v1::CONTAINER_CREATED; break;
    case ContainerObserved::Running: expected = v1::CONTAINER_RUNNING; break;
    case ContainerObserved::Exited: expected = v1::CONTAINER_EXITED; break;
    case ContainerObserved::Unknown:
    case ContainerObserved::Absent:
      if (started)
        expected = finished ? v1::CONTAINER_EXITED : v1::CONTAINER_UNKNOWN;
      else
        expected = desired == ContainerState::Created ? v1::CONTAINER_CREATED : v1::CONTAINER_UNKNOWN;
      break;
  }
  CHECK(container_state(c) == expected);
  CHECK(lxe::cri::to_container(c).state() == expected);
  CHECK(lxe::cri::to_container_status(c).state() == expected);
}

TEST_CASE("container_state: the lifecycle as the reconciler records it", "[translate]") {
  ContainerRecord c = container_record();
  CHECK(container_state(c) == v1::CONTAINER_CREATED);  // just stored, not reconciled yet
  c.observed_state = ContainerObserved::Created;
  CHECK(container_state(c) == v1::CONTAINER_CREATED);
  c.desired_state = ContainerState::Running;
  CHECK(container_state(c) == v1::CONTAINER_CREATED);  // start requested, not done
  c.started_at = 5;
  c.observed_state = ContainerObserved::Running;
  CHECK(container_state(c) == v1::CONTAINER_RUNNING);
  c.finished_at = 6;
  c.observed_state = ContainerObserved::Exited;
  CHECK(container_state(c) == v1::CONTAINER_EXITED);
  c.desired_state = ContainerState::Removed;
  CHECK(container_state(c) == v1::CONTAINER_EXITED);
}

TEST_CASE("to_pod_sandbox and to_pod_sandbox_status", "[translate]") {
  SandboxRecord s = sandbox_record();
  s.observed_state = SandboxObserved::Ready;
  const auto p = lxe::cri::to_pod_sandbox(s);
  CHECK(p.id() == s.id);
  CHECK(p.metadata().name() == "web");
  CHECK(p.metadata().namespace_() == "shop");
  CHECK(p.metadata().uid() == "uid-1");
  CHECK(p.metadata().attempt() == 2);
  CHECK(p.state() == v1::SANDBOX_READY);
  CHECK(p.created_at() == 111);
  CHECK(p.labels().at("app") == "web");
  CHECK(p.annotations().at("note") == "n");
  CHECK(p.runtime_handler() == "lxe");

  const auto st = lxe::cri::to_pod_sandbox_status(s);
  CHECK(st.id() == s.id);
  CHECK(st.metadata().attempt() == 2);
  CHECK(st.created_at() == 111);
  // The modes the pod asked for (CRI's zero values: POD), or what it gets instead.
  CHECK(st.linux().namespaces().options().network() == v1::POD);
  CHECK(st.linux().namespaces().options().pid() == v1::POD);
  CHECK(st.linux().namespaces().options().ipc() == v1::POD);
  {
    SandboxRecord modes = s;
    v1::PodSandboxConfig config;
    auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_pid(v1::CONTAINER);
    ns->set_ipc(v1::NODE);
    modes.config_json = lxe::model::to_json(config);
    const auto asked = lxe::cri::to_pod_sandbox_status(modes).linux().namespaces().options();
    CHECK(asked.pid() == v1::CONTAINER);
    CHECK(asked.ipc() == v1::NODE);
    // A shared PID namespace cannot be had next to the host's IPC namespace: each container's own.
    ns->set_pid(v1::POD);
    modes.config_json = lxe::model::to_json(config);
    CHECK(lxe::cri::to_pod_sandbox_status(modes).linux().namespaces().options().pid() == v1::CONTAINER);
  }
  // No network status without an address: kubelet replaces a sandbox whose network status has an
  // empty IP (PodSandboxChanged), and lxe assigns none yet.
  CHECK_FALSE(st.has_network());
  CHECK(st.labels().size() == 1);
  CHECK(st.annotations().size() == 1);
  CHECK(st.runtime_handler() == "lxe");
}

TEST_CASE("to_container", "[translate]") {
  ContainerRecord c = container_record();
  c.observed_state = ContainerObserved::Running;
  const auto out = lxe::cri::to_container(c);
  CHECK(out.id() == c.id);
  CHECK(out.pod_sandbox_id() == c.sandbox_id);
  CHECK(out.metadata().name() == "app");
  CHECK(out.metadata().attempt() == 1);
  CHECK(out.image().image() == "busybox:latest");
  CHECK(out.image_ref() == "sha256:f00d");
  CHECK(out.image_id() == "sha256:f00d");
  CHECK(out.state() == v1::CONTAINER_RUNNING);
  CHECK(out.created_at() == 100);
  CHECK(out.labels().at("io.kubernetes.container.name") == "app");
  CHECK(out.annotations().at("restart") == "3");
}

TEST_CASE("to_container_status", "[translate]") {
  ContainerRecord c = container_record();
  c.desired_state = ContainerState::Exited;
  c.observed_state = ContainerObserved::Exited;
  c.started_at = 1000;
  c.finished_at = 2000;
  c.exit_code = 137;
  c.reason = "OOMKilled";
  c.message = "the kernel killed it";

  v1::ContainerConfig config;
  auto* m = config.add_mounts();
  m->set_host_path("/srv/data");
  m->set_container_path("/data");
  m->set_readonly(true);
  auto* m2 = config.add_mounts();
  m2->set_host_path("/srv/cache");
  m2->set_container_path("/cache");
  auto* r = config.mutable_linux()->mutable_resources();
  r->set_memory_limit_in_bytes(64 << 20);
  r->set_cpu_quota(50000);
  r->set_cpu_period(100000);
  r->set_cpuset_cpus("0-1");

  SECTION("everything from the record and its config") {
    c.config_json = lxe::model::to_json(config);
    c.resources_json = lxe::model::to_json(*r);  // the resources in force are the record's
    const auto st = lxe::cri::to_container_status(c);
    CHECK(st.id() == c.id);
    CHECK(st.metadata().name() == "app");
    CHECK(st.metadata().attempt() == 1);
    CHECK(st.state() == v1::CONTAINER_EXITED);
    CHECK(st.created_at() == 100);
    CHECK(st.started_at() == 1000);
    CHECK(st.finished_at() == 2000);
    CHECK(st.exit_code() == 137);
    CHECK(st.reason() == "OOMKilled");
    CHECK(st.message() == "the kernel killed it");
    CHECK(st.image().image() == "busybox:latest");
    CHECK(st.image_ref() == "sha256:f00d");
    CHECK(st.image_id() == "sha256:f00d");
    CHECK(st.log_path() == "/var/log/pods/shop_web_uid-1/app/1.log");
    CHECK(st.labels().at("io.kubernetes.container.name") == "app");
    CHECK(st.annotations().at("restart") == "3");
    REQUIRE(st.mounts_size() == 2);
    CHECK(st.mounts(0).host_path() == "/srv/data");
    CHECK(st.mounts(0).container_path() == "/data");
    CHECK(st.mounts(0).readonly());
    CHECK(st.mounts(1).container_path() == "/cache");
    CHECK_FALSE(st.mounts(1).readonly());
    REQUIRE(st.has_resources());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(st.resources().linux(), *r));
    CHECK(st.resources().linux().memory_limit_in_bytes() == 64 << 20);
    CHECK(st.resources().linux().cpuset_cpus() == "0-1");
  }
  SECTION("with a cache: the same answer, and an update of the resources is seen at once") {
    c.config_json = lxe::model::to_json(config);
    c.resources_json = lxe::model::to_json(*r);
    lxe::cri::StatusPartsCache cache;
    const auto first = lxe::cri::to_container_status(c, &cache);
    CHECK(google::protobuf::util::MessageDifferencer::Equals(first, lxe::cri::to_container_status(c)));
    CHECK(cache.get(c) == cache.get(c));  // parsed once, kept
    CHECK(google::protobuf::util::MessageDifferencer::Equals(lxe::cri::to_container_status(c, &cache), first));
    r->set_memory_limit_in_bytes(96 << 20);
    c.resources_json = lxe::model::to_json(*r);
    CHECK(lxe::cri::to_container_status(c, &cache).resources().linux().memory_limit_in_bytes() == 96 << 20);
    REQUIRE(lxe::cri::to_container_status(c, &cache).mounts_size() == 2);
  }
  SECTION("a config without mounts or resources") {
    c.config_json = "{}";
    const auto st = lxe::cri::to_container_status(c);
    CHECK(st.mounts_size() == 0);
    CHECK_FALSE(st.has_resources());
    CHECK(st.exit_code() == 137);
  }
  SECTION("a config that cannot be read: the status without mounts and resources") {
    c.config_json = "{not json";
    const auto st = lxe::cri::to_container_status(c);
    CHECK(st.id() == c.id);
    CHECK(st.state() == v1::CONTAINER_EXITED);
    CHECK(st.exit_code() == 137);
    CHECK(st.mounts_size() == 0);
    CHECK_FALSE(st.has_resources());
  }
  SECTION("a running container: no finish, exit code 0") {
    c.observed_state = ContainerObserved::Running;
    c.finished_at = 0;
    c.exit_code = 0;
    c.reason.clear();
    c.message.clear();
    const auto st = lxe::cri::to_container_status(c);
    CHECK(st.state() == v1::CONTAINER_RUNNING);
    CHECK(st.started_at() == 1000);
    CHECK(st.finished_at() == 0);
    CHECK(st.exit_code() == 0);
    CHECK(st.reason().empty());
  }
}

TEST_CASE("image_id: sha256: and the fingerprint, nothing for none", "[translate]") {
  CHECK(lxe::cri::image_id("f00d") == "sha256:f00d");
  CHECK(lxe::cri::image_id("").empty());
  ContainerRecord c = container_record();
  c.image_ref.clear();  // not resolved yet
  CHECK(lxe::cri::to_container(c).image_ref().empty());
  CHECK(lxe::cri::to_container_status(c).image_id().empty());
}

TEST_CASE("labels_match", "[translate]") {
  const lxe::store::StringMap labels = {{"app", "web"}, {"tier", "front"}, {"empty", ""}};
  CHECK(labels_match(labels, selector({})));
  CHECK(labels_match({}, selector({})));
  CHECK(labels_match(labels, selector({{"app", "web"}})));
  CHECK(labels_match(labels, selector({{"app", "web"}, {"tier", "front"}})));
  CHECK(labels_match(labels, selector({{"empty", ""}})));
  CHECK_FALSE(labels_match(labels, selector({{"app", "api"}})));
  CHECK_FALSE(labels_match(labels, selector({{"app", "web"}, {"tier", "back"}})));
  CHECK_FALSE(labels_match(labels, selector({{"missing", ""}})));  // a missing key is not an empty value
  CHECK_FALSE(labels_match(labels, selector({{"App", "web"}})));
  CHECK_FALSE(labels_match({}, selector({{"app", "web"}})));
  CHECK_FALSE(labels_match(labels, selector({{"app", "web "}})));
}

TEST_CASE("resolve_id", "[translate]") {
  const std::vector<std::string> ids = {
      "abc123" + std::string(58, '0'),
      "abc456" + std::string(58, '0'),
      "def789" + std::string(58, '0'),
      "abc",  // an ID that is a prefix of others
  };
  auto full = [](const std::variant<std::monostate, std::string, Ambiguous>& r) -> std::string {
    const auto* s = std::get_if<std::string>(&r);
    return s ? *s : "<none>";
  };

  SECTION("exact match") {
    CHECK(full(resolve_id(ids[0], ids, "container")) == ids[0]);
    CHECK(full(resolve_id(ids[2], ids, "container")) == ids[2]);
    // An exact match wins over being a prefix of others.
    CHECK(full(resolve_id("abc", ids, "container")) == "abc");
  }
  SECTION("unique prefix") {
    CHECK(full(resolve_id("abc1", ids, "container")) == ids[0]);
    CHECK(full(resolve_id("abc4", ids, "container")) == ids[1]);
    CHECK(full(resolve_id("d", ids, "container")) == ids[2]);
    CHECK(full(resolve_id("def789", ids, "container")) == ids[2]);
  }
  SECTION("ambiguous prefix") {
    const auto r = resolve_id("ab", ids, "pod sandbox");
    const auto* a = std::get_if<Ambiguous>(&r);
    REQUIRE(a);
    CHECK_THAT(a->message, Catch::Contains("'ab'"));
    CHECK_THAT(a->message, Catch::Contains("3"));
    CHECK_THAT(a->message, Catch::Contains("pod sandbox"));
  }
  SECTION("no match") {
    CHECK(std::holds_alternative<std::monostate>(resolve_id("xyz", ids, "container")));
    CHECK(std::holds_alternative<std::monostate>(resolve_id("abc1234", ids, "container")));
    CHECK(std::holds_alternative<std::monostate>(resolve_id(ids[0] + "0", ids, "container")));
    CHECK(std::holds_alternative<std::monostate>(resolve_id("abc", {}, "container")));
    CHECK(std::holds_alternative<std::monostate>(resolve_id("ABC", ids, "container")));  // case matters
  }
  SECTION("the order of the IDs does not matter") {
    std::vector<std::string> reversed(ids.rbegin(), ids.rend());
    CHECK(full(resolve_id("abc", reversed, "container")) == "abc");
    CHECK(full(resolve_id("abc1", reversed, "container")) == ids[0]);
    CHECK(std::holds_alternative<Ambiguous>(resolve_id("ab", reversed, "container")));
  }
}
