// Port forwarding over SPDY: kubelet's portforward.k8s.io protocol. For each connection it
// forwards, the client opens two streams with the same `requestID` header and a `port` header:
// `streamType: error` first, then `streamType: data`. lxe connects to the port inside the pod
// and copies bytes both ways on the data stream; a failure goes to the error stream as text.
// One session carries any number of such pairs, one after another or at once.
#pragma once

#include <chrono>

#include "streaming/requests.h"
#include "streaming/runtime.h"
#include "streaming/session_io.h"

namespace lxe::streaming {

class SpdyConnection;

inline constexpr const char* kPortForwardProtocol = "portforward.k8s.io";

// Serves one port-forward session on `connection` (not yet started) until the client closes it or
// `cancelled` is set (lxe shuts down).
void serve_port_forward(SpdyConnection& connection, const PortForwardRequest& request, Runtime& runtime,
                        Cancellation& cancelled);

// Copies bytes between a pod connection and a client stream until both directions ended: the
// client's end of stream shuts the pod connection's write side; the pod's end closes the stream.
// Returns early (resetting the stream) when `cancelled` is set.
void splice(int pod_fd, InboundPipe& from_client, Sink& to_client, const Cancellation& cancelled);

}  // namespace lxe::streaming
