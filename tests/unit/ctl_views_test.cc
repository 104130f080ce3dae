// lxe-ctl's views: CRI states (the same as the CRI facade reports), filters, ID lookup, and the
// rows and JSON each record becomes.
#include <catch2/catch.hpp>

#include "cri/translate.h"
#include "ctl/views.h"
#include "support/process.h"

using namespace lxe::ctl;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::ObjectKind;
using lxe::store::ReconcileEvent;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::test::non_empty_lines;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1'700'000'000 * kSecond;

SandboxRecord sandbox(const std::string& id, const std::string& name, const std::string& ns = "default") {
  SandboxRecord s;
  s.id = id;
  s.name = name;
  s.namespace_ = ns;
  s.uid = "uid-" + name;
  s.lxd_name = "lxe-" + name + "-" + id.substr(0, 12);
  s.labels = {{"app", name}};
  s.config_json = R"({"metadata":{"name":")" + name + R"("}})";
  s.created_at = kNow - 300 * kSecond;
  s.desired_state = SandboxState::Ready;
  s.observed_state = SandboxObserved::Ready;
  s.observed_generation = 1;
  return s;
}

ContainerRecord container(const std::string& id, const SandboxRecord& pod, const std::string& name) {
  ContainerRecord c;
  c.id = id;
  c.sandbox_id = pod.id;
  c.name = name;
  c.lxd_name = "lxe-" + pod.name + "-" + name + "-" + id.substr(0, 12);
  c.image = "busybox";
  c.image_ref = std::string(64, 'f');
  c.labels = {{"tier", "front"}};
  c.config_json = R"({"metadata":{"name":")" + name +
                  R"("},"mounts":[{"container_path":"/data","host_path":"/srv/data","readonly":true}]})";
  c.resources_json = R"({"memory_limit_in_bytes":"67108864","cpu_quota":"50000"})";
  c.log_path = "/var/log/pods/x/" + name + "/0.log";
  c.created_at = kNow - 90 * kSecond;
  c.started_at = kNow - 80 * kSecond;
  c.desired_state = ContainerState::Running;
  c.observed_state = ContainerObserved::Running;
  c.generation = 2;
  c.observed_generation = 2;
  return c;
}

std::string cri_name(runtime::v1::ContainerState s) { return runtime::v1::ContainerState_Name(s); }
std::string cri_name(runtime::v1::PodSandboxState s) { return runtime::v1::PodSandboxState_Name(s); }

}  // namespace

TEST_CASE("ctl views: CRI states are the ones the CRI facade reports, for every record state", "[ctl]") {
  const SandboxRecord pod = sandbox(std::string(64, 'a'), "web");
  for (auto desired : {SandboxState::Ready, SandboxState::NotReady, SandboxState::Removed})
    for (auto observed : {SandboxObserved::Unknown, SandboxObserved::Absent, SandboxObserved::Ready,
                          SandboxObserved::NotReady}) {
      SandboxRecord s = pod;
      s.desired_state = desired;
      s.observed_state = observed;
      CHECK(cri_state(s) == cri_name(lxe::cri::sandbox_state(s)));
    }
  for (auto desired : {ContainerState::Created, ContainerState::Running, ContainerState::Exited,
                       ContainerState::Removed})
    for (auto observed : {ContainerObserved::Unknown, ContainerObserved::Absent, ContainerObserved::Created,
                          ContainerObserved::Running, ContainerObserved::Exited})
      for (int64_t started : {int64_t{0}, kNow})
        for (int64_t finished : {int64_t{0}, kNow}) {
          ContainerRecord c = container(std::string(64, 'c'), pod, "app");
          c.desired_state = desired;
          c.observed_state = observed;
          c.started_at = started;
          c.finished_at = finished;
          INFO(to_string(desired) << " " << to_string(observed) << " " << started << " " << finished);
          CHECK(cri_state(c) == cri_name(lxe::cri::container_state(c)));
        }
}

