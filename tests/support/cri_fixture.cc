#include "support/cri_fixture.h"

#include <algorithm>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "support/test_lxd.h"

namespace lxe::test {

namespace {

constexpr auto kCallDeadline = std::chrono::seconds(30);

std::string random_hex(int digits) {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[rd() & 0xf]);
  return out;
}

void sweep_once(const lxd::Client& client) {
  static std::once_flag once;
  std::call_once(once, [&] {
    try {
      const int removed = sweep_stale_test_objects(client);
      if (removed > 0) spdlog::info("test sweep removed {} stale LXD object(s)", removed);
    } catch (const std::exception& e) {
      spdlog::warn("test sweep failed: {}", e.what());
    }
  });
}

void claim_tag(const std::string& tag) {
  static std::mutex mutex;
  static std::set<std::string> used;
  if (tag.empty() || tag.size() > 12 || tag.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
    throw std::invalid_argument("CriFixture tag '" + tag + "' must be [a-z0-9]+, at most 12 characters");
  std::lock_guard<std::mutex> lock(mutex);
  if (!used.insert(tag).second)
    throw std::invalid_argument("CriFixture tag '" + tag + "' is used by two tests of this process");
}

void remove_lxd_instance(const lxd::Client& client, const std::string& name) {
  try {
    client.stop_instance(name, lxd::StopMode::Force);
  } catch (const lxd::Error&) {
  }
  try {
    client.delete_instance(name);
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) spdlog::warn("test cleanup: deleting instance {}: {}", name, e.what());
  }
}

}  // namespace

std::string describe(const grpc::Status& status) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int code = static_cast<int>(status.error_code());
  const std::string name = code >= 0 && code <= 16 ? kNames[code] : std::to_string(code);
  return status.error_message().empty() ? name : name + ": " + status.error_message();
}

CriFixture::CriFixture(std::string tag) : CriFixture(std::move(tag), {}) {}

CriFixture::CriFixture(std::string tag, std::vector<std::string> daemon_args)
    : tag_(std::move(tag)), daemon_args_(std::move(daemon_args)), lxd_(make_test_lxd_client()) {
  claim_tag(tag_);
  sweep_once(lxd_);
  start_daemon();
}

void CriFixture::start_daemon() {
  std::vector<std::string> args = {"--lxd-socket", lxd_socket_path()};
  args.insert(args.end(), daemon_args_.begin(), daemon_args_.end());
  // For debugging a failing test: LXE_TEST_LOG_LEVEL=debug shows every LXD call in the log that
  // remove_all_pods_and_expect_clean() prints on failure.
  if (const char* level = std::getenv("LXE_TEST_LOG_LEVEL"); level && *level)
    args.insert(args.end(), {"--log-level", level});
  daemon_ = std::make_unique<DaemonProcess>(dir_, args);
}

int CriFixture::restart_daemon(const std::function<void()>& while_down) {
  const int code = daemon_->stop(SIGTERM, std::chrono::seconds(15));
  daemon_.reset();
  if (while_down) while_down();
  start_daemon();
  return code;
}

CriFixture::~CriFixture() {
  try {
    if (daemon_) {
      for (const auto& id : pods_) {
        auto ctx = context_with_deadline(std::chrono::seconds(20));
        cri::RemovePodSandboxRequest request;
        request.set_pod_sandbox_id(id);
        cri::RemovePodSandboxResponse response;
        const auto status = daemon_->runtime().RemovePodSandbox(ctx.get(), request, &response);
        if (!status.ok()) spdlog::warn("test cleanup: RemovePodSandbox {}: {}", id, describe(status));
      }
      daemon_.reset();  // SIGTERM
    }
    // Whatever lxe did not remove: instances first (a profile in use cannot go).
    for (const auto& name : lxd_instances()) {
      spdlog::warn("test cleanup: LXD instance {} was left behind; deleting it", name);
      remove_lxd_instance(lxd_, name);
    }
    // Images this fixture's lxe pulled (its store names them): tests remove what they pull, but
    // a failed test may not have.
    for (const auto& image : lxd_.list_images()) {
      const auto store = image.properties.find("lxe.store");
      if (store == image.properties.end() || store->second != dir_.file("lxe.db")) continue;
      spdlog::warn("test cleanup: pulled image {} was left behind; deleting it", image.fingerprint);
      try {
        lxd_.delete_image(image.fingerprint);
      } catch (const lxd::Error& e) {
        spdlog::warn("test cleanup: deleting image {}: {}", image.fingerprint, e.what());
      }
    }
    for (const auto& name : lxd_profiles()) {
      spdlog::warn("test cleanup: LXD profile {} was left behind; deleting it", name);
      try {
        lxd_.delete_profile(name);
      } catch (const lxd::Error& e) {
        spdlog::warn("test cleanup: deleting profile {}: {}", name, e.what());
      }
    }
  } catch (const std::exception& e) {
    spdlog::warn("test cleanup: {}", e.what());
  }
}

