// lxe-ctl's commands against a real store (no LXD): each command's table and JSON output, the
// error cases and their exit codes, and that lxe-ctl never writes to the database, not even while
// a writer (lxe) has it open.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/time.h"
#include "common/version.h"
#include "ctl/commands.h"
#include "store/migrations.h"
#include "store/store.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

using namespace lxe::ctl;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::EventOutcome;
using lxe::store::ObjectKind;
using lxe::store::ReconcileEvent;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::store::Store;
using lxe::test::non_empty_lines;
using lxe::test::run_command;
using lxe::test::TempDir;

namespace {

constexpr int64_t kSecond = 1'000'000'000;

const std::string kWebId = "a0f5" + std::string(60, '1');
const std::string kDbId = "b7c2" + std::string(60, '2');
const std::string kAppId = "c3d4" + std::string(60, '3');
const std::string kSideId = "c3e5" + std::string(60, '4');
const std::string kCacheId = "e9f0" + std::string(60, '5');
const std::string kGoneId = "f00d" + std::string(60, '6');  // only in the event log

SandboxRecord make_sandbox(const std::string& id, const std::string& name, const std::string& ns, int64_t now) {
  SandboxRecord s;
  s.id = id;
  s.name = name;
  s.namespace_ = ns;
  s.uid = "uid-" + name;
  s.lxd_name = "lxe-" + name + "-" + id.substr(0, 12);
  s.labels = {{"app", name}};
  s.config_json = R"({"metadata":{"name":")" + name + R"(","namespace":")" + ns + R"("}})";
  s.created_at = now - 600 * kSecond;
  s.updated_at = s.created_at;
  s.desired_state = SandboxState::Ready;
  s.observed_state = SandboxObserved::Ready;
  s.observed_generation = 1;
  s.infra_pid = 4242;
  return s;
}

ContainerRecord make_container(const std::string& id, const SandboxRecord& pod, const std::string& name,
                               int64_t now) {
  ContainerRecord c;
  c.id = id;
  c.sandbox_id = pod.id;
  c.name = name;
  c.lxd_name = "lxe-" + pod.name + "-" + name + "-" + id.substr(0, 12);
  c.image = "docker.io/library/busybox:latest";
  c.image_ref = std::string(64, 'f');
  c.labels = {{"io.kubernetes.container.name", name}};
  c.config_json = R"({"metadata":{"name":")" + name + R"("},"image":{"image":"busybox"}})";
  c.log_path = "/var/log/pods/" + name + "/0.log";
  c.created_at = now - 180 * kSecond;
  c.updated_at = c.created_at;
  return c;
}

// A store as lxe leaves it: two pods, three containers in different states, an event log that
// also remembers a removed container.
void populate(Store& store) {
  const int64_t now = lxe::now_ns();
  const SandboxRecord web = make_sandbox(kWebId, "web", "prod", now);
  SandboxRecord db = make_sandbox(kDbId, "db", "dev", now);
  db.desired_state = SandboxState::NotReady;
  db.observed_state = SandboxObserved::NotReady;
  db.generation = 2;
  db.observed_generation = 2;
  store.insert_sandbox(web);
  store.insert_sandbox(db);

  ContainerRecord app = make_container(kAppId, web, "app", now);
  app.desired_state = ContainerState::Running;
  app.observed_state = ContainerObserved::Running;
  app.generation = 2;
  app.observed_generation = 2;
  app.started_at = now - 170 * kSecond;
  app.resources_json = R"({"memory_limit_in_bytes":"67108864"})";
  store.insert_container(app);

  ContainerRecord side = make_container(kSideId, web, "side", now);
  side.desired_state = ContainerState::Exited;
  side.observed_state = ContainerObserved::Exited;
  side.generation = 3;
  side.observed_generation = 3;
  side.started_at = now - 170 * kSecond;
  side.finished_at = now - 60 * kSecond;
  side.exit_code = 143;
  side.reason = "Error";
  side.labels["tier"] = "back";
  store.insert_container(side);

  ContainerRecord cache = make_container(kCacheId, db, "cache", now);
  cache.desired_state = ContainerState::Created;
  cache.observed_state = ContainerObserved::Unknown;
  cache.last_error = "create-instance: LXD said no";
  store.insert_container(cache);

  auto event = [&](ObjectKind kind, const std::string& id, int64_t gen, const std::string& action,
                   EventOutcome outcome, const std::string& detail, int64_t ago_s) {
    ReconcileEvent e;
    e.at = now - ago_s * kSecond;
    e.object_kind = kind;
    e.object_id = id;
    e.generation = gen;
    e.action = action;
    e.outcome = outcome;
    e.detail = detail;
    store.append_event(e);
  };
  event(ObjectKind::Sandbox, kWebId, 1, "create-profile", EventOutcome::Ok, "profile missing", 590);
  event(ObjectKind::Container, kGoneId, 1, "create-instance", EventOutcome::Ok, "instance missing", 500);
  event(ObjectKind::Container, kGoneId, 2, "erase-record", EventOutcome::Ok, "gone", 400);
  event(ObjectKind::Container, kAppId, 1, "create-instance", EventOutcome::Ok, "instance missing", 175);
  event(ObjectKind::Container, kAppId, 2, "start-instance", EventOutcome::Ok, "start requested", 171);
  event(ObjectKind::Container, kCacheId, 1, "create-instance", EventOutcome::Error, "LXD said no", 100);
  event(ObjectKind::Container, kSideId, 3, "record-exit", EventOutcome::Ok, "exit code 143", 60);
}

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result ctl(const std::vector<std::string>& args) {
  const auto parsed = parse_args(args, lxe::now_ns());
  if (const auto* e = std::get_if<UsageError>(&parsed)) return {kExitUsage, "", e->message};
  std::ostringstream out, err;
  const int code = run(std::get<Invocation>(parsed), Io{out, err, false});
  return {code, out.str(), err.str()};
}

// A database as a stopped lxe leaves it (WAL checkpointed and removed).
struct StoppedLxe {
  TempDir dir;
  std::string db = dir.file("lxe.db");
  StoppedLxe() {
    Store store(db, Store::Mode::ReadWrite);
    populate(store);
  }
  Result run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--db", db});
    return ctl(args);
  }
};

