// The LXD client against the real LXD of this machine (scripts/setup.sh starts it and imports the
// `busybox` image). Every object is named with the run prefix and marked with this process's pid;
// objects of dead earlier runs are swept first, and each test deletes its own, even when it fails.
#include <catch2/catch.hpp>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "lxd/client.h"
#include "support/test_lxd.h"

using lxe::lxd::Client;
using lxe::lxd::Error;
using lxe::lxd::ErrorKind;
using lxe::lxd::StopMode;
using lxe::test::LxdCleanup;
using lxe::test::test_name;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kImageAlias = "busybox";
// busybox has no init; sleep as PID 1 ignores the shutdown signal, so clean stops time out.
constexpr const char* kInitCmd = "lxc.init.cmd = /bin/sleep 100000";

Client lxd_client() {
  const std::string socket = lxe::test::lxd_socket_path();
  INFO("no LXD socket: set LXE_TEST_LXD_SOCKET or run scripts/setup.sh");
  REQUIRE_FALSE(socket.empty());
  Client client = lxe::test::make_test_lxd_client();
  lxe::test::sweep_stale_test_objects(client);
  return client;
}

template <typename F>
ErrorKind kind_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    INFO(e.what());
    return e.kind();
  }
  FAIL("did not throw");
  return ErrorKind::Protocol;
}

lxe::lxd::ProfileSpec marked_profile(const std::string& name) {
  lxe::lxd::ProfileSpec spec;
  spec.name = name;
  spec.description = "lxe test profile";
  spec.config = {{"limits.memory", "256MiB"}};
  lxe::test::mark(spec.config);
  return spec;
}

lxe::lxd::InstanceSpec marked_container(const std::string& name,
                                        std::vector<std::string> profiles) {
  lxe::lxd::InstanceSpec spec;
  spec.name = name;
  spec.profiles = std::move(profiles);
  spec.config = {{"raw.lxc", kInitCmd}, {"user.lxe.test-run", lxe::test::run_prefix() + "x"}};
  lxe::test::mark(spec.config);
  spec.source.alias = kImageAlias;
  return spec;
}

bool has_name(const std::vector<lxe::lxd::Instance>& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(), [&](const auto& i) { return i.name == name; });
}

}  // namespace

TEST_CASE("lxd client on real LXD: server info", "[lxd]") {
  Client client = lxd_client();
  const auto info = client.server_info();
  CHECK(info.api_version == "1.0");
  CHECK_FALSE(info.server_version.empty());
  CHECK(std::find(info.api_extensions.begin(), info.api_extensions.end(), "etag") !=
        info.api_extensions.end());
}

TEST_CASE("lxd client on real LXD: profile create, get with ETag, patch with If-Match, list, delete", "[lxd]") {
  Client client = lxd_client();
  LxdCleanup cleanup(client);
  const std::string name = cleanup.profile(test_name("prof"));

  client.create_profile(marked_profile(name));
  CHECK(kind_of([&] { client.create_profile(marked_profile(name)); }) == ErrorKind::Conflict);

  const auto p1 = client.get_profile(name);
  CHECK(p1.name == name);
  CHECK(p1.description == "lxe test profile");
  CHECK(p1.config.at("limits.memory") == "256MiB");
  CHECK(p1.config.at(lxe::test::kTestPidKey) == lxe::test::test_pid_value());
  REQUIRE_FALSE(p1.etag.empty());

  client.patch_profile(name, {{"config", {{"limits.memory", "512MiB"}}}}, p1.etag);
  const auto p2 = client.get_profile(name);
  CHECK(p2.config.at("limits.memory") == "512MiB");
  CHECK(p2.config.count(lxe::test::kTestPidKey) == 1);  // PATCH merges
  CHECK(p2.etag != p1.etag);

  // p1's ETag is stale now.
  CHECK(kind_of([&] {
          client.patch_profile(name, {{"config", {{"limits.memory", "1GiB"}}}}, p1.etag);
        }) == ErrorKind::PreconditionFailed);
  CHECK(client.get_profile(name).config.at("limits.memory") == "512MiB");

  // PUT replaces the writable part.
  auto spec = marked_profile(name);
  spec.description = "replaced";
  client.update_profile(spec, p2.etag);
  CHECK(client.get_profile(name).description == "replaced");

  const auto all = client.list_profiles();
  CHECK(std::any_of(all.begin(), all.end(), [&](const auto& p) { return p.name == name; }));
  CHECK(std::any_of(all.begin(), all.end(), [](const auto& p) { return p.name == "default"; }));

  client.delete_profile(name);
  CHECK(kind_of([&] { client.get_profile(name); }) == ErrorKind::NotFound);
}

