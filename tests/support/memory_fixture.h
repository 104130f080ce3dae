// Fixtures over MemoryLxd (memory_lxd.h): the store, the host files and an in-memory LXD, for unit
// tests of the executor and the reconciler (MemoryFixture), and the same with a running reconciler
// and lxe's CRI services in the test's process (MemoryRuntime), for the CRI handlers' behaviour
// without LXD. Both live in a fresh temporary directory.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cri/image_service.h"
#include "images/catalog.h"
#include "images/puller.h"
#include "cri/runtime_service.h"
#include "reconcile/pod_network.h"
#include "lxd/health.h"
#include "reconcile/host_files.h"
#include "reconcile/reconciler.h"
#include "reconcile/volumes.h"
#include "runtime/v1/api.pb.h"
#include "store/registry.h"
#include "store/store.h"
#include "support/memory_lxd.h"
#include "support/temp_dir.h"

namespace lxe::test {

class MemoryFixture {
 public:
  MemoryFixture();
  virtual ~MemoryFixture() = default;
  MemoryFixture(const MemoryFixture&) = delete;
  MemoryFixture& operator=(const MemoryFixture&) = delete;

  // The image containers run (alias kImage in the memory LXD).
  static constexpr const char* kImage = "busybox";

  // A pod's config as kubelet sends it: metadata, DNS, and a log directory in the fixture's folder.
  runtime::v1::PodSandboxConfig pod_config(const std::string& name) const;
  // A container's config: metadata, kImage, `command` (empty: the image's own init), a log path.
  runtime::v1::ContainerConfig container_config(const std::string& name,
                                                 const std::vector<std::string>& command = {"sleep", "3600"}) const;

  // Stores a sandbox that should be ready (generation 1, nothing observed yet), as RunPodSandbox
  // records it.
  store::SandboxRecord add_sandbox(const std::string& name = "web");
  // Stores a container of `sandbox` that should be created (generation 1), as CreateContainer
  // records it.
  store::ContainerRecord add_container(const store::SandboxRecord& sandbox, const std::string& name = "app",
                                       const std::vector<std::string>& command = {"sleep", "3600"});
  void put(const store::SandboxRecord& sandbox);
  void put(const store::ContainerRecord& container);
  store::SandboxRecord sandbox(const std::string& id) const;      // must exist
  store::ContainerRecord container(const std::string& id) const;  // must exist
  // The reconcile event log of one object, oldest first.
  std::vector<store::ReconcileEvent> events_of(const std::string& id) const;

  // What lxe-init writes in a container's state directory when its command starts and ends.
  void write_started(const std::string& container_id, int64_t at_ns);
  void write_exit(const std::string& container_id, int exit_code);

  TempDir dir;
  MemoryLxd lxd;
  store::Store store;
  store::Registry registry;
  reconcile::HostFiles files;
  // Volumes as on a host that cannot stage idmapped mounts: host paths are the devices' sources
  // (tests of staging make a Volumes of their own).
  reconcile::Volumes volumes;
  const std::string image_fingerprint;  // of kImage
};

// The CRI services over a reconciler that runs (its workers and resync loop) against the memory
// LXD, whose lifecycle events reach the reconciler as the event stream would bring them.
class MemoryRuntime : public MemoryFixture {
 public:
  struct Options {
    // How long a CRI call waits for the reconciler when the test passes no gRPC context.
    std::chrono::seconds max_wait{20};
    std::chrono::milliseconds initial_backoff{50};
    // The pod network the facade hands out addresses on (none: loopback only).
    reconcile::NetworkOptions network;
    // The ID map lxe pins pods' user namespaces with: by default MemoryLxd's (root at
    // MemoryLxd::Options::idmap_host_base, 10^9 IDs), as LXD's default map is the host's.
    std::vector<reconcile::IdRange> pod_idmap{reconcile::IdRange{true, false, 0, 1000000, 1000000000},
                                              reconcile::IdRange{false, true, 0, 1000000, 1000000000}};
  };
  MemoryRuntime();
  explicit MemoryRuntime(Options options);
  ~MemoryRuntime() override;  // stops the reconciler before anything it uses goes

  // The CRI calls of a pod's life, with the configs above; the status and the new ID.
  struct Created {
    grpc::Status status;
    std::string id;
  };
  Created run_pod(const std::string& name = "web");
  Created create_container(const std::string& pod_id, const std::string& name = "app",
                           const std::vector<std::string>& command = {"sleep", "3600"});
  grpc::Status start_container(const std::string& id);
  grpc::Status stop_container(const std::string& id, int64_t timeout = 0);
  grpc::Status remove_container(const std::string& id);
  grpc::Status stop_pod(const std::string& id);
  grpc::Status remove_pod(const std::string& id);
  // A pod with one running container, both through CRI; REQUIREs that each call succeeded.
  std::pair<std::string, std::string> running_pod(const std::string& pod = "web", const std::string& container = "app");

  // Waits on the registry, up to 10 s, until `done` holds; false if it never did.
  bool wait_until(const std::function<bool(const store::Registry::View&)>& done);

  lxd::HealthMonitor health;
  reconcile::Reconciler reconciler;
  images::ImageCatalog catalog;
  images::Puller puller;  // its skopeo is `false`: every pull fails at the registry
  cri::RuntimeService runtime;
  cri::ImageService images;
};

}  // namespace lxe::test