std::string CriFixture::lxd_prefix() const { return run_prefix() + tag_ + "-"; }

std::string CriFixture::pod_name(const std::string& suffix) const { return tag_ + "-" + suffix; }

cri::PodSandboxConfig CriFixture::pod_config(const std::string& suffix) const {
  cri::PodSandboxConfig config;
  auto* m = config.mutable_metadata();
  m->set_name(pod_name(suffix));
  m->set_namespace_("lxe-test");
  m->set_uid(tag_ + "-" + suffix + "-" + random_hex(16));
  m->set_attempt(0);
  // kubelet's layout: /var/log/pods/<namespace>_<name>_<uid>; readable by the containers' root.
  const std::string logs = dir_.path() + "/logs/" + m->name();
  std::filesystem::create_directories(logs);
  ::chmod(logs.c_str(), 0755);
  ::chmod((dir_.path() + "/logs").c_str(), 0755);
  config.set_log_directory(logs);
  return config;
}

cri::ContainerConfig CriFixture::container_config(const std::string& name, std::vector<std::string> command,
                                                  const std::string& log_path) {
  cri::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image("busybox");
  for (auto& c : command) config.add_command(std::move(c));
  config.set_log_path(log_path);
  return config;
}

std::string CriFixture::log_file(const cri::PodSandboxConfig& pod, const std::string& log_path) {
  return pod.log_directory() + "/" + log_path;
}

// ---- RuntimeService

Reply<std::string> CriFixture::run_pod(const cri::PodSandboxConfig& config, const std::string& runtime_handler) {
  cri::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  request.set_runtime_handler(runtime_handler);
  return run_pod(request);
}

Reply<std::string> CriFixture::run_pod(const cri::RunPodSandboxRequest& request) {
  auto ctx = context_with_deadline(std::chrono::seconds(60));
  cri::RunPodSandboxResponse response;
  Reply<std::string> reply;
  reply.status = runtime().RunPodSandbox(ctx.get(), request, &response);
  reply.value = response.pod_sandbox_id();
  if (!reply.value.empty()) pods_.push_back(reply.value);
  return reply;
}

std::string CriFixture::must_run_pod(const cri::PodSandboxConfig& config) {
  const auto reply = run_pod(config);
  INFO("RunPodSandbox " << config.metadata().name() << ": " << describe(reply.status));
  REQUIRE(reply.ok());
  REQUIRE_FALSE(reply.value.empty());
  return reply.value;
}

grpc::Status CriFixture::stop_pod(const std::string& pod_id) {
  auto ctx = context_with_deadline(std::chrono::seconds(60));
  cri::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(pod_id);
  cri::StopPodSandboxResponse response;
  return runtime().StopPodSandbox(ctx.get(), request, &response);
}

grpc::Status CriFixture::remove_pod(const std::string& pod_id) {
  auto ctx = context_with_deadline(std::chrono::seconds(60));
  cri::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(pod_id);
  cri::RemovePodSandboxResponse response;
  return runtime().RemovePodSandbox(ctx.get(), request, &response);
}

Reply<cri::PodSandboxStatusResponse> CriFixture::pod_status(const std::string& pod_id, bool verbose) {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(pod_id);
  request.set_verbose(verbose);
  Reply<cri::PodSandboxStatusResponse> reply;
  reply.status = runtime().PodSandboxStatus(ctx.get(), request, &reply.value);
  return reply;
}

std::vector<cri::PodSandbox> CriFixture::list_pods() {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::ListPodSandboxResponse response;
  const auto status = runtime().ListPodSandbox(ctx.get(), cri::ListPodSandboxRequest(), &response);
  INFO("ListPodSandbox: " << describe(status));
  REQUIRE(status.ok());
  return {response.items().begin(), response.items().end()};
}

std::vector<cri::PodSandbox> CriFixture::list_pods(const cri::PodSandboxFilter& filter) {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  cri::ListPodSandboxResponse response;
  const auto status = runtime().ListPodSandbox(ctx.get(), request, &response);
  INFO("ListPodSandbox: " << describe(status));
  REQUIRE(status.ok());
  return {response.items().begin(), response.items().end()};
}

Reply<std::string> CriFixture::create_container(const std::string& pod_id, const cri::ContainerConfig& config,
                                                const cri::PodSandboxConfig& pod_config) {
  cri::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  *request.mutable_config() = config;
  *request.mutable_sandbox_config() = pod_config;
  return create_container(request);
}

