// What the streaming server needs from the container runtime, as kubelet's streaming package asks
// of its runtimes: run a command, attach to a container, connect into a pod. lxe's implementation
// (cri/streaming_runtime.h) goes through the store and LXD; tests give their own.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "common/unique_fd.h"
#include "streaming/requests.h"
#include "streaming/session_io.h"

namespace lxe::streaming {

// How a session ended: the command's exit code, or why there is none (for the client to show).
struct SessionOutcome {
  std::optional<int> exit_code;
  std::string error;

  static SessionOutcome exited(int code) { return {code, ""}; }
  static SessionOutcome failed(std::string why) { return {std::nullopt, std::move(why)}; }
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  // Both block until the command (exec) or the attachment (attach) ends, or `io.cancelled` is set;
  // they return once nothing of theirs still reads or writes `io`.
  virtual SessionOutcome exec(const ExecRequest& request, SessionIo& io) = 0;
  virtual SessionOutcome attach(const AttachRequest& request, SessionIo& io) = 0;
  // A TCP connection to localhost:`port` in the pod's network namespace, or why there is none.
  virtual std::variant<UniqueFd, std::string> connect(const std::string& pod_id, int32_t port) = 0;
};

}  // namespace lxe::streaming
