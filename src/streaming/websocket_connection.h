// One upgraded WebSocket connection, server side (Boost.Beast), in the two shapes kubelet's
// newer clients use:
//   - channels (v5.channel.k8s.io, v4.channel.k8s.io): every binary message starts with a channel
//     byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize); v5's message {255, channel} ends the
//     client's side of a channel (stdin EOF);
//   - a tunnel (SPDY/3.1+portforward.k8s.io): binary messages carry a SPDY byte stream, which a
//     socket pair hands to an ordinary SpdyConnection.
//
// Beast streams are not safe for concurrent use, so one thread owns all I/O of a connection (an
// io_context of its own); writes from other threads are queued to it and wait for completion,
// which gives TCP's back-pressure to the writer.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "streaming/session_io.h"

namespace lxe::streaming {

inline constexpr const char* kPortForwardTunnelProtocol = "SPDY/3.1+portforward.k8s.io";

class WebSocketConnection {
 public:
  using HttpRequest = boost::beast::http::request<boost::beast::http::empty_body>;
  // Answers the upgrade of `request` on `fd` (the caller keeps `fd` open while this lives),
  // choosing `protocol`. Throws std::runtime_error when the handshake fails.
  WebSocketConnection(int fd, const HttpRequest& request, const std::string& protocol);
  ~WebSocketConnection();  // as finish(), without waiting for the client
  WebSocketConnection(const WebSocketConnection&) = delete;
  WebSocketConnection& operator=(const WebSocketConnection&) = delete;

  // Channels: what the client sends on channels 0 (stdin) and 4 (resize), and sinks for 1, 2
  // and 3. Valid until destruction.
  InboundPipe& inbound(uint8_t channel);
  Sink& outbound(uint8_t channel);
  // Channels: starts reading; `on_closed` runs when the client closed or broke the connection.
  void start_channels(std::function<void()> on_closed);
  // Tunnel: starts carrying the byte stream; returns the local end for the SPDY connection.
  int start_tunnel(std::function<void()> on_closed);

  // A normal close, waiting up to `linger` for the client's answer; then stops the I/O thread
  // (no callback runs after it returns).
  void finish(std::chrono::milliseconds linger = std::chrono::seconds(5));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  UniqueFd tunnel_local_;  // the socket pair's end the SPDY connection uses
};

}  // namespace lxe::streaming