std::vector<std::string> ids_of(const nlohmann::json& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i["id"]);
  return out;
}

// What a file is now: size, modification time, content.
struct FileState {
  bool exists = false;
  off_t size = 0;
  timespec mtime{};
  std::string content;
  bool operator==(const FileState& o) const {
    return exists == o.exists && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec && content == o.content;
  }
};

FileState file_state(const std::string& path) {
  FileState f;
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return f;
  f.exists = true;
  f.size = st.st_size;
  f.mtime = st.st_mtim;
  std::ifstream in(path, std::ios::binary);
  f.content.assign(std::istreambuf_iterator<char>(in), {});
  return f;
}

// Every reading command line, run as the real binary.
std::vector<std::vector<std::string>> read_commands(const std::string& db) {
  const std::string bin = LXE_CTL_BINARY;
  return {
      {bin, "--db", db, "sandboxes"},
      {bin, "--db", db, "sandboxes", "--json"},
      {bin, "--db", db, "containers", "-o", "yaml"},
      {bin, "--db", db, "containers", "--state", "running"},
      {bin, "--db", db, "show", "c3d4"},
      {bin, "--db", db, "show", "a0f5", "--json"},
      {bin, "--db", db, "events"},
      {bin, "--db", db, "events", "f00d", "--json"},
      {bin, "--db", db, "show", "nope"},
      {bin, "--db", db, "top", "--interval", "100ms"},
  };
}

}  // namespace

