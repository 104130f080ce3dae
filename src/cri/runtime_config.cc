#include "cri/runtime_service.h"

namespace lxe::cri {

// kubelet sends the node's pod CIDR here. lxe gives each pod its own network namespace and leaves
// addressing to LXD's network configuration, so there is nothing to apply; the call succeeds.
::grpc::Status RuntimeService::UpdateRuntimeConfig(::grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest*,
                                                   v1::UpdateRuntimeConfigResponse*) {
  return ::grpc::Status::OK;
}

// kubelet (KubeletCgroupDriverFromCRI) takes its cgroup driver from here instead of its own flag.
// LXD's containers live in cgroups that liblxc creates and writes through the cgroup filesystem
// itself, on systemd hosts too: nothing goes through systemd's slice and scope API. So the driver
// lxe and LXD use is always cgroupfs.
::grpc::Status RuntimeService::RuntimeConfig(::grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                                             v1::RuntimeConfigResponse* response) {
  response->mutable_linux()->set_cgroup_driver(v1::CGROUPFS);
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
