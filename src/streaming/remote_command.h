// Exec and attach over SPDY: kubelet's remotecommand protocols channel.k8s.io (v1) to
// v4.channel.k8s.io. The client opens one stream per channel, named by its `streamType` header
// (error, stdin, stdout, stderr, resize); the command starts once all the request asked for are
// open; the error stream carries how it ended (v4: a metav1.Status in JSON, whose NonZeroExitCode
// reason carries the exit code; earlier versions: the error's text).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "streaming/requests.h"
#include "streaming/runtime.h"
#include "streaming/session_io.h"

namespace lxe::streaming {

class SpdyConnection;

// Newest first: the server's preference when the client offers several. SPDY carries v1 to v4;
// WebSocket v4 and v5 (v5 adds the close signal with which a client ends its stdin).
const std::vector<std::string>& remote_command_protocols();
const std::vector<std::string>& websocket_remote_command_protocols();

// The bytes of the error stream for `outcome` under `protocol` ("" when nothing is written:
// success before v4).
std::string status_message(const std::string& protocol, const SessionOutcome& outcome);

// The client's channels of one session, whatever carries them; null where the request has none.
struct CommandChannels {
  InboundPipe* stdin_pipe = nullptr;
  Sink* stdout_sink = nullptr;
  Sink* stderr_sink = nullptr;
  InboundPipe* resize = nullptr;  // JSON terminal sizes (tty)
  Sink* error = nullptr;          // required: how the session ended
};

// Runs one exec or attach on `channels` until the command or attachment ends or `cancelled` is
// set: the output channels end first, then the status goes to the error channel.
void run_remote_command(const std::string& protocol, const Request& request, Runtime& runtime,
                        const CommandChannels& channels, Cancellation& cancelled);

// Serves one exec or attach session on `connection` (not yet started) until it ends. `cancelled`
// is the connection's: set when the client goes away or lxe shuts down.
void serve_remote_command(SpdyConnection& connection, const std::string& protocol, const Request& request,
                          Runtime& runtime, Cancellation& cancelled, std::chrono::milliseconds stream_timeout);

// Reads the JSON terminal sizes a client sends ({"Width":80,"Height":24}, one after another) from
// `source` into `sizes` until the source ends; then closes `sizes`.
void read_resize_events(InboundPipe& source, ResizeQueue& sizes);

}  // namespace lxe::streaming