TEST_CASE("ctl: sandboxes as a table and as JSON, with filters", "[ctl]") {
  StoppedLxe node;
  auto r = node.run({"sandboxes"});
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  auto lines = non_empty_lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("POD ID          NAME   NAMESPACE   ATTEMPT   STATE", 0) == 0);
  CHECK_THAT(lines[1], Catch::StartsWith(kWebId.substr(0, 13) + "   web    prod        0         SANDBOX_READY") &&
                           Catch::Contains(" 10m "));
  CHECK_THAT(lines[2], Catch::StartsWith(kDbId.substr(0, 13) + "   db     dev         0         SANDBOX_NOTREADY"));
  CHECK(r.out.find('\033') == std::string::npos);  // not a terminal: no colour

  r = node.run({"sandboxes", "--json"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(ids_of(j["sandboxes"]) == std::vector<std::string>{kWebId, kDbId});
  CHECK(j["sandboxes"][0]["state"] == "SANDBOX_READY");
  CHECK(j["sandboxes"][0]["containerCount"] == 2);
  CHECK(j["sandboxes"][1]["desiredState"] == "notready");

  CHECK(ids_of(nlohmann::json::parse(node.run({"sandboxes", "--json", "--state", "notready"}).out)["sandboxes"]) ==
        std::vector<std::string>{kDbId});
  CHECK(ids_of(nlohmann::json::parse(node.run({"sandboxes", "--json", "-n", "prod"}).out)["sandboxes"]) ==
        std::vector<std::string>{kWebId});
  CHECK(ids_of(nlohmann::json::parse(node.run({"sandboxes", "--json", "-l", "app=db"}).out)["sandboxes"]) ==
        std::vector<std::string>{kDbId});
  // Nothing matches: the header alone, or an empty list.
  CHECK(non_empty_lines(node.run({"sandboxes", "--pod", "nope"}).out).size() == 1);
  CHECK(nlohmann::json::parse(node.run({"sandboxes", "--pod", "nope", "--json"}).out)["sandboxes"].empty());

  r = node.run({"pods", "-o", "yaml"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("sandboxes:\n  - annotations: {}\n") &&
                        Catch::Contains("    state: \"SANDBOX_READY\"\n"));
}

TEST_CASE("ctl: containers as a table and as JSON, with filters", "[ctl]") {
  StoppedLxe node;
  auto r = node.run({"containers"});
  REQUIRE(r.code == 0);
  const auto lines = non_empty_lines(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "CONTAINER ID    NAME    ATTEMPT   NAMESPACE   POD   IMAGE                              STATE               "
        "DESIRED   OBSERVED   AGE   LAST ERROR");
  CHECK_THAT(lines[1], Catch::StartsWith(kAppId.substr(0, 13) + "   app     0         prod        web   "
                                                                "docker.io/library/busybox:latest   CONTAINER_RUNNING   "
                                                                "running   running    3m    -"));
  CHECK_THAT(lines[2], Catch::Contains("CONTAINER_EXITED    exited    exited"));
  CHECK_THAT(lines[3], Catch::Contains("cache") && Catch::Contains("CONTAINER_CREATED   created   unknown") &&
                           Catch::EndsWith("create-instance: LXD said no"));

  r = node.run({"containers", "--json"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["containers"].size() == 3);
  CHECK(ids_of(j["containers"]) == std::vector<std::string>{kAppId, kSideId, kCacheId});
  CHECK(j["containers"][0]["state"] == "CONTAINER_RUNNING");
  CHECK(j["containers"][1]["state"] == "CONTAINER_EXITED");
  CHECK(j["containers"][1]["exitCode"] == 143);
  CHECK(j["containers"][2]["state"] == "CONTAINER_CREATED");
  CHECK(j["containers"][0]["podSandboxId"] == kWebId);
  CHECK(j["containers"][0]["pod"]["name"] == "web");

  auto ids = [&](std::vector<std::string> args) {
    args.push_back("--json");
    const auto out = node.run(args);
    REQUIRE(out.code == 0);
    return ids_of(nlohmann::json::parse(out.out)["containers"]);
  };
  CHECK(ids({"ps", "--state", "exited"}) == std::vector<std::string>{kSideId});
  CHECK(ids({"ps", "--state", "CONTAINER_CREATED"}) == std::vector<std::string>{kCacheId});
  CHECK(ids({"ps", "--pod", "web"}) == std::vector<std::string>{kAppId, kSideId});
  CHECK(ids({"ps", "--pod", "b7c"}) == std::vector<std::string>{kCacheId});
  CHECK(ids({"ps", "-n", "dev"}) == std::vector<std::string>{kCacheId});
  CHECK(ids({"ps", "--name", "side"}) == std::vector<std::string>{kSideId});
  CHECK(ids({"ps", "-l", "tier=back"}) == std::vector<std::string>{kSideId});
  CHECK(ids({"ps", "-l", "tier=back", "--state", "running"}).empty());
}

TEST_CASE("ctl: show a container or a sandbox by ID, prefix or LXD name", "[ctl]") {
  StoppedLxe node;
  auto r = node.run({"show", "c3d"});
  REQUIRE(r.code == 0);
  for (const char* want : {"CONTAINER_RUNNING", "running (generation 2)", "running (observed generation 2)",
                           "memoryLimitInBytes=67108864", "/var/log/pods/app/0.log", "lxe-web-app-c3d4",
                           "start-instance", "prod/web"})
    CHECK_THAT(r.out, Catch::Contains(want));
  CHECK_THAT(r.out, Catch::StartsWith("Container       " + kAppId + "\n"));

  r = node.run({"show", kSideId, "--json"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["kind"] == "container");
  CHECK(j["id"] == kSideId);
  CHECK(j["state"] == "CONTAINER_EXITED");
  CHECK(j["exitCode"] == 143);
  CHECK(j["reason"] == "Error");
  CHECK(j["logPath"] == "/var/log/pods/side/0.log");
  CHECK(j["generation"] == 3);
  CHECK(j["recentEvents"].size() == 1);
  CHECK(j["config"]["image"]["image"] == "busybox");

  r = node.run({"show", "lxe-db-" + kDbId.substr(0, 12), "-o", "yaml"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("kind: \"sandbox\"\n") && Catch::Contains("infraPid: 4242\n") &&
                        Catch::Contains("state: \"SANDBOX_NOTREADY\"\n"));
  r = node.run({"inspect", "a0f5"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("Pod sandbox       " + kWebId) && Catch::Contains("Infra PID         4242"));
}

TEST_CASE("ctl: unknown and ambiguous IDs are one line and exit 3", "[ctl]") {
  StoppedLxe node;
  auto r = node.run({"show", "9999"});
  CHECK(r.code == kExitNotFound);
  CHECK(r.out.empty());
  CHECK(r.err == "lxe-ctl: error: no pod sandbox or container with ID '9999' in the store\n");

  r = node.run({"show", "c3"});
  CHECK(r.code == kExitNotFound);
  CHECK_THAT(r.err, Catch::StartsWith("lxe-ctl: error: ID prefix 'c3' is ambiguous: it matches 2 objects") &&
                        Catch::Contains("container c3d4") && Catch::Contains("container c3e5"));
  CHECK(non_empty_lines(r.err).size() == 1);

  // A removed object: not found, but the event log knows it.
  r = node.run({"show", "f00d"});
  CHECK(r.code == kExitNotFound);
  CHECK_THAT(r.err, Catch::Contains("the event log has container " + kGoneId + ", which was removed"));

  r = node.run({"events", "9999"});
  CHECK(r.code == kExitNotFound);
  CHECK(non_empty_lines(r.err).size() == 1);
  CHECK(node.run({"events", "c3"}).code == kExitNotFound);
}

TEST_CASE("ctl: events in time order, for one object, the last N, or since a time", "[ctl]") {
  StoppedLxe node;
  auto r = node.run({"events"});
  REQUIRE(r.code == 0);
  auto lines = non_empty_lines(r.out);
  REQUIRE(lines.size() == 8);
  CHECK_THAT(lines[0], Catch::StartsWith("SEQ     TIME                       KIND        ID              GEN   ACTION"));
  CHECK_THAT(lines[1], Catch::StartsWith("1       ") && Catch::Contains("sandbox     a0f5") &&
                           Catch::Contains("create-profile     ok        profile missing"));
  CHECK_THAT(lines[6], Catch::Contains("create-instance    error     LXD said no"));

  r = node.run({"events", "--json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out)["events"];
  REQUIRE(j.size() == 7);
  for (size_t i = 0; i < j.size(); ++i) CHECK(j[i]["seq"] == static_cast<int>(i + 1));
  CHECK(j[0]["objectKind"] == "sandbox");
  CHECK(j[5]["outcome"] == "error");

  j = nlohmann::json::parse(node.run({"events", "c3d4", "--json"}).out)["events"];
  REQUIRE(j.size() == 2);
  CHECK(j[0]["action"] == "create-instance");
  CHECK(j[1]["action"] == "start-instance");
  // The log outlives the objects: a removed container's history by prefix, and by full ID.
  j = nlohmann::json::parse(node.run({"events", "f00", "--json"}).out)["events"];
  REQUIRE(j.size() == 2);
  CHECK(j[1]["action"] == "erase-record");
  CHECK(nlohmann::json::parse(node.run({"events", kGoneId, "--json"}).out)["events"].size() == 2);
  // By LXD name.
  CHECK(nlohmann::json::parse(node.run({"events", "lxe-web-app-c3d4" + std::string(8, '3'), "--json"}).out)["events"]
            .size() == 2);

  j = nlohmann::json::parse(node.run({"events", "--tail", "2", "--json"}).out)["events"];
  REQUIRE(j.size() == 2);
  CHECK(j[0]["seq"] == 6);
  CHECK(j[1]["seq"] == 7);
  j = nlohmann::json::parse(node.run({"events", "--since", "3m", "--json"}).out)["events"];
  REQUIRE(j.size() == 4);  // 175 s ago and later
  CHECK(j[0]["action"] == "create-instance");

  r = node.run({"events", "-o", "yaml", "--tail", "1"});
  CHECK_THAT(r.out, Catch::StartsWith("events:\n  - action: \"record-exit\"\n"));
}

TEST_CASE("ctl: top reads the running containers' cgroups, shows '-' for the others, and sums pods", "[ctl]") {
  StoppedLxe node;
  // A cgroup v2 tree in which only app runs (its files stay as they are: no CPU used in between).
  TempDir cgroups;
  lxe::test::write_file(cgroups.file("cgroup.controllers"), "cpu memory pids\n");
  const std::string app_cgroup = cgroups.file("lxc.payload.lxe-web-app-" + kAppId.substr(0, 12));
  std::filesystem::create_directories(app_cgroup);
  lxe::test::write_file(app_cgroup + "/cpu.stat", "usage_usec 83400000\n");
  lxe::test::write_file(app_cgroup + "/memory.current", "52428800\n");
  lxe::test::write_file(app_cgroup + "/memory.stat", "anon 20971520\ninactive_file 10485760\n");
  lxe::test::write_file(app_cgroup + "/pids.current", "3\n");
  auto top = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"top", "--cgroup-root", cgroups.path(), "--interval", "100ms"});
    return node.run(args);
  };

  auto r = top({});
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  auto lines = non_empty_lines(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "POD        CONTAINER   CONTAINER ID    STATE               CPU(cores)   CPU TIME   MEMORY   RSS    PIDS");
  CHECK(lines[1] == "prod/web   app         " + kAppId.substr(0, 13) +
                        "   CONTAINER_RUNNING   0.00         1m23s      40Mi     20Mi   3");
  CHECK(lines[2] == "prod/web   side        " + kSideId.substr(0, 13) +
                        "   CONTAINER_EXITED    -            -          -        -      -");
  CHECK_THAT(lines[3],
             Catch::StartsWith("dev/db     cache       " + kCacheId.substr(0, 13) + "   CONTAINER_CREATED") &&
                 Catch::EndsWith("-"));

  r = top({"--json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out)["containers"];
  REQUIRE(j.size() == 3);
  CHECK(ids_of(j) == std::vector<std::string>{kAppId, kSideId, kCacheId});
  CHECK(j[0]["measured"] == true);
  CHECK(j[0]["cpu"]["usageNanoCores"] == 0);
  CHECK(j[0]["cpu"]["usageCoreNanoSeconds"] == 83'400'000'000);
  CHECK(j[0]["memory"]["workingSetBytes"] == 41'943'040);
  CHECK(j[0]["memory"]["usageBytes"] == 52'428'800);
  CHECK(j[0]["memory"]["rssBytes"] == 20'971'520);
  CHECK(j[0]["process"]["processCount"] == 3);
  CHECK(j[1]["measured"] == false);
  CHECK(j[1]["cpu"]["usageNanoCores"].is_null());
  CHECK(j[1]["memory"]["workingSetBytes"] == 0);

  // Filters: an ID prefix or LXD name, and the filters of containers; sorted by memory.
  CHECK(ids_of(nlohmann::json::parse(top({"c3", "--json"}).out)["containers"]) ==
        std::vector<std::string>{kAppId, kSideId});
  CHECK(ids_of(nlohmann::json::parse(top({"lxe-db-cache-" + kCacheId.substr(0, 12), "--json"}).out)["containers"]) ==
        std::vector<std::string>{kCacheId});
  CHECK(ids_of(nlohmann::json::parse(top({"--pod", "db", "--json"}).out)["containers"]) ==
        std::vector<std::string>{kCacheId});
  CHECK(ids_of(nlohmann::json::parse(top({"--state", "exited", "--json"}).out)["containers"]) ==
        std::vector<std::string>{kSideId});
  CHECK(ids_of(nlohmann::json::parse(top({"--sort", "memory", "-n", "dev", "--json"}).out)["containers"]) ==
        std::vector<std::string>{kCacheId});
  CHECK(ids_of(nlohmann::json::parse(top({"--sort", "memory", "--json"}).out)["containers"])[0] == kAppId);
  // A filter that leaves nothing: the header alone.
  CHECK(non_empty_lines(top({"--name", "nope"}).out).size() == 1);

  // One row per pod.
  r = top({"--pods"});
  REQUIRE(r.code == 0);
  lines = non_empty_lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Catch::StartsWith("POD        POD ID          STATE              CONTAINERS   CPU(cores)"));
  CHECK_THAT(lines[1],
             Catch::StartsWith("prod/web   " + kWebId.substr(0, 13) + "   SANDBOX_READY      2            0.00"));
  CHECK_THAT(lines[2],
             Catch::StartsWith("dev/db     " + kDbId.substr(0, 13) + "   SANDBOX_NOTREADY   1            -"));
  j = nlohmann::json::parse(top({"--pods", "-o", "json"}).out)["pods"];
  REQUIRE(j.size() == 2);
  CHECK(j[0]["id"] == kWebId);
  CHECK(j[0]["containerCount"] == 2);
  CHECK(j[0]["memory"]["workingSetBytes"] == 41'943'040);
  CHECK(j[1]["measured"] == false);
  r = top({"--pods", "-o", "yaml"});
  CHECK_THAT(r.out, Catch::StartsWith("pods:\n"));

  // An ID that names no container is exit 3; a cgroup root that is not there, a usage error.
  r = top({"9999"});
  CHECK(r.code == kExitNotFound);
  CHECK(r.err == "lxe-ctl: error: no container with ID '9999' in the store\n");
  CHECK(top({kWebId.substr(0, 6)}).code == kExitNotFound);  // a pod's ID: use --pod
  r = node.run({"top", "--cgroup-root", node.dir.file("nope")});
  CHECK(r.code == kExitUsage);
  CHECK_THAT(r.err, Catch::Contains("is not a directory"));
}

TEST_CASE("ctl: colour on a terminal only, unless told otherwise", "[ctl]") {
  CHECK(use_color(ColorMode::Always, false));
  CHECK_FALSE(use_color(ColorMode::Never, true));
  CHECK_FALSE(use_color(ColorMode::Auto, false));
  setenv("NO_COLOR", "1", 1);
  CHECK_FALSE(use_color(ColorMode::Auto, true));
  unsetenv("NO_COLOR");
  StoppedLxe node;
  CHECK(node.run({"containers", "--color", "always"}).out.find("\033[32mCONTAINER_RUNNING\033[0m") !=
        std::string::npos);
  CHECK(node.run({"containers"}).out.find('\033') == std::string::npos);
}

TEST_CASE("ctl: version", "[ctl]") {
  auto r = ctl({"version"});
  CHECK(r.code == 0);
  CHECK(r.out == std::string("lxe-ctl ") + lxe::kVersion + " (store schema " +
                     std::to_string(lxe::store::latest_schema_version()) + ")\n");
  const auto j = nlohmann::json::parse(ctl({"version", "--json"}).out);
  CHECK(j["version"] == lxe::kVersion);
  CHECK(j["storeSchema"] == lxe::store::latest_schema_version());
}

TEST_CASE("ctl: a missing store, a newer or older one, or no database at all: exit 4", "[ctl]") {
  TempDir dir;
  auto r = ctl({"--db", dir.file("nope.db"), "containers"});
  CHECK(r.code == kExitStoreUnusable);
  CHECK(r.err == "lxe-ctl: error: no store at " + dir.file("nope.db") +
                     " (is --db right? lxe creates it on its first start)\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("nope.db")));  // not created

  const std::string newer = dir.file("newer.db");
  {
    Store store(newer, Store::Mode::ReadWrite);
  }
  {
    SQLite::Database db(newer, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = " + std::to_string(lxe::store::latest_schema_version() + 1));
  }
  r = ctl({"--db", newer, "sandboxes"});
  CHECK(r.code == kExitStoreUnusable);
  CHECK_THAT(r.err, Catch::Contains("written by a newer lxe"));
  CHECK(non_empty_lines(r.err).size() == 1);
  {
    SQLite::Database db(newer, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == lxe::store::latest_schema_version() + 1);
  }

  const std::string older = dir.file("older.db");
  {
    SQLite::Database db(older, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE t (x)");
    db.exec("PRAGMA user_version = 0");
  }
  r = ctl({"--db", older, "events"});
  CHECK(r.code == kExitStoreUnusable);
  CHECK_THAT(r.err, Catch::Contains("start this version's lxe once to migrate it"));

  const std::string junk = dir.file("junk.db");
  lxe::test::write_file(junk, "this is not a database, just text long enough to have a header...........\n");
  r = ctl({"--db", junk, "containers"});
  CHECK(r.code == kExitStoreUnusable);
  CHECK_THAT(r.err, Catch::StartsWith("lxe-ctl: error: cannot open the store at " + junk));
}

TEST_CASE("ctl: a store locked by another process is exit 4 after the busy timeout", "[ctl]") {
  StoppedLxe node;
  SQLite::Database locker(node.db, SQLite::OPEN_READWRITE);
  locker.exec("PRAGMA locking_mode = EXCLUSIVE");
  locker.exec("BEGIN EXCLUSIVE");
  locker.execAndGet("SELECT count(*) FROM pod_sandboxes");
  const auto r = node.run({"containers"});
  CHECK(r.code == kExitStoreUnusable);
  CHECK_THAT(r.err, Catch::Contains("locked"));
  CHECK(non_empty_lines(r.err).size() == 1);
  locker.exec("COMMIT");
}

TEST_CASE("ctl: diff with LXD unreachable is exit 5", "[ctl]") {
  StoppedLxe node;
  const std::string socket = node.dir.file("dead.sock");
  lxe::test::make_dead_socket(socket);
  auto r = node.run({"diff", "--lxd-socket", socket});
  CHECK(r.code == kExitLxdUnavailable);
  CHECK_THAT(r.err, Catch::StartsWith("lxe-ctl: error: LXD unreachable (" + socket + ")"));
  CHECK(non_empty_lines(r.err).size() == 1);
  r = node.run({"diff", "--lxd-socket", node.dir.file("missing.sock")});
  CHECK(r.code == kExitLxdUnavailable);
  r = node.run({"show", "c3d4", "--lxd", "--lxd-socket", socket});
  CHECK(r.code == kExitLxdUnavailable);
  // A store problem is reported before LXD is asked.
  CHECK(ctl({"--db", node.dir.file("nope.db"), "diff", "--lxd-socket", socket}).code == kExitStoreUnusable);
}

TEST_CASE("ctl binary: help, usage errors and exit codes", "[ctl]") {
  const std::string bin = LXE_CTL_BINARY;
  auto r = run_command({bin, "--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Exit codes:") && Catch::Contains("  4  the store is unusable"));
  r = run_command({bin, "containers", "--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("Usage: lxe-ctl containers"));
  r = run_command({bin, "help", "diff"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("Usage: lxe-ctl diff"));
  r = run_command({bin});
  CHECK(r.exit_code == kExitUsage);
  CHECK(r.err == "lxe-ctl: error: no command given (see lxe-ctl --help)\n");
  r = run_command({bin, "containers", "--frob"});
  CHECK(r.exit_code == kExitUsage);
  CHECK(r.err == "lxe-ctl: error: unknown flag '--frob' (see lxe-ctl containers --help)\n");
  r = run_command({bin, "version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("lxe-ctl "));
  r = run_command({bin, "--db", "/nonexistent/lxe.db", "sandboxes"});
  CHECK(r.exit_code == kExitStoreUnusable);
  CHECK(non_empty_lines(r.err).size() == 1);
}

TEST_CASE("ctl: a write through lxe-ctl's connection fails and changes nothing", "[ctl]") {
  StoppedLxe node;
  const FileState before = file_state(node.db);
  {
    auto store = open_store_readonly(node.db);
    SandboxRecord s = make_sandbox(std::string(64, '9'), "intruder", "x", lxe::now_ns());
    CHECK_THROWS_AS(store->insert_sandbox(s), lxe::store::StoreError);
    auto existing = store->find_sandbox(kWebId);
    REQUIRE(existing);
    existing->last_error = "written by lxe-ctl";
    CHECK_THROWS_AS(store->update_sandbox(*existing), lxe::store::StoreError);
    CHECK_THROWS_AS(store->delete_container(kCacheId), lxe::store::StoreError);
    ReconcileEvent e;
    e.object_id = kWebId;
    e.action = "observe";
    CHECK_THROWS_AS(store->append_event(e), lxe::store::StoreError);
    CHECK(store->list_sandboxes().size() == 2);
  }
  CHECK(file_state(node.db) == before);
  Store check(node.db, Store::Mode::ReadOnly);
  CHECK(check.find_sandbox(kWebId)->last_error.empty());
  CHECK(check.list_events({}).size() == 7);
}

TEST_CASE("ctl binary: never writes the database while a writer has it open (WAL)", "[ctl]") {
  StoppedLxe node;
  // lxe: a read-write connection with uncheckpointed commits in the WAL.
  Store writer(node.db, Store::Mode::ReadWrite);
  ReconcileEvent e;
  e.at = lxe::now_ns();
  e.object_id = kAppId;
  e.action = "record-started";
  writer.append_event(e);
  REQUIRE(std::filesystem::exists(node.db + "-wal"));
  const FileState db_before = file_state(node.db);
  const FileState wal_before = file_state(node.db + "-wal");
  REQUIRE(wal_before.size > 0);

  for (const auto& argv : read_commands(node.db)) {
    const auto r = run_command(argv);
    INFO(argv[3] << ": " << r.err);
    CHECK((r.exit_code == 0 || r.exit_code == kExitNotFound));
  }
  // lxe-ctl saw the commit that is still only in the WAL.
  const auto r = run_command({LXE_CTL_BINARY, "--db", node.db, "events", "--json"});
  CHECK(nlohmann::json::parse(r.out)["events"].size() == 8);

  CHECK(file_state(node.db) == db_before);
  CHECK(file_state(node.db + "-wal") == wal_before);
  // The writer is never blocked: it commits at once afterwards, too.
  CHECK_NOTHROW(writer.append_event(e));
}

TEST_CASE("ctl binary: never writes the database of a stopped lxe", "[ctl]") {
  StoppedLxe node;
  REQUIRE_FALSE(std::filesystem::exists(node.db + "-wal"));
  const FileState db_before = file_state(node.db);
  for (const auto& argv : read_commands(node.db)) run_command(argv);
  CHECK(file_state(node.db) == db_before);
  // SQLite's WAL protocol makes a reader create the -wal and -shm side files when they are missing;
  // nothing is ever written into the WAL.
  const FileState wal = file_state(node.db + "-wal");
  if (wal.exists) CHECK(wal.size == 0);
  // lxe opens it afterwards as usual.
  Store writer(node.db, Store::Mode::ReadWrite);
  CHECK(writer.list_containers().size() == 3);
}

TEST_CASE("ctl binary: events --follow prints new events as they are committed, without blocking lxe",
          "[ctl]") {
  StoppedLxe node;
  Store writer(node.db, Store::Mode::ReadWrite);
  const std::string out_path = node.dir.file("follow.out");
  lxe::test::write_file(out_path, "");
  // Runs the follower until it is signalled; run_command would wait for it, so spawn by hand.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_TRUNC);
    dup2(fd, 1);
    execl(LXE_CTL_BINARY, LXE_CTL_BINARY, "--db", node.db.c_str(), "events", "--follow", "--json", "--tail", "1",
          "--poll-interval", "50ms", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto wait_for_lines = [&](size_t n) {
    for (int i = 0; i < 100; ++i) {
      if (non_empty_lines(lxe::test::read_file(out_path)).size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  CHECK(wait_for_lines(1));  // the last existing event
  for (int i = 0; i < 3; ++i) {
    ReconcileEvent e;
    e.at = lxe::now_ns();
    e.object_id = kAppId;
    e.generation = 10 + i;
    e.action = "mark-reconciled";
    const auto start = std::chrono::steady_clock::now();
    writer.append_event(e);  // never waits on the reader
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  }
  CHECK(wait_for_lines(4));
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto lines = non_empty_lines(lxe::test::read_file(out_path));
  REQUIRE(lines.size() == 4);
  CHECK(nlohmann::json::parse(lines[0])["seq"] == 7);
  for (int i = 1; i < 4; ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    CHECK(j["seq"] == 7 + i);
    CHECK(j["generation"] == 9 + i);
  }
}
