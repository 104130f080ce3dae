// The tests' own WebSocket streaming client (Boost.Beast): kubelet's channel protocols as
// client-go's WebSocket executor speaks them (crictl exec -r websocket).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "support/spdy_client.h"

namespace lxe::test {

struct WebSocketRun {
  std::vector<std::string> protocols{"v5.channel.k8s.io"};
  std::optional<std::string> stdin_data;  // sent on channel 0
  bool close_stdin = true;                // then v5's close signal for channel 0
  std::vector<std::string> resizes;       // JSON sizes on channel 4, each with a newline
};

struct WebSocketResult {
  int http_status = 0;  // of a refused handshake; 101 when it was accepted
  std::string protocol;
  std::string out;
  std::string err;
  std::string status;  // channel 3
  bool closed_normally = false;
};

// http_status is 101 when the handshake succeeded and 0 when it was declined.
WebSocketResult run_websocket_command(const std::string& url, const WebSocketRun& run);

// The answer to a WebSocket upgrade that lxe is expected to refuse.
HttpAnswer websocket_refusal(const std::string& url, const std::vector<std::string>& protocols);

}  // namespace lxe::test