Reply<std::string> CriFixture::create_container(const cri::CreateContainerRequest& request) {
  auto ctx = context_with_deadline(std::chrono::seconds(60));
  cri::CreateContainerResponse response;
  Reply<std::string> reply;
  reply.status = runtime().CreateContainer(ctx.get(), request, &response);
  reply.value = response.container_id();
  return reply;
}

std::string CriFixture::must_create_container(const std::string& pod_id, const cri::ContainerConfig& config,
                                              const cri::PodSandboxConfig& pod_config) {
  const auto reply = create_container(pod_id, config, pod_config);
  INFO("CreateContainer " << config.metadata().name() << ": " << describe(reply.status));
  REQUIRE(reply.ok());
  REQUIRE_FALSE(reply.value.empty());
  return reply.value;
}

std::string CriFixture::must_run_container(const std::string& pod_id, const cri::ContainerConfig& config,
                                           const cri::PodSandboxConfig& pod_config) {
  const std::string id = must_create_container(pod_id, config, pod_config);
  const auto status = start(id);
  INFO("StartContainer " << config.metadata().name() << ": " << describe(status));
  REQUIRE(status.ok());
  return id;
}

grpc::Status CriFixture::start(const std::string& container_id) {
  auto ctx = context_with_deadline(std::chrono::seconds(60));
  cri::StartContainerRequest request;
  request.set_container_id(container_id);
  cri::StartContainerResponse response;
  return runtime().StartContainer(ctx.get(), request, &response);
}

grpc::Status CriFixture::stop(const std::string& container_id, int64_t timeout_s) {
  auto ctx = context_with_deadline(std::chrono::seconds(60) + std::chrono::seconds(timeout_s));
  cri::StopContainerRequest request;
  request.set_container_id(container_id);
  request.set_timeout(timeout_s);
  cri::StopContainerResponse response;
  return runtime().StopContainer(ctx.get(), request, &response);
}

grpc::Status CriFixture::remove(const std::string& container_id) {
  auto ctx = context_with_deadline(std::chrono::seconds(60));
  cri::RemoveContainerRequest request;
  request.set_container_id(container_id);
  cri::RemoveContainerResponse response;
  return runtime().RemoveContainer(ctx.get(), request, &response);
}

Reply<cri::ContainerStatus> CriFixture::container_status(const std::string& container_id, bool verbose) {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::ContainerStatusRequest request;
  request.set_container_id(container_id);
  request.set_verbose(verbose);
  cri::ContainerStatusResponse response;
  Reply<cri::ContainerStatus> reply;
  reply.status = runtime().ContainerStatus(ctx.get(), request, &response);
  reply.value = response.status();
  return reply;
}

std::vector<cri::Container> CriFixture::list_containers() {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::ListContainersResponse response;
  const auto status = runtime().ListContainers(ctx.get(), cri::ListContainersRequest(), &response);
  INFO("ListContainers: " << describe(status));
  REQUIRE(status.ok());
  return {response.containers().begin(), response.containers().end()};
}

std::vector<cri::Container> CriFixture::list_containers(const cri::ContainerFilter& filter) {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::ListContainersRequest request;
  *request.mutable_filter() = filter;
  cri::ListContainersResponse response;
  const auto status = runtime().ListContainers(ctx.get(), request, &response);
  INFO("ListContainers: " << describe(status));
  REQUIRE(status.ok());
  return {response.containers().begin(), response.containers().end()};
}

Reply<cri::ExecSyncResponse> CriFixture::exec(const std::string& container_id, std::vector<std::string> cmd,
                                              int64_t timeout_s, std::chrono::milliseconds deadline) {
  auto ctx = context_with_deadline(deadline);
  cri::ExecSyncRequest request;
  request.set_container_id(container_id);
  for (auto& c : cmd) request.add_cmd(std::move(c));
  request.set_timeout(timeout_s);
  Reply<cri::ExecSyncResponse> reply;
  reply.status = runtime().ExecSync(ctx.get(), request, &reply.value);
  return reply;
}

std::string CriFixture::must_exec(const std::string& container_id, std::vector<std::string> cmd) {
  const auto reply = exec(container_id, std::move(cmd));
  INFO(describe(reply.status));
  REQUIRE(reply.status.ok());
  INFO("stdout: " << reply.value.stdout() << "\nstderr: " << reply.value.stderr());
  REQUIRE(reply.value.exit_code() == 0);
  return reply.value.stdout();
}

