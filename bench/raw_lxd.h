// The raw-LXD side of the lifecycle section: for each CRI call of a pod lifecycle, the LXD work lxe
// does for it, done directly with the same LXD client, without the store, the queue or gRPC.
//
// It cannot drift from what lxe does: the records are filled from the CRI requests as lxe's facade
// fills them (src/cri/sandbox_run.cc, container_create.cc), every LXD object comes from lxe's own
// mapping code (reconcile/lxd_specs.h: sandbox_profile, infra_instance, container_instance,
// init_spec; reconcile/volumes.h for the containers' mounts, decided for this host as lxe decides),
// and the steps are those of lxe's executor (reconcile/executor.cc) for a new object.
// tests/integration/bench_raw_lxd_test.cc compares the objects with the ones lxe makes.
#pragma once

#include <map>
#include <string>

#include "lxd/client.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/volumes.h"
#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::bench {

namespace cri = ::runtime::v1;

struct RawPod {
  store::SandboxRecord record;
  cri::PodSandboxConfig config;
};

struct RawContainer {
  store::ContainerRecord record;
  cri::ContainerConfig config;
};

class RawLxd {
 public:
  // Host files go under `root` (lxe keeps them next to its store); lxe-init is installed there from
  // `init_binary`. Every object gets `marks` (the bench's test-pid mark) as lxe's get LXE_TEST_MARK.
  // Whether volumes are staged as idmapped mounts is decided as lxe decides it (Volumes::host_probe,
  // which asks LXD for its PID), unless `volumes_probe` decides instead (a test without LXD).
  RawLxd(const lxd::Client& lxd, std::string prefix, const std::string& root, const std::string& init_binary,
         lxd::Config marks, reconcile::Volumes::Probe volumes_probe = {});

  // Instances on this LXD storage pool, as lxe's with --storage-pool ("": the default profile's).
  void use_storage_pool(std::string pool) { mapping_.storage_pool = std::move(pool); }

  // The records lxe's facade stores for RunPodSandbox and CreateContainer with these configs (a
  // new ID each). A container's image_ref is set by create(), from LXD, as the facade does.
  RawPod pod(const cri::PodSandboxConfig& config) const;
  RawContainer container(const RawPod& pod, const cri::ContainerConfig& config) const;

  // The LXD objects lxe's executor creates for them.
  lxd::ProfileSpec profile_spec(const RawPod& pod) const;
  lxd::InstanceSpec holder_spec(const RawPod& pod) const;
  lxd::InstanceSpec container_spec(const RawContainer& container, const RawPod& pod) const;

  // One method per CRI call: the executor's steps for it (steps() says them in words).
  void run_pod(RawPod& pod) const;
  void create(RawContainer& container, const RawPod& pod) const;
  void start(const RawContainer& container) const;
  void stop(const RawContainer& container) const;
  void remove(const RawContainer& container) const;
  void stop_pod(const RawPod& pod) const;
  void remove_pod(const RawPod& pod) const;

  // The steps of each call, by the CRI call's name, for the report.
  static const std::map<std::string, std::string>& steps();

  const reconcile::HostFiles& files() const { return files_; }

 private:
  const lxd::Client& lxd_;
  std::string prefix_;
  reconcile::HostFiles files_;
  reconcile::Volumes volumes_;
  reconcile::MappingOptions mapping_;
};

}  // namespace lxe::bench
