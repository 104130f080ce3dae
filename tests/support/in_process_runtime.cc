#include "support/in_process_runtime.h"

#include <chrono>

namespace lxe::test {

using namespace std::chrono_literals;

InProcessRuntime::InProcessRuntime()
    : store(dir.file("lxe.db"), store::Store::Mode::ReadWrite),
      registry(store),
      files(dir.path()),
      volumes(files, [] { return reconcile::VolumeSupport{false, "a test without idmapped mounts"}; }),
      client(lxd::ClientOptions{.socket_path = lxd.socket_path(),
                                .connect_timeout = 1000ms,
                                .request_timeout = 2000ms,
                                .operation_timeout = 5000ms}),
      health(client, std::chrono::hours(1)),
      reconciler(registry, client, files, volumes, {}),
      catalog(store, client, "lxe"),
      service(cri::RuntimeContext{registry, reconciler, files, volumes, client, health, catalog,
                                  std::chrono::seconds(2)}) {
  store::SandboxRecord s;
  s.id = sandbox_id;
  s.name = "web";
  s.namespace_ = "default";
  s.uid = "uid-1";
  s.lxd_name = "lxe-web-0123456789ab";
  s.config_json = "{}";
  s.desired_state = store::SandboxState::Ready;
  s.observed_state = store::SandboxObserved::Ready;
  store::ContainerRecord c;
  c.id = container_id;
  c.sandbox_id = s.id;
  c.name = "app";
  c.lxd_name = kContainerInstance;
  c.config_json = R"({"metadata":{"name":"app"},"command":["sleep","3600"]})";
  c.desired_state = store::ContainerState::Running;
  c.observed_state = store::ContainerObserved::Running;
  store::Registry::Change change(registry);
  change.put(s);
  change.put(c);
  change.commit();
}

}  // namespace lxe::test