TEST_CASE("ctl views: filters by state, pod name or ID prefix, namespace, name and labels", "[ctl]") {
  const SandboxRecord web = sandbox("aaaa" + std::string(60, '1'), "web", "prod");
  SandboxRecord db = sandbox("bbbb" + std::string(60, '2'), "db", "dev");
  db.observed_state = SandboxObserved::NotReady;
  ContainerRecord app = container("cccc" + std::string(60, '3'), web, "app");
  ContainerRecord side = container("dddd" + std::string(60, '4'), web, "side");
  side.observed_state = ContainerObserved::Exited;
  side.labels = {{"tier", "back"}};

  ListFilters f;
  CHECK(matches(web, f));
  f.state = "SANDBOX_READY";
  CHECK(matches(web, f));
  CHECK_FALSE(matches(db, f));
  f = {};
  f.pod = "web";
  CHECK(matches(web, f));
  CHECK_FALSE(matches(db, f));
  f.pod = "bbbb";
  CHECK(matches(db, f));
  f = {};
  f.namespace_ = "dev";
  CHECK(matches(db, f));
  CHECK_FALSE(matches(web, f));
  f = {};
  f.labels = {{"app", "db"}};
  CHECK(matches(db, f));
  CHECK_FALSE(matches(web, f));

  f = {};
  f.state = "CONTAINER_RUNNING";
  CHECK(matches(app, &web, f));
  CHECK_FALSE(matches(side, &web, f));
  f = {};
  f.pod = "aaaa";
  CHECK(matches(app, &web, f));
  f.pod = "web";
  CHECK(matches(app, &web, f));
  f.pod = "db";
  CHECK_FALSE(matches(app, &web, f));
  f = {};
  f.namespace_ = "prod";
  CHECK(matches(app, &web, f));
  CHECK_FALSE(matches(app, nullptr, f));
  f = {};
  f.name = "side";
  CHECK(matches(side, &web, f));
  CHECK_FALSE(matches(app, &web, f));
  f = {};
  f.labels = {{"tier", "front"}};
  CHECK(matches(app, &web, f));
  CHECK_FALSE(matches(side, &web, f));
  f.labels = {{"tier", "front"}, {"missing", "x"}};
  CHECK_FALSE(matches(app, &web, f));
}

TEST_CASE("ctl views: an ID, a unique prefix or an LXD name finds one object", "[ctl]") {
  const SandboxRecord web = sandbox("ab12" + std::string(60, '1'), "web");
  const ContainerRecord app = container("ab34" + std::string(60, '3'), web, "app");
  const ContainerRecord side = container("cd56" + std::string(60, '4'), web, "side");
  const std::vector<SandboxRecord> sandboxes = {web};
  const std::vector<ContainerRecord> containers = {app, side};

  auto found = [&](const std::string& wanted, const std::vector<Target>& history = {}) {
    const auto r = resolve_target(wanted, sandboxes, containers, history);
    REQUIRE(std::holds_alternative<Target>(r));
    return std::get<Target>(r);
  };
  auto failed = [&](const std::string& wanted) {
    const auto r = resolve_target(wanted, sandboxes, containers);
    REQUIRE(std::holds_alternative<LookupError>(r));
    return std::get<LookupError>(r);
  };
  CHECK(found(web.id).id == web.id);
  CHECK(found(web.id).kind == ObjectKind::Sandbox);
  CHECK(found("ab1").id == web.id);
  CHECK(found("cd").id == side.id);
  CHECK(found("cd").kind == ObjectKind::Container);
  CHECK(found(app.lxd_name).id == app.id);
  CHECK(found(web.lxd_name).id == web.id);

  const auto ambiguous = failed("ab");
  CHECK(ambiguous.ambiguous);
  CHECK(ambiguous.message.find("ambiguous") != std::string::npos);
  CHECK(ambiguous.message.find("sandbox ab12") != std::string::npos);
  CHECK(ambiguous.message.find("container ab34") != std::string::npos);
  const auto none = failed("ef");
  CHECK_FALSE(none.ambiguous);
  CHECK(none.message == "no pod sandbox or container with ID 'ef' in the store");

  // Objects known only from the event log count too, and make prefixes ambiguous.
  const std::vector<Target> history = {{ObjectKind::Container, "ef78" + std::string(60, '9')}};
  CHECK(found("ef", history).id == history[0].id);
  const auto r = resolve_target("a", sandboxes, containers, history);
  CHECK(std::get<LookupError>(r).ambiguous);
}