TEST_CASE("lxd client on real LXD: container lifecycle with a profile, live limits and stops", "[lxd]") {
  Client client = lxd_client();
  LxdCleanup cleanup(client);
  const std::string profile = cleanup.profile(test_name("cprof"));
  const std::string name = cleanup.instance(test_name("c1"));

  client.create_profile(marked_profile(profile));
  client.create_instance(marked_container(name, {"default", profile}));
  CHECK(kind_of([&] { client.create_instance(marked_container(name, {"default"})); }) ==
        ErrorKind::Conflict);

  auto inst = client.get_instance(name);
  CHECK(inst.name == name);
  CHECK(inst.type == "container");
  CHECK(inst.status == "Stopped");
  CHECK_FALSE(inst.running());
  CHECK(inst.profiles == std::vector<std::string>{"default", profile});
  CHECK(inst.config.at(lxe::test::kTestPidKey) == lxe::test::test_pid_value());
  CHECK(inst.expanded_config.at("limits.memory") == "256MiB");  // from the profile
  CHECK(inst.expanded_devices.count("root") == 1);             // from "default"
  CHECK_FALSE(inst.etag.empty());

  client.start_instance(name);
  inst = client.get_instance(name);
  CHECK(inst.running());
  CHECK(inst.status == "Running");
  const auto state = client.get_instance_state(name);
  CHECK(state.status == "Running");
  CHECK(state.status_code == 103);
  REQUIRE(state.pid > 0);

  // A live limit change keeps the container (and its init) as it is.
  client.patch_instance(name, {{"config", {{"limits.memory", "128MiB"}}}}, inst.etag);
  inst = client.get_instance(name);
  CHECK(inst.config.at("limits.memory") == "128MiB");
  CHECK(inst.expanded_config.at("limits.memory") == "128MiB");  // local beats profile
  CHECK(client.get_instance_state(name).pid == state.pid);

  // With a filter on a user.* key: only ours. recursion=2 brings the state along.
  const auto filtered =
      client.list_instances("config.user.lxe.test-run eq " + lxe::test::run_prefix() + "x", true);
  REQUIRE(filtered.size() == 1);
  CHECK(filtered[0].name == name);
  REQUIRE(filtered[0].state.has_value());
  CHECK(filtered[0].state->pid == state.pid);
  CHECK(client.list_instances("config.user.lxe.test-run eq nobody-" + lxe::test::run_prefix())
            .empty());
  CHECK(has_name(client.list_instances(), name));

  // A clean stop that the init ignores times out after 2 s, then the client forces it.
  client.stop_instance(name, StopMode::Graceful, 2s);
  CHECK_FALSE(client.get_instance(name).running());
  CHECK(client.get_instance_state(name).pid == 0);

  client.start_instance(name);
  CHECK(client.get_instance(name).running());
  client.stop_instance(name, StopMode::Force);
  CHECK(client.get_instance(name).status == "Stopped");

  // Already stopped: both modes succeed.
  CHECK_NOTHROW(client.stop_instance(name, StopMode::Force));
  CHECK_NOTHROW(client.stop_instance(name, StopMode::Graceful, 2s));

  client.delete_instance(name);
  CHECK(kind_of([&] { client.get_instance(name); }) == ErrorKind::NotFound);
  CHECK_FALSE(has_name(client.list_instances(), name));
  client.delete_profile(profile);
}

TEST_CASE("lxd client on real LXD: images, their aliases and fingerprint prefixes", "[lxd]") {
  Client client = lxd_client();
  const auto alias = client.get_image_alias(kImageAlias);
  CHECK(alias.name == kImageAlias);
  REQUIRE(alias.target.size() == 64);

  const auto image = client.get_image(alias.target);
  CHECK(image.fingerprint == alias.target);
  CHECK(image.type == "container");
  CHECK(image.size > 0);
  CHECK_FALSE(image.architecture.empty());
  CHECK(std::any_of(image.aliases.begin(), image.aliases.end(),
                    [](const auto& a) { return a.name == kImageAlias; }));

  CHECK(client.get_image(alias.target.substr(0, 12)).fingerprint == alias.target);

  const auto images = client.list_images();
  CHECK(std::any_of(images.begin(), images.end(),
                    [&](const auto& i) { return i.fingerprint == alias.target; }));
}

TEST_CASE("lxd client on real LXD: what does not exist is NotFound", "[lxd]") {
  Client client = lxd_client();
  const std::string missing = test_name("missing");
  CHECK(kind_of([&] { client.get_instance(missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { client.get_instance_state(missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { client.delete_instance(missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { client.stop_instance(missing, StopMode::Graceful, 1s); }) ==
        ErrorKind::NotFound);
  CHECK(kind_of([&] { client.get_profile(missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { client.get_image_alias(missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { client.get_image("0000000000000000"); }) == ErrorKind::NotFound);

  // Creating from an alias that does not exist is refused before any operation starts.
  LxdCleanup cleanup(client);
  auto spec = marked_container(cleanup.instance(test_name("noimg")), {"default"});
  spec.source.alias = missing;
  CHECK(kind_of([&] { client.create_instance(spec); }) == ErrorKind::NotFound);
}

TEST_CASE("lxd client on real LXD: the sweep deletes marked objects of dead test processes only", "[lxd]") {
  Client client = lxd_client();
  LxdCleanup cleanup(client);

  // A pid that surely belongs to no process any more: a child that has exited and been reaped.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);

  auto dead = marked_profile(cleanup.profile(test_name("dead")));
  dead.config[lxe::test::kTestPidKey] = std::to_string(child);
  auto alive = marked_profile(cleanup.profile(test_name("alive")));  // our own pid
  auto unmarked = marked_profile(cleanup.profile(test_name("unmarked")));
  unmarked.config.erase(lxe::test::kTestPidKey);
  auto garbled = marked_profile(cleanup.profile(test_name("garbled")));
  garbled.config[lxe::test::kTestPidKey] = "12abc";
  for (const auto* spec : {&dead, &alive, &unmarked, &garbled}) client.create_profile(*spec);

  CHECK(lxe::test::sweep_stale_test_objects(client) >= 1);
  CHECK(kind_of([&] { client.get_profile(dead.name); }) == ErrorKind::NotFound);
  CHECK_NOTHROW(client.get_profile(alive.name));
  CHECK_NOTHROW(client.get_profile(unmarked.name));
  CHECK_NOTHROW(client.get_profile(garbled.name));
  CHECK_NOTHROW(client.get_profile("default"));
}
