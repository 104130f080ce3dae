// lxe's streaming::Runtime: exec through LXD's exec API with websockets (lxd::ExecSession), in the
// container's identity as ExecSync runs; attach through the socket the container's lxe-init keeps
// in its state directory (cri/attach_client.h); port forwarding by connecting from inside the pod
// holder's network namespace (no helper in the container, nothing installed in it).
#pragma once

#include "streaming/runtime.h"

namespace lxe::store {
class Registry;
}
namespace lxe::lxd {
class Client;
}
namespace lxe::reconcile {
class HostFiles;
}

namespace lxe::cri {

class StreamingRuntime final : public streaming::Runtime {
 public:
  StreamingRuntime(const store::Registry& registry, const lxd::Client& lxd, const reconcile::HostFiles& files)
      : registry_(registry), lxd_(lxd), files_(files) {}

  streaming::SessionOutcome exec(const streaming::ExecRequest& request, streaming::SessionIo& io) override;
  streaming::SessionOutcome attach(const streaming::AttachRequest& request, streaming::SessionIo& io) override;
  std::variant<UniqueFd, std::string> connect(const std::string& pod_id, int32_t port) override;

 private:
  const store::Registry& registry_;
  const lxd::Client& lxd_;
  const reconcile::HostFiles& files_;
};

// A TCP connection to localhost:`port` made from inside the network namespace at `netns_path`
// (a dedicated thread enters it, so no other thread of lxe changes namespace); IPv4 first, then
// IPv6. The error says why when there is none.
std::variant<UniqueFd, std::string> connect_in_netns(const std::string& netns_path, int32_t port);

}  // namespace lxe::cri