TEST_CASE("ctl views: a container's list JSON carries CRI's fields and the store's", "[ctl]") {
  const SandboxRecord web = sandbox(std::string(64, 'a'), "web");
  ContainerRecord c = container(std::string(64, 'c'), web, "app");
  c.last_error = "start-instance: boom";
  const auto j = container_json(c, &web);
  CHECK(j["id"] == c.id);
  CHECK(j["podSandboxId"] == web.id);
  CHECK(j["metadata"]["name"] == "app");
  CHECK(j["metadata"]["attempt"] == 0);
  CHECK(j["image"]["image"] == "busybox");
  CHECK(j["imageRef"] == "sha256:" + std::string(64, 'f'));
  CHECK(j["state"] == "CONTAINER_RUNNING");
  CHECK(j["createdAt"] == lxe::ctl::time_json(c.created_at));
  CHECK(j["finishedAt"].is_null());
  CHECK(j["labels"]["tier"] == "front");
  CHECK(j["annotations"].is_object());
  CHECK(j["pod"]["name"] == "web");
  CHECK(j["pod"]["namespace"] == "default");
  CHECK(j["desiredState"] == "running");
  CHECK(j["observedState"] == "running");
  CHECK(j["generation"] == 2);
  CHECK(j["observedGeneration"] == 2);
  CHECK(j["lastError"] == "start-instance: boom");
  CHECK(j["lxdName"] == c.lxd_name);
  CHECK(container_json(c, nullptr)["pod"].is_null());

  const auto s = sandbox_json(web, 3);
  CHECK(s["metadata"]["namespace"] == "default");
  CHECK(s["state"] == "SANDBOX_READY");
  CHECK(s["containerCount"] == 3);
}

TEST_CASE("ctl views: tables show short IDs, names, states and ages", "[ctl]") {
  const SandboxRecord web = sandbox(std::string(64, 'a'), "web", "prod");
  ContainerRecord c = container(std::string(64, 'c'), web, "app");
  c.last_error = std::string(100, 'x');
  const auto lines = non_empty_lines(container_table({c}, {&web}, kNow).render(false));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("CONTAINER ID    NAME   ATTEMPT   NAMESPACE   POD   IMAGE     STATE", 0) == 0);
  CHECK(lines[1].rfind(std::string(13, 'c') + "   app    0         prod        web   busybox   CONTAINER_RUNNING", 0) ==
        0);
  CHECK(lines[1].find(" 1m ") != std::string::npos);
  CHECK(lines[1].find(std::string(57, 'x') + "...") != std::string::npos);  // long errors are cut

  const auto s = non_empty_lines(sandbox_table({web}, {1}, kNow).render(false));
  REQUIRE(s.size() == 2);
  CHECK(s[1].rfind(std::string(13, 'a') + "   web    prod        0         SANDBOX_READY", 0) == 0);
  CHECK(s[1].find(" 5m ") != std::string::npos);
  CHECK(s[1].substr(s[1].size() - 1) == "-");  // no error
}

