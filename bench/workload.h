// The pods and containers the bench asks lxe for, as kubelet makes them: kubelet's labels and
// annotations, a log directory, and for every container BestEffort resources and the three mounts
// kubelet gives every container, with host files laid out as kubelet lays them out.
#pragma once

#include <string>
#include <vector>

#include "runtime/v1/api.pb.h"

namespace lxe::bench {

namespace cri = ::runtime::v1;

class Workload {
 public:
  // Host files go under `root` (logs/, pods/); containers run `image`.
  Workload(std::string root, std::string image) : root_(std::move(root)), image_(std::move(image)) {}

  // A pod in namespace "bench" with a fresh UID and its log directory under root/logs.
  cri::PodSandboxConfig pod(const std::string& name) const;
  // A container running `sleep 3600`; writes its mounts' host files under root/pods.
  cri::ContainerConfig container(const std::string& name, const cri::PodSandboxConfig& pod) const;

 private:
  std::string root_;
  std::string image_;
};

// A pod the bench made through lxe, and its containers.
struct PodInfo {
  std::string id;
  cri::PodSandboxConfig config;
  std::vector<std::string> running;  // container IDs, started
  std::vector<std::string> created;  // container IDs, created only
};

}  // namespace lxe::bench
