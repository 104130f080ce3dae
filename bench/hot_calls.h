// The hot path's RPCs, the ones kubelet makes all the time (Version, Status, the two lists, the
// two status calls), with their requests. One definition, so that the hot-path section and its
// second pass while stats are polled (hot_path_polled.cc) measure the very same calls.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "runtime/v1/api.grpc.pb.h"
#include "workload.h"

namespace lxe::bench {

namespace cri = ::runtime::v1;

using Call = std::function<grpc::Status(cri::RuntimeService::Stub&, grpc::ClientContext*)>;

struct Rpc {
  std::string name;
  Call call;
};

class HotCalls {
 public:
  // PodSandboxStatus and ContainerStatus ask for the pod in the middle of `pods` and its first
  // container (a running one if it has one); without one, there is nothing to ask for and they
  // are left out.
  explicit HotCalls(const std::vector<PodInfo>& pods);
  // The calls refer to this object's requests.
  HotCalls(const HotCalls&) = delete;
  HotCalls& operator=(const HotCalls&) = delete;

  bool has_objects() const { return has_objects_; }
  const std::vector<Rpc>& rpcs() const { return rpcs_; }

  cri::VersionRequest version;
  cri::StatusRequest status;
  cri::ListPodSandboxRequest list_pods;
  cri::ListContainersRequest list_containers;
  cri::PodSandboxStatusRequest pod_status;
  cri::ContainerStatusRequest container_status;

 private:
  bool has_objects_ = false;
  std::vector<Rpc> rpcs_;
};

}  // namespace lxe::bench
