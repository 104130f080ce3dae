#include "support/test_lxd.h"

#include <algorithm>

#include <catch2/catch.hpp>

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

namespace lxe::test {
namespace {

bool process_alive(long pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;  // exists, owned by someone else
}

// The pid a marked object names, or 0 when it carries no well-formed marker.
long marker_pid(const lxd::Config& config) {
  auto it = config.find(kTestPidKey);
  if (it == config.end() || it->second.empty()) return 0;
  char* end = nullptr;
  errno = 0;
  const long pid = std::strtol(it->second.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0' || pid <= 0) return 0;
  return pid;
}

bool is_stale(const std::string& name, const lxd::Config& config) {
  if (name.rfind(kTestObjectPrefix, 0) != 0) return false;
  const long pid = marker_pid(config);
  return pid > 0 && !process_alive(pid);
}

bool is_not_found(const lxd::Error& e) { return e.kind() == lxd::ErrorKind::NotFound; }

void remove_instance(const lxd::Client& client, const std::string& name) {
  try {
    client.stop_instance(name, lxd::StopMode::Force);
  } catch (const lxd::Error& e) {
    if (is_not_found(e)) return;
    spdlog::warn("test cleanup: stopping instance {}: {}", name, e.what());
  }
  try {
    client.delete_instance(name);
  } catch (const lxd::Error& e) {
    if (!is_not_found(e)) spdlog::warn("test cleanup: deleting instance {}: {}", name, e.what());
  }
}

void remove_profile(const lxd::Client& client, const std::string& name) {
  try {
    client.delete_profile(name);
  } catch (const lxd::Error& e) {
    if (!is_not_found(e)) spdlog::warn("test cleanup: deleting profile {}: {}", name, e.what());
  }
}

}  // namespace

bool lxd_says_busy(std::string_view text) {
  return text.find("is busy") != std::string_view::npos ||
         text.find("matching non-reusable operation") != std::string_view::npos;
}

std::string lxd_socket_path() {
  if (const char* env = std::getenv("LXE_TEST_LXD_SOCKET"); env != nullptr && *env != '\0') {
    return env;
  }
  for (const char* candidate :
       {"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket"}) {
    std::error_code ec;
    if (std::filesystem::exists(candidate, ec)) return candidate;
  }
  return {};
}

CommandResult lxc_command(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "LXD_DIR=" + std::filesystem::path(lxd_socket_path()).parent_path().string(), "lxc"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    auto r = run_command(argv);
    if (r.exit_code == 0 || !lxd_says_busy(r.out + r.err) || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

lxd::Client make_test_lxd_client() {
  lxd::ClientOptions options;
  options.socket_path = lxd_socket_path();
  options.request_timeout = std::chrono::seconds(30);
  options.operation_timeout = std::chrono::seconds(120);
  return lxd::Client(options);
}

lxd::Client swept_test_lxd_client() {
  const std::string socket = lxd_socket_path();
  INFO("no LXD socket: set LXE_TEST_LXD_SOCKET or run scripts/setup.sh");
  REQUIRE_FALSE(socket.empty());
  lxd::Client client = make_test_lxd_client();
  sweep_stale_test_objects(client);
  return client;
}

const std::string& run_prefix() {
  static const std::string prefix = [] {
    std::random_device rd;
    std::uniform_int_distribution<unsigned> dist(0, 0xFFFFFF);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06x", dist(rd));
    return std::string(kTestObjectPrefix) + buf + "-";
  }();
  return prefix;
}

std::string test_name(std::string_view suffix) { return run_prefix() + std::string(suffix); }

std::string test_pid_value() { return std::to_string(static_cast<long>(::getpid())); }

void mark(lxd::Config& config) { config[kTestPidKey] = test_pid_value(); }

int sweep_stale_test_objects(const lxd::Client& client) {
  int removed = 0;
  // Instances first: a profile in use cannot be deleted.
  for (const auto& instance : client.list_instances()) {
    if (!is_stale(instance.name, instance.config)) continue;
    spdlog::info("test sweep: deleting instance {} left by dead test process {}", instance.name,
                 marker_pid(instance.config));
    remove_instance(client, instance.name);
    ++removed;
  }
  for (const auto& profile : client.list_profiles()) {
    if (!is_stale(profile.name, profile.config)) continue;
    spdlog::info("test sweep: deleting profile {} left by dead test process {}", profile.name,
                 marker_pid(profile.config));
    remove_profile(client, profile.name);
    ++removed;
  }
  // Images a test's lxe pulled (aliased "<run prefix>/<image ID>", marked "lxe.test-pid").
  for (const auto& image : client.list_images()) {
    const auto pid = image.properties.find("lxe.test-pid");
    if (pid == image.properties.end() || image.aliases.empty()) continue;
    const bool ours = std::all_of(image.aliases.begin(), image.aliases.end(),
                                  [](const auto& a) { return a.name.rfind(kTestObjectPrefix, 0) == 0; });
    if (!ours || !is_stale(image.aliases.front().name, {{kTestPidKey, pid->second}})) continue;
    spdlog::info("test sweep: deleting image {} left by dead test process {}", image.fingerprint, pid->second);
    try {
      client.delete_image(image.fingerprint);
    } catch (const lxd::Error& e) {
      if (!is_not_found(e)) spdlog::warn("test cleanup: deleting image {}: {}", image.fingerprint, e.what());
    }
    ++removed;
  }
  // Bridges last: a network in use by an instance cannot be deleted.
  for (const auto& network : client.list_networks()) {
    if (!network.managed || !is_stale(network.name, network.config)) continue;
    spdlog::info("test sweep: deleting network {} left by dead test process {}", network.name,
                 marker_pid(network.config));
    try {
      client.delete_network(network.name);
    } catch (const lxd::Error& e) {
      if (!is_not_found(e)) spdlog::warn("test cleanup: deleting network {}: {}", network.name, e.what());
    }
    ++removed;
  }
  return removed;
}

std::string LxdCleanup::instance(std::string name) {
  instances_.push_back(name);
  return name;
}

std::string LxdCleanup::profile(std::string name) {
  profiles_.push_back(name);
  return name;
}

void LxdCleanup::run() {
  while (!instances_.empty()) {
    remove_instance(client_, instances_.back());
    instances_.pop_back();
  }
  while (!profiles_.empty()) {
    remove_profile(client_, profiles_.back());
    profiles_.pop_back();
  }
}

LxdCleanup::~LxdCleanup() {
  try {
    run();
  } catch (const std::exception& e) {
    spdlog::warn("test cleanup: {}", e.what());
  }
}

}  // namespace lxe::test
