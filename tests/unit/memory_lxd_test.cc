// MemoryLxd, the in-memory LXD the executor, reconciler and CRI handler tests stand on: the
// contract real LXD keeps (the same scenario runs against real LXD in tests/integration), and the
// test's controls: faults, the hook, the call log, events, exec scripts, out-of-band changes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/api_contract.h"
#include "support/memory_lxd.h"

using lxe::lxd::Error;
using lxe::lxd::ErrorKind;
using lxe::lxd::StopMode;
using lxe::test::MemoryLxd;
using Op = MemoryLxd::Op;

namespace {

template <typename F>
std::optional<ErrorKind> kind_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return std::nullopt;
}

lxe::lxd::InstanceSpec spec(const std::string& name) {
  lxe::lxd::InstanceSpec s;
  s.name = name;
  s.profiles = {"default"};
  s.config = {{"user.lxe.managed", "true"}, {"user.lxe.kind", "container"}};
  s.source.alias = "busybox";
  return s;
}

struct Bed {
  Bed() { lxd.add_image("rootfs", {"busybox"}); }
  MemoryLxd lxd;
};

}  // namespace

TEST_CASE("MemoryLxd keeps lxd::Api's contract, as real LXD does", "[memory_lxd]") {
  Bed bed;
  lxe::test::check_api_contract(bed.lxd, {"contract", "contractp", "missing", "busybox", {{"user.mark", "1"}}});
  CHECK(bed.lxd.instance_names().empty());
  CHECK(bed.lxd.profile_names() == std::vector<std::string>{"default"});
}

TEST_CASE("MemoryLxd: a fault fails the next calls of one operation, then calls work again", "[memory_lxd]") {
  Bed bed;
  bed.lxd.fail_next(Op::CreateInstance, {.kind = ErrorKind::Timeout, .times = 2});
  for (int i = 0; i < 2; ++i) {
    try {
      bed.lxd.create_instance(spec("c1"));
      FAIL("no fault");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Timeout);
      CHECK(e.unavailable());
    }
  }
  CHECK_FALSE(bed.lxd.instance("c1"));  // failed before taking effect
  bed.lxd.create_instance(spec("c1"));
  CHECK(bed.lxd.instance("c1"));
  const auto calls = bed.lxd.calls(Op::CreateInstance);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].error == ErrorKind::Timeout);
  CHECK(calls[1].error == ErrorKind::Timeout);
  CHECK_FALSE(calls[2].error);
  CHECK(calls[2].target == "c1");
  CHECK(calls[2].body["config"]["user.lxe.kind"] == "container");
}

TEST_CASE("MemoryLxd: a fault for one target leaves calls about other objects alone", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("a"));
  bed.lxd.create_instance(spec("b"));
  bed.lxd.fail_next(Op::StartInstance, {.kind = ErrorKind::BadRequest, .message = "nope", .target = "b"});
  bed.lxd.start_instance("a");
  try {
    bed.lxd.start_instance("b");
    FAIL("no fault");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadRequest);
    CHECK(e.http_status() == 400);
    CHECK_THAT(e.what(), Catch::Contains("nope"));
  }
  CHECK(bed.lxd.instance("a")->running());
  CHECK_FALSE(bed.lxd.instance("b")->running());
}

TEST_CASE("MemoryLxd: a fault after the effect: LXD acted, the answer was lost", "[memory_lxd]") {
  Bed bed;
  bed.lxd.fail_next(Op::CreateInstance, {.kind = ErrorKind::Timeout, .after_effect = true});
  CHECK(kind_of([&] { bed.lxd.create_instance(spec("c1")); }) == ErrorKind::Timeout);
  CHECK(bed.lxd.instance("c1"));
  CHECK(kind_of([&] { bed.lxd.create_instance(spec("c1")); }) == ErrorKind::Conflict);
}

TEST_CASE("MemoryLxd: busy is LXD's transient refusal, as lxd::Client reports it (ErrorKind::Busy)", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  bed.lxd.busy_next(Op::DeleteInstance);
  try {
    bed.lxd.delete_instance("c1");
    FAIL("not busy");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Busy);
    CHECK(e.transient());
    CHECK_THAT(e.what(), Catch::Contains("is busy"));
  }
  bed.lxd.delete_instance("c1");
  CHECK_FALSE(bed.lxd.instance("c1"));
}