Reply<cri::PullImageResponse> CriFixture::pull_image(const std::string& ref, const cri::AuthConfig* auth,
                                                     std::chrono::milliseconds deadline) {
  auto ctx = context_with_deadline(deadline);
  cri::PullImageRequest request;
  request.mutable_image()->set_image(ref);
  if (auth) *request.mutable_auth() = *auth;
  Reply<cri::PullImageResponse> reply;
  reply.status = images().PullImage(ctx.get(), request, &reply.value);
  return reply;
}

Reply<cri::ImageStatusResponse> CriFixture::image_status(const std::string& ref) {
  auto ctx = context_with_deadline();
  cri::ImageStatusRequest request;
  request.mutable_image()->set_image(ref);
  Reply<cri::ImageStatusResponse> reply;
  reply.status = images().ImageStatus(ctx.get(), request, &reply.value);
  return reply;
}

grpc::Status CriFixture::remove_image(const std::string& ref) {
  auto ctx = context_with_deadline();
  cri::RemoveImageRequest request;
  request.mutable_image()->set_image(ref);
  cri::RemoveImageResponse response;
  return images().RemoveImage(ctx.get(), request, &response);
}

grpc::Status CriFixture::reopen_log(const std::string& container_id) {
  auto ctx = context_with_deadline(kCallDeadline);
  cri::ReopenContainerLogRequest request;
  request.set_container_id(container_id);
  cri::ReopenContainerLogResponse response;
  return runtime().ReopenContainerLog(ctx.get(), request, &response);
}

cri::ContainerStatus CriFixture::wait_for_state(const std::string& container_id, cri::ContainerState state,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  cri::ContainerStatus last;
  while (true) {
    const auto reply = container_status(container_id);
    if (reply.ok()) {
      last = reply.value;
      if (last.state() == state) return last;
    }
    if (std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string CriFixture::daemon_log_tail(size_t max_chars) const {
  if (!daemon_) return "";
  const std::string text = daemon_->stderr_text();
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

// ---- LXD

namespace {

template <typename Fn>
void retry_while_busy(Fn&& call) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    try {
      call();
      return;
    } catch (const lxd::Error& e) {
      if (!lxd_says_busy(e.what()) || std::chrono::steady_clock::now() > deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

void CriFixture::out_of_band_stop(const std::string& instance) const {
  retry_while_busy([&] { lxd_.stop_instance(instance, lxd::StopMode::Force); });
}

void CriFixture::out_of_band_patch(const std::string& instance, const nlohmann::json& patch) const {
  retry_while_busy([&] { lxd_.patch_instance(instance, patch); });
}

void CriFixture::out_of_band_delete(const std::string& instance) const {
  out_of_band_stop(instance);
  retry_while_busy([&] { lxd_.delete_instance(instance); });
}

std::set<std::string> CriFixture::lxd_instances() const {
  std::set<std::string> names;
  const std::string prefix = lxd_prefix();
  for (const auto& i : lxd_.list_instances())
    if (i.name.rfind(prefix, 0) == 0) names.insert(i.name);
  return names;
}

std::set<std::string> CriFixture::lxd_profiles() const {
  std::set<std::string> names;
  const std::string prefix = lxd_prefix();
  for (const auto& p : lxd_.list_profiles())
    if (p.name.rfind(prefix, 0) == 0) names.insert(p.name);
  return names;
}

bool CriFixture::settles(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void CriFixture::expect_lxd_clean() const {
  settles([&] { return lxd_instances().empty() && lxd_profiles().empty(); });
  const auto instances = lxd_instances();
  const auto profiles = lxd_profiles();
  std::string left;
  for (const auto& n : instances) left += " instance " + n;
  for (const auto& n : profiles) left += " profile " + n;
  INFO("left in LXD under " << lxd_prefix() << ":" << left);
  CHECK(instances.empty());
  CHECK(profiles.empty());
}

void CriFixture::remove_all_pods_and_expect_clean() {
  for (const auto& id : pods_) {
    const auto status = remove_pod(id);
    INFO("RemovePodSandbox " << id << ": " << describe(status));
    INFO((status.ok() ? std::string() : "lxe's log ends with:\n" + daemon_log_tail()));
    REQUIRE(status.ok());
  }
  const auto pods = list_pods();
  for (const auto& p : pods) {
    for (const auto& id : pods_) {
      INFO("pod " << id << " is still listed after RemovePodSandbox");
      CHECK(p.id() != id);
    }
  }
  for (const auto& c : list_containers()) {
    for (const auto& id : pods_) {
      INFO("container " << c.id() << " of removed pod " << id << " is still listed");
      CHECK(c.pod_sandbox_id() != id);
    }
  }
  pods_.clear();
  expect_lxd_clean();
}

}  // namespace lxe::test
