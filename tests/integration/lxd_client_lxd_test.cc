// The LXD client against the real LXD of this machine (scripts/setup.sh starts it and imports the
// `busybox` image). Every object is named with the run prefix and marked with this process's pid;
// objects of dead earlier runs are swept first, and each test deletes its own, even when it fails.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "lxd/client.h"
#include "support/process.h"
#include "support/temp_dir.h"
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

Client lxd_client() { return lxe::test::swept_test_lxd_client(); }

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
  CHECK(lxe::test::error_kind_of([&] { client.create_profile(marked_profile(name)); }) == ErrorKind::Conflict);

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
  CHECK(lxe::test::error_kind_of([&] {
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
  CHECK(lxe::test::error_kind_of([&] { client.get_profile(name); }) == ErrorKind::NotFound);
}

TEST_CASE("lxd client on real LXD: container lifecycle with a profile, live limits and stops", "[lxd]") {
  Client client = lxd_client();
  LxdCleanup cleanup(client);
  const std::string profile = cleanup.profile(test_name("cprof"));
  const std::string name = cleanup.instance(test_name("c1"));

  client.create_profile(marked_profile(profile));
  client.create_instance(marked_container(name, {"default", profile}));
  CHECK(lxe::test::error_kind_of([&] { client.create_instance(marked_container(name, {"default"})); }) ==
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
  CHECK(lxe::test::error_kind_of([&] { client.get_instance(name); }) == ErrorKind::NotFound);
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
  CHECK(lxe::test::error_kind_of([&] { client.get_instance(missing); }) == ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.get_instance_state(missing); }) == ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.delete_instance(missing); }) == ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.stop_instance(missing, StopMode::Graceful, 1s); }) ==
        ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.get_profile(missing); }) == ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.get_image_alias(missing); }) == ErrorKind::NotFound);
  // An alias name is one path segment to LXD however it is spelled: '..', '?' and '#' in it never
  // reach another route (a GET of ".../x/../../instances" would otherwise list instances).
  for (const std::string odd : {"/../../instances", "/./x", "?recursion=1", "#frag", "/"})
    CHECK(lxe::test::error_kind_of([&] { client.get_image_alias(missing + odd); }) == ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.get_image("0000000000000000"); }) == ErrorKind::NotFound);

  // Creating from an alias that does not exist is refused before any operation starts.
  LxdCleanup cleanup(client);
  auto spec = marked_container(cleanup.instance(test_name("noimg")), {"default"});
  spec.source.alias = missing;
  CHECK(lxe::test::error_kind_of([&] { client.create_instance(spec); }) == ErrorKind::NotFound);
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

  // The count is not checked: every fixture of the tests running beside this one sweeps when it
  // starts, and one of them may have deleted the dead process's profile first. Gone it must be.
  lxe::test::sweep_stale_test_objects(client);
  CHECK(lxe::test::error_kind_of([&] { client.get_profile(dead.name); }) == ErrorKind::NotFound);
  CHECK_NOTHROW(client.get_profile(alive.name));
  CHECK_NOTHROW(client.get_profile(unmarked.name));
  CHECK_NOTHROW(client.get_profile(garbled.name));
  CHECK_NOTHROW(client.get_profile("default"));
}