TEST_CASE("MemoryLxd: unreachable, every call is a Transport error until LXD is back", "[memory_lxd]") {
  Bed bed;
  bed.lxd.set_reachable(false);
  CHECK(kind_of([&] { bed.lxd.server_info(); }) == ErrorKind::Transport);
  CHECK(kind_of([&] { bed.lxd.list_instances(); }) == ErrorKind::Transport);
  CHECK(kind_of([&] { bed.lxd.create_instance(spec("c1")); }) == ErrorKind::Transport);
  CHECK_FALSE(bed.lxd.instance("c1"));
  bed.lxd.set_reachable(true);
  CHECK(bed.lxd.server_info().server_version == "5.0.2");
}

TEST_CASE("MemoryLxd: the hook sees each call before it takes effect and may fail it", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  std::vector<std::string> seen;
  bed.lxd.set_hook([&](const MemoryLxd::Call& call) {
    seen.push_back(std::string(lxe::test::to_string(call.op)) + " " + call.target);
    // A person deletes the instance just as lxe starts it.
    if (call.op == Op::StartInstance) bed.lxd.delete_outside(call.target);
  });
  CHECK(kind_of([&] { bed.lxd.start_instance("c1"); }) == ErrorKind::NotFound);
  CHECK(seen == std::vector<std::string>{"start_instance c1"});
  bed.lxd.set_hook([](const MemoryLxd::Call&) { throw Error(ErrorKind::Server, "from the hook"); });
  CHECK(kind_of([&] { bed.lxd.list_profiles(); }) == ErrorKind::Server);
  CHECK(bed.lxd.calls(Op::ListProfiles).at(0).error == ErrorKind::Server);
}

TEST_CASE("MemoryLxd: lifecycle events as LXD sends them, for lxe's calls and out-of-band changes",
          "[memory_lxd]") {
  Bed bed;
  std::vector<std::string> events;
  bed.lxd.on_event([&](const lxe::lxd::LifecycleEvent& e) { events.push_back(e.action + " " + e.source); });
  bed.lxd.create_profile({"p1", "", {}, {}});
  bed.lxd.create_instance(spec("c1"));
  bed.lxd.start_instance("c1");
  bed.lxd.patch_instance("c1", {{"config", {{"limits.memory", "1GiB"}}}});
  bed.lxd.stop_instance("c1", StopMode::Graceful, std::chrono::seconds(10));
  bed.lxd.start_outside("c1");
  bed.lxd.stop_outside("c1");
  bed.lxd.delete_instance("c1");
  bed.lxd.edit_profile("p1", [](lxe::lxd::Profile& p) { p.devices.clear(); });
  bed.lxd.delete_profile("p1");
  CHECK(events == std::vector<std::string>{
                      "profile-created /1.0/profiles/p1",
                      "instance-created /1.0/instances/c1",
                      "instance-started /1.0/instances/c1",
                      "instance-updated /1.0/instances/c1",
                      "instance-shutdown /1.0/instances/c1",
                      "instance-started /1.0/instances/c1",
                      "instance-stopped /1.0/instances/c1",
                      "instance-deleted /1.0/instances/c1",
                      "profile-updated /1.0/profiles/p1",
                      "profile-deleted /1.0/profiles/p1",
                  });
}

TEST_CASE("MemoryLxd: a clean shutdown that does not finish ends as a forced stop", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  bed.lxd.start_instance("c1");
  bed.lxd.set_clean_shutdown("c1", false);
  std::vector<std::string> events;
  bed.lxd.on_event([&](const lxe::lxd::LifecycleEvent& e) { events.push_back(e.action); });
  bed.lxd.stop_instance("c1", StopMode::Graceful, std::chrono::seconds(10));
  CHECK_FALSE(bed.lxd.instance("c1")->running());
  CHECK(events == std::vector<std::string>{"instance-stopped"});
  const auto stop = bed.lxd.calls(Op::StopInstance).at(0);
  CHECK(stop.body["mode"] == "graceful");
  CHECK(stop.body["timeout"] == 10);
}