TEST_CASE("ctl views: show has everything stored about a container", "[ctl]") {
  const SandboxRecord web = sandbox(std::string(64, 'a'), "web");
  ContainerRecord c = container(std::string(64, 'c'), web, "app");
  c.desired_state = ContainerState::Exited;
  c.observed_state = ContainerObserved::Exited;
  c.finished_at = kNow - 10 * kSecond;
  c.exit_code = 143;
  c.reason = "Error";
  c.stop_timeout = 30;
  ReconcileEvent e;
  e.seq = 7;
  e.at = kNow;
  e.object_id = c.id;
  e.generation = 3;
  e.action = "record-exit";
  e.detail = "exit code 143";

  const auto j = container_detail_json(c, &web, {e}, std::nullopt);
  CHECK(j["kind"] == "container");
  CHECK(j["exitCode"] == 143);
  CHECK(j["reason"] == "Error");
  CHECK(j["state"] == "CONTAINER_EXITED");
  CHECK(j["logPath"] == c.log_path);
  CHECK(j["stopTimeout"] == 30);
  CHECK(j["imageFingerprint"] == std::string(64, 'f'));
  // Resources as CRI reports them: camelCase, int64 as strings, every field.
  CHECK(j["resources"]["linux"]["memoryLimitInBytes"] == "67108864");
  CHECK(j["resources"]["linux"]["cpuQuota"] == "50000");
  CHECK(j["resources"]["linux"]["cpuPeriod"] == "0");
  CHECK(j["mounts"][0]["containerPath"] == "/data");
  CHECK(j["mounts"][0]["readonly"] == true);
  CHECK(j["lxd"]["instance"] == c.lxd_name);
  CHECK(j["lxd"]["profiles"] == nlohmann::json::array({"default", web.lxd_name}));
  CHECK(j["config"]["metadata"]["name"] == "app");  // the config as received
  REQUIRE(j["recentEvents"].size() == 1);
  CHECK(j["recentEvents"][0]["action"] == "record-exit");
  CHECK_FALSE(j.contains("lxdLive"));

  const std::string text = container_detail_text(c, &web, {e}, std::nullopt, kNow, false);
  for (const char* want : {"Container       ", "CONTAINER_EXITED", "exited (generation 2)",
                           "exited (observed generation 2)", "Exit code       143", "Stop timeout    30s",
                           "memoryLimitInBytes=67108864", "cpuQuota=50000", "/srv/data -> /data (ro)",
                           "record-exit", "(10s ago)", "default, lxe-web-aaaaaaaaaaaa"})
    CHECK_THAT(text, Catch::Contains(want));
  CHECK(text.find("cpuPeriod") == std::string::npos);  // unset fields are left out of the text

  // With LXD's view (show --lxd).
  lxe::lxd::Instance instance;
  instance.name = c.lxd_name;
  instance.status = "Stopped";
  instance.config = {{"limits.memory", "67108864"}};
  instance.devices = {{"lxe-init", {}}, {"lxe-state", {}}};
  const auto live = container_detail_json(c, &web, {}, LxdLive{instance, std::nullopt})["lxdLive"];
  CHECK(live["instance"]["status"] == "Stopped");
  CHECK(live["instance"]["limits"]["limits.memory"] == "67108864");
  CHECK(live["instance"]["limits"]["limits.cpu"] == "");
  CHECK(live["instance"]["devices"] == nlohmann::json::array({"lxe-init", "lxe-state"}));
  CHECK(container_detail_json(c, &web, {}, LxdLive{})["lxdLive"]["instance"].is_null());
}

