#include "support/memory_fixture.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>
#include <nlohmann/json.hpp>

#include "common/time.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"
#include "model/stored_config.h"

namespace lxe::test {

namespace v1 = runtime::v1;
using namespace std::chrono_literals;

namespace {

MemoryLxd::Options lxd_options(const TempDir& dir) {
  // A folder of its own, as LXD's: ImageFsInfo looks for LXD's images next to the socket.
  std::filesystem::create_directories(dir.file("lxd"));
  MemoryLxd::Options options;
  options.socket_path = dir.file("lxd/unix.socket");
  // The default pool's folder, where volumes look for an instance's rootfs (none unless a test
  // makes one).
  options.storage_pool_source = dir.file("lxd/storage-pools/default");
  return options;
}

}  // namespace

MemoryFixture::MemoryFixture()
    : lxd(lxd_options(dir)),
      store(dir.file("lxe.db"), store::Store::Mode::ReadWrite),
      registry(store),
      files(dir.file("state")),
      volumes(files, [] { return reconcile::VolumeSupport{false, "MemoryLxd: no idmapped mounts"}; }),
      image_fingerprint(lxd.add_image("busybox rootfs", {kImage})) {}

v1::PodSandboxConfig MemoryFixture::pod_config(const std::string& name) const {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("default");
  config.mutable_metadata()->set_uid("uid-" + name);
  config.set_log_directory(dir.file("logs/" + name));
  config.mutable_dns_config()->add_servers("10.96.0.10");
  config.mutable_dns_config()->add_searches("default.svc.cluster.local");
  return config;
}

v1::ContainerConfig MemoryFixture::container_config(const std::string& name,
                                                    const std::vector<std::string>& command) const {
  v1::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(kImage);
  for (const auto& word : command) config.add_command(word);
  config.set_log_path(name + ".log");
  return config;
}

store::SandboxRecord MemoryFixture::add_sandbox(const std::string& name) {
  const auto config = pod_config(name);
  store::SandboxRecord s;
  s.id = model::new_id();
  s.name = name;
  s.namespace_ = config.metadata().namespace_();
  s.uid = config.metadata().uid();
  s.lxd_name = model::sandbox_lxd_name("lxe", name, s.id);
  s.config_json = model::to_json(config);
  s.created_at = now_ns();
  put(s);
  return sandbox(s.id);
}

store::ContainerRecord MemoryFixture::add_container(const store::SandboxRecord& sandbox, const std::string& name,
                                                    const std::vector<std::string>& command) {
  const auto config = container_config(name, command);
  store::ContainerRecord c;
  c.id = model::new_id();
  c.sandbox_id = sandbox.id;
  c.name = name;
  c.lxd_name = model::container_lxd_name("lxe", sandbox.name, name, c.id);
  c.image = kImage;
  c.image_ref = image_fingerprint;
  c.config_json = model::to_json(config);
  c.log_path = pod_config(sandbox.name).log_directory() + "/" + config.log_path();
  c.created_at = now_ns();
  put(c);
  return container(c.id);
}

void MemoryFixture::put(const store::SandboxRecord& sandbox) {
  store::Registry::Change change(registry);
  change.put(sandbox);
  change.commit();
}

void MemoryFixture::put(const store::ContainerRecord& container) {
  store::Registry::Change change(registry);
  change.put(container);
  change.commit();
}

store::SandboxRecord MemoryFixture::sandbox(const std::string& id) const {
  const auto s = registry.sandbox(id);
  REQUIRE(s);
  return *s;
}

store::ContainerRecord MemoryFixture::container(const std::string& id) const {
  const auto c = registry.container(id);
  REQUIRE(c);
  return *c;
}

std::vector<store::ReconcileEvent> MemoryFixture::events_of(const std::string& id) const {
  store::EventQuery query;
  query.object_id = id;
  return registry.events(query);
}

void MemoryFixture::write_started(const std::string& container_id, int64_t at_ns) {
  std::filesystem::create_directories(files.container_dir(container_id));
  write_file(files.container_dir(container_id) + "/started.json", nlohmann::json{{"started_at", at_ns}}.dump());
}

void MemoryFixture::write_exit(const std::string& container_id, int exit_code) {
  std::filesystem::create_directories(files.container_dir(container_id));
  write_file(files.container_dir(container_id) + "/exit.json",
             nlohmann::json{{"exit_code", exit_code}, {"finished_at", now_ns()}}.dump());
}

// ---- MemoryRuntime --------------------------------------------------------------------------

namespace {

reconcile::ReconcilerOptions reconciler_options(const MemoryRuntime::Options& options) {
  reconcile::ReconcilerOptions out;
  out.initial_backoff = options.initial_backoff;
  out.mapping.pod_idmap = options.pod_idmap;
  return out;
}

}  // namespace

MemoryRuntime::MemoryRuntime() : MemoryRuntime(Options{}) {}

MemoryRuntime::MemoryRuntime(Options options)
    : health(lxd, std::chrono::hours(1)),
      reconciler(registry, lxd, files, volumes, reconciler_options(options)),
      catalog(store, lxd, "lxe"),
      puller(catalog, lxd, images::PullOptions{.tools = {.skopeo = "false"}, .work_root = dir.file("pulls")}),
      runtime(cri::RuntimeContext{registry, reconciler, files, volumes, lxd, health, catalog, options.max_wait, "lxe",
                                  {}, options.network}),
      images(cri::RuntimeContext{registry, reconciler, files, volumes, lxd, health, catalog, options.max_wait, "lxe",
                                 {}, options.network},
             puller) {
  // As the daemon wires LXD's event stream.
  lxd.on_event([this](const lxd::LifecycleEvent& e) { reconciler.on_lxd_event(e); });
  reconciler.start();
  // Adoption's first look at LXD (on the reconciler's own thread) is over before a test's first
  // call, so that the calls a test counts are the test's own.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!reconciler.adopted() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  REQUIRE(reconciler.adopted());
  reconciler.on_lxd_events_connection(true);
}

MemoryRuntime::~MemoryRuntime() {
  lxd.on_event({});
  reconciler.stop();
}

MemoryRuntime::Created MemoryRuntime::run_pod(const std::string& name) {
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = pod_config(name);
  v1::RunPodSandboxResponse response;
  const auto status = runtime.RunPodSandbox(nullptr, &request, &response);
  return {status, response.pod_sandbox_id()};
}

MemoryRuntime::Created MemoryRuntime::create_container(const std::string& pod_id, const std::string& name,
                                                       const std::vector<std::string>& command) {
  const auto s = registry.sandbox(pod_id);
  v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  *request.mutable_config() = container_config(name, command);
  if (s) *request.mutable_sandbox_config() = pod_config(s->name);
  v1::CreateContainerResponse response;
  const auto status = runtime.CreateContainer(nullptr, &request, &response);
  return {status, response.container_id()};
}

grpc::Status MemoryRuntime::start_container(const std::string& id) {
  v1::StartContainerRequest request;
  request.set_container_id(id);
  v1::StartContainerResponse response;
  return runtime.StartContainer(nullptr, &request, &response);
}

grpc::Status MemoryRuntime::stop_container(const std::string& id, int64_t timeout) {
  v1::StopContainerRequest request;
  request.set_container_id(id);
  request.set_timeout(timeout);
  v1::StopContainerResponse response;
  return runtime.StopContainer(nullptr, &request, &response);
}

grpc::Status MemoryRuntime::remove_container(const std::string& id) {
  v1::RemoveContainerRequest request;
  request.set_container_id(id);
  v1::RemoveContainerResponse response;
  return runtime.RemoveContainer(nullptr, &request, &response);
}

grpc::Status MemoryRuntime::stop_pod(const std::string& id) {
  v1::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse response;
  return runtime.StopPodSandbox(nullptr, &request, &response);
}

grpc::Status MemoryRuntime::remove_pod(const std::string& id) {
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse response;
  return runtime.RemovePodSandbox(nullptr, &request, &response);
}

std::pair<std::string, std::string> MemoryRuntime::running_pod(const std::string& pod, const std::string& container) {
  const auto sandbox = run_pod(pod);
  REQUIRE(sandbox.status.error_message() == "");
  REQUIRE(sandbox.status.ok());
  const auto created = create_container(sandbox.id, container);
  REQUIRE(created.status.error_message() == "");
  REQUIRE(created.status.ok());
  const auto started = start_container(created.id);
  REQUIRE(started.error_message() == "");
  REQUIRE(started.ok());
  return {sandbox.id, created.id};
}

bool MemoryRuntime::wait_until(const std::function<bool(const store::Registry::View&)>& done) {
  return registry.wait_until(done, std::chrono::steady_clock::now() + 10s);
}

}  // namespace lxe::test