TEST_CASE("MemoryLxd: every start is a new init PID; out-of-band starts too", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  bed.lxd.start_instance("c1");
  const auto first = bed.lxd.get_instance_state("c1").pid;
  bed.lxd.start_outside("c1");  // lxc restart
  const auto second = bed.lxd.get_instance_state("c1").pid;
  CHECK(first > 0);
  CHECK(second > 0);
  CHECK(second != first);
  const auto listed = bed.lxd.list_instances("", true);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].state->pid == second);
}

TEST_CASE("MemoryLxd: exec answers what the test scripts", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  bed.lxd.start_instance("c1");
  bed.lxd.on_exec([](const std::string& instance, const std::vector<std::string>& command) {
    if (command.at(0) == "missing") throw Error(ErrorKind::OperationFailed, "Command not found");
    return lxe::lxd::ExecResult{3, instance + ":" + command.at(0), "err"};
  });
  const auto result = bed.lxd.exec("c1", {"echo"});
  CHECK(result.exit_code == 3);
  CHECK(result.stdout_data == "c1:echo");
  CHECK(result.stderr_data == "err");
  CHECK(kind_of([&] { bed.lxd.exec("c1", {"missing"}); }) == ErrorKind::OperationFailed);
  const auto calls = bed.lxd.calls(Op::Exec);
  REQUIRE(calls.size() == 2);
  CHECK_FALSE(calls[0].error);
  CHECK(calls[1].error == ErrorKind::OperationFailed);
  CHECK(calls[1].body["command"] == nlohmann::json::array({"missing"}));
}

TEST_CASE("MemoryLxd: filters LXD does not parse are refused as LXD refuses them", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  CHECK(bed.lxd.list_instances("config.user.lxe.managed eq true").size() == 1);
  CHECK(bed.lxd.list_instances("config.user.lxe.kind eq sandbox").empty());
  CHECK(bed.lxd.list_instances("name eq c1 and status eq Stopped").size() == 1);
  CHECK(kind_of([&] { bed.lxd.list_instances("config.user.lxe.kind =="); }) == ErrorKind::Server);
}

TEST_CASE("MemoryLxd: images by alias, fingerprint and unique prefix; imports as the client does them",
          "[memory_lxd]") {
  Bed bed;
  const std::string fingerprint = bed.lxd.get_image_alias("busybox").target;
  CHECK(fingerprint.size() == 64);
  CHECK(bed.lxd.get_image(fingerprint.substr(0, 12)).fingerprint == fingerprint);
  CHECK(kind_of([&] { bed.lxd.get_image("0123456789ab"); }) == ErrorKind::NotFound);

  const std::string pause = bed.lxd.import_image("pause tarball", "lxe-pause", {{"lxe.managed", "true"}});
  CHECK(bed.lxd.get_image_alias("lxe-pause").target == pause);
  CHECK(bed.lxd.get_image(pause).properties.at("lxe.managed") == "true");
  CHECK(bed.lxd.import_image("pause tarball", "lxe-pause") == pause);  // again: fine
  // The alias names another image: Conflict, and the upload is not left behind.
  CHECK(kind_of([&] { bed.lxd.import_image("other tarball", "lxe-pause"); }) == ErrorKind::Conflict);
  CHECK(bed.lxd.list_images().size() == 2);
}

TEST_CASE("MemoryLxd: out-of-band edits change the ETag as LXD's do", "[memory_lxd]") {
  Bed bed;
  bed.lxd.create_instance(spec("c1"));
  const auto before = bed.lxd.get_instance("c1").etag;
  bed.lxd.edit_instance("c1", [](lxe::lxd::Instance& i) { i.config["limits.memory"] = "1GiB"; });
  CHECK(kind_of([&] { bed.lxd.patch_instance("c1", {{"config", {{"user.a", "1"}}}}, before); }) ==
        ErrorKind::PreconditionFailed);
  CHECK(bed.lxd.instance("c1")->config.at("limits.memory") == "1GiB");
  CHECK(bed.lxd.instance("c1")->config.count("user.a") == 0);
  // Looking is not a call: the log has only the test's two calls.
  CHECK(bed.lxd.calls().size() == 3);
  CHECK(bed.lxd.count(Op::PatchInstance, "c1") == 1);
  bed.lxd.clear_calls();
  CHECK(bed.lxd.calls().empty());
}