TEST_CASE("ctl views: show has everything stored about a sandbox", "[ctl]") {
  SandboxRecord web = sandbox(std::string(64, 'a'), "web");
  web.infra_pid = 4242;
  web.generation = 3;
  web.observed_generation = 2;
  web.desired_state = SandboxState::Removed;
  web.last_error = "delete-profile: in use";
  const ContainerRecord c = container(std::string(64, 'c'), web, "app");
  const auto j = sandbox_detail_json(web, {c}, {}, LxdLive{std::nullopt, true});
  CHECK(j["kind"] == "sandbox");
  CHECK(j["state"] == "SANDBOX_NOTREADY");
  CHECK(j["infraPid"] == 4242);
  CHECK(j["generation"] == 3);
  CHECK(j["observedGeneration"] == 2);
  CHECK(j["lastError"] == "delete-profile: in use");
  CHECK(j["containerCount"] == 1);
  CHECK(j["containers"][0]["id"] == c.id);
  CHECK(j["lxd"]["profile"] == web.lxd_name);
  CHECK(j["lxdLive"]["profileExists"] == true);
  const std::string text = sandbox_detail_text(web, {c}, {}, std::nullopt, kNow, false);
  for (const char* want : {"default/web (attempt 0)", "removed (generation 3)", "observed generation 2",
                           "Infra PID         4242", "delete-profile: in use", "app  attempt 0  CONTAINER_RUNNING"})
    CHECK_THAT(text, Catch::Contains(want));
}

TEST_CASE("ctl views: events as JSON and as fixed-width lines", "[ctl]") {
  ReconcileEvent e;
  e.seq = 12;
  e.at = 1'700'000'000'123'456'789;
  e.object_kind = ObjectKind::Sandbox;
  e.object_id = std::string(64, 'a');
  e.generation = 1;
  e.action = "record-infra-pid";
  e.outcome = lxe::store::EventOutcome::Error;
  e.detail = "LXD unavailable: gone\nsecond line";
  const auto j = event_json(e);
  CHECK(j == nlohmann::json{{"seq", 12},
                            {"time", "2023-11-14T22:13:20.123456789Z"},
                            {"objectKind", "sandbox"},
                            {"objectId", std::string(64, 'a')},
                            {"generation", 1},
                            {"action", "record-infra-pid"},
                            {"outcome", "error"},
                            {"detail", "LXD unavailable: gone\nsecond line"}});
  const std::string header = event_header(false);
  const std::string line = event_line(e, false);
  CHECK(line ==
        "12      2023-11-14T22:13:20.123Z   sandbox     aaaaaaaaaaaaa   1     record-infra-pid   error     "
        "LXD unavailable: gone second line\n");
  CHECK(header.find("DETAIL") == line.find("LXD unavailable"));
  CHECK(header.find("ACTION") == line.find("record-infra-pid"));
  CHECK(event_line(e, true).find("\033[31merror\033[0m") != std::string::npos);
}

TEST_CASE("ctl views: a pod's network and address, released once the pod is stopped", "[ctl][network]") {
  SandboxRecord web = sandbox(std::string(64, 'a'), "web");
  web.pod_network = "bridge:lxebr0";
  web.pod_ip = "10.233.0.7/16";
  SandboxRecord plain = sandbox(std::string(64, 'b'), "db");

  const auto rows = non_empty_lines(sandbox_table({web, plain}, {1, 0}, kNow).render(false));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].find("OBSERVED   IP") != std::string::npos);
  CHECK(rows[1].find(" 10.233.0.7 ") != std::string::npos);
  CHECK(rows[2].find(" ready      -   ") != std::string::npos);

  const auto j = sandbox_json(web, 1);
  CHECK(j["network"]["mode"] == "bridge lxebr0");
  CHECK(j["network"]["ip"] == "10.233.0.7");
  CHECK(j["network"]["address"] == "10.233.0.7/16");
  CHECK(sandbox_json(plain, 0)["network"]["mode"] == "none (loopback only)");
  CHECK_THAT(sandbox_detail_text(web, {}, {}, std::nullopt, kNow, false),
             Catch::Contains("bridge lxebr0, address 10.233.0.7/16"));

  web.desired_state = SandboxState::NotReady;
  CHECK(sandbox_json(web, 1)["network"]["ip"] == "");
  CHECK_THAT(sandbox_detail_text(web, {}, {}, std::nullopt, kNow, false), Catch::Contains("10.233.0.7/16 (released)"));
}