namespace {

// Images carry this property with the pid of the test process that imported them; aliases carry
// the run prefix. test_lxd.h's sweep knows only instances and profiles, so images of killed runs
// are swept here: those whose aliases all start with the test prefix and whose marker names a
// process that is gone. Nothing else is touched.
constexpr const char* kImagePidProperty = "lxe.test-pid";

void sweep_stale_test_images(const Client& client) {
  for (const auto& image : client.list_images()) {
    auto it = image.properties.find(kImagePidProperty);
    if (it == image.properties.end() || image.aliases.empty()) continue;
    const bool ours = std::all_of(image.aliases.begin(), image.aliases.end(), [](const auto& a) {
      return a.name.rfind(lxe::test::kTestObjectPrefix, 0) == 0;
    });
    const long pid = std::strtol(it->second.c_str(), nullptr, 10);
    const bool dead = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    if (!ours || !dead) continue;
    try {
      client.delete_image(image.fingerprint);
    } catch (const Error& e) {
      WARN("sweeping test image " << image.fingerprint << ": " << e.what());
    }
  }
}

// Deletes, at the end of the test, the images it imported: by fingerprint when known, else the
// image its (run-prefixed) alias points at. Errors are reported, never thrown.
class ImageCleanup {
 public:
  explicit ImageCleanup(const Client& client) : client_(client) {}
  ~ImageCleanup() {
    for (const auto& alias : aliases_) {
      try {
        fingerprints_.push_back(client_.get_image_alias(alias).target);
      } catch (const Error&) {
      }
    }
    for (const auto& fingerprint : fingerprints_) {
      try {
        client_.delete_image(fingerprint);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::NotFound) WARN("test cleanup: image " << fingerprint << ": " << e.what());
      }
    }
  }
  ImageCleanup(const ImageCleanup&) = delete;
  ImageCleanup& operator=(const ImageCleanup&) = delete;

  std::string alias(std::string name) {
    REQUIRE(name.rfind(lxe::test::kTestObjectPrefix, 0) == 0);
    aliases_.push_back(name);
    return name;
  }
  void image(const std::string& fingerprint) { fingerprints_.push_back(fingerprint); }

 private:
  const Client& client_;
  std::vector<std::string> aliases_;
  std::vector<std::string> fingerprints_;
};

// An uncompressed unified image made by the tar CLI: metadata.yaml and a rootfs of empty dirs.
std::string make_test_image_tarball(const std::string& description) {
  lxe::test::TempDir dir;
  lxe::test::write_file(dir.file("metadata.yaml"),
                        "architecture: x86_64\ncreation_date: " + std::to_string(std::time(nullptr)) +
                            "\nproperties:\n  description: " + description + "\n");
  for (const char* d : {"rootfs", "rootfs/bin", "rootfs/dev", "rootfs/etc", "rootfs/proc",
                        "rootfs/sys", "rootfs/tmp"}) {
    REQUIRE(::mkdir(dir.file(d).c_str(), 0755) == 0);
  }
  const auto tar = lxe::test::run_command({"/usr/bin/tar", "--format=ustar", "-cf",
                                           dir.file("image.tar"), "-C", dir.path(), "metadata.yaml",
                                           "rootfs"});
  INFO(tar.err);
  REQUIRE(tar.exit_code == 0);
  std::string tarball = lxe::test::read_file(dir.file("image.tar"));
  REQUIRE(tarball.size() > 512);
  REQUIRE(tarball.compare(257, 5, "ustar") == 0);  // a plain tar, not compressed
  return tarball;
}

std::vector<std::string> exec_logs(const Client& client, const std::string& instance) {
  std::vector<std::string> out;
  for (const auto& path : client.request("GET", "/1.0/instances/" + instance + "/logs").metadata) {
    const std::string p = path.get<std::string>();
    if (p.find("/exec_") != std::string::npos || p.find("exec-output") != std::string::npos) {
      out.push_back(p);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("lxd client on real LXD: exec with recorded output", "[lxd]") {
  Client client = lxd_client();
  LxdCleanup cleanup(client);
  const std::string name = cleanup.instance(test_name("exec"));
  client.create_instance(marked_container(name, {"default"}));

  // Not running yet: LXD refuses before any operation starts.
  CHECK(lxe::test::error_kind_of([&] { client.exec(name, {"true"}); }) == ErrorKind::BadRequest);

  client.start_instance(name);

  const auto r = client.exec(name, {"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(r.exit_code == 3);
  CHECK(r.stdout_data == "out\n");
  CHECK(r.stderr_data == "err\n");

  const auto env = client.exec(name, {"sh", "-c", "echo $FOO"}, {{"FOO", "bar"}});
  CHECK(env.exit_code == 0);
  CHECK(env.stdout_data == "bar\n");
  CHECK(env.stderr_data.empty());

  CHECK(client.exec(name, {"pwd"}, {}, "/tmp").stdout_data == "/tmp\n");

  // LXD 5.0 fails the operation ("Command not found") for a command that cannot be found: the
  // client gives the exit code a shell would, and says why.
  const auto missing = client.exec(name, {"/nonexistent/command"});
  CHECK(missing.exit_code == 127);
  CHECK(missing.command_not_found);
  // The same for a command that exits 127 itself: LXD cannot tell the two apart.
  const auto exits_127 = client.exec(name, {"sh", "-c", "echo out; exit 127"});
  CHECK(exits_127.exit_code == 127);

  // Output that is not text comes back byte for byte.
  const auto bytes = client.exec(name, {"printf", "a\\000b\\377"});
  CHECK(bytes.stdout_data == std::string("a\0b\xff", 4));

  // Every exec so far, the failed one included, deleted its output logs.
  CHECK(exec_logs(client, name).empty());

  // A command that outlives the client's bound: Timeout (LXD waits in whole seconds).
  const auto start = std::chrono::steady_clock::now();
  CHECK(lxe::test::error_kind_of([&] { client.exec(name, {"sleep", "5"}, {}, "", 1000ms); }) == ErrorKind::Timeout);
  CHECK(std::chrono::steady_clock::now() - start < 4s);
}

TEST_CASE("lxd client on real LXD: import an uncompressed unified image, alias it, delete it", "[lxd]") {
  Client client = lxd_client();
  sweep_stale_test_images(client);
  LxdCleanup cleanup(client);
  ImageCleanup images(client);
  // Named like an image reference (slashes, a tag), as lxe's aliases are.
  const std::string alias = images.alias(test_name("img") + "/e2e/busybox:1.29-2");
  const std::string description = "lxe test image " + lxe::test::run_prefix();
  const std::string tarball = make_test_image_tarball(description);

  const std::string fingerprint =
      client.import_image(tarball, alias, {{kImagePidProperty, lxe::test::test_pid_value()}});
  images.image(fingerprint);
  REQUIRE(fingerprint.size() == 64);

  const auto a = client.get_image_alias(alias);
  CHECK(a.name == alias);
  CHECK(a.target == fingerprint);
  const auto image = client.get_image(fingerprint);
  CHECK(image.type == "container");
  CHECK(image.architecture == "x86_64");
  CHECK(image.size == static_cast<int64_t>(tarball.size()));
  // Properties set by the client merge with those of metadata.yaml.
  CHECK(image.properties.at(kImagePidProperty) == lxe::test::test_pid_value());
  CHECK(image.properties.at("description") == description);

  // Importing the same bytes again finds the image and the alias in place.
  CHECK(client.import_image(tarball, alias) == fingerprint);

  // Other bytes under the same alias: Conflict, and the second image does not stay behind.
  const std::string other_description = description + " other";
  const std::string other = make_test_image_tarball(other_description);
  CHECK(lxe::test::error_kind_of([&] { client.import_image(other, alias, {{kImagePidProperty, lxe::test::test_pid_value()}}); }) ==
        ErrorKind::Conflict);
  CHECK(client.get_image_alias(alias).target == fingerprint);
  for (const auto& i : client.list_images()) {
    auto d = i.properties.find("description");
    CHECK_FALSE((d != i.properties.end() && d->second == other_description));
  }

  // An instance can be made from it (it cannot run: the rootfs has no programs).
  auto spec = marked_container(cleanup.instance(test_name("fromimg")), {"default"});
  spec.source.alias = alias;
  client.create_instance(spec);
  CHECK(client.get_instance(spec.name).status == "Stopped");
  cleanup.run();

  client.delete_image(fingerprint);
  CHECK(lxe::test::error_kind_of([&] { client.get_image(fingerprint); }) == ErrorKind::NotFound);
  CHECK(lxe::test::error_kind_of([&] { client.get_image_alias(alias); }) == ErrorKind::NotFound);
  CHECK_NOTHROW(client.get_image_alias(kImageAlias));  // the shared image is untouched
}
