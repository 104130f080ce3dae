// The framed protocol on a container's attach socket (<state dir>/attach.sock), spoken between lxe
// (the client, one connection per CRI Attach session) and `lxe-init run` (the server, which owns
// the workload's stdin, terminal and output for the container's whole life, so an attach works
// the same after an lxe restart).
//
// A frame is 1 byte of type, a 4 byte big-endian payload length, the payload. The client's first
// frame is Hello; then it sends Stdin, StdinEnd and Resize in any order. lxe-init sends Stdout and
// Stderr (the output produced after the client attached, only the streams the Hello asked for) and,
// when the workload has exited and its output is drained, Exit; then it closes the connection. It
// also closes the connection, without Exit, when the session ends otherwise (the client's stdin
// ended and the container does not keep stdin for the next client, or the client reads too
// slowly). A frame of an unknown type is skipped, so either side may learn new ones later.
//
// Stop (lxe's StopContainer) rides on the same socket: a client sends Stop with the grace period;
// lxe-init answers Stopping at once (an lxe-init from before Stop skips the frame and says
// nothing, which is how lxe knows to stop the container through LXD instead), sends the stop
// signal to the workload, SIGKILLs every process of the container when the grace period is over
// (or at once for 0), writes the exit record and sends Exit to every client. Then it exits, and
// LXD notices its container has stopped.
//
// Shared by lxe and lxe-init: no dependency beyond the standard library (lxe-init is linked
// statically and compiles this file itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lxe::attach {

enum class FrameType : uint8_t {
  // client -> lxe-init
  Hello = 1,     // payload: version (kVersion), flags (kWant*)
  Stdin = 2,     // payload: bytes for the workload's stdin
  StdinEnd = 3,  // no payload: the client's stdin ended
  Resize = 4,    // payload: width, height, each 2 bytes big-endian
  Stop = 5,      // payload: the grace period in seconds, 4 bytes big-endian (0: kill at once)
  // lxe-init -> client
  Stdout = 16,  // payload: output bytes (a terminal's, with a tty)
  Stderr = 17,
  Exit = 18,  // payload: the workload's exit code, 4 bytes big-endian (signed)
  Stopping = 19,  // no payload: a Stop was taken (sent to the client that sent it)
};

inline constexpr uint8_t kVersion = 1;
inline constexpr uint8_t kWantStdin = 1;
inline constexpr uint8_t kWantStdout = 2;
inline constexpr uint8_t kWantStderr = 4;

inline constexpr size_t kHeaderSize = 5;
// Larger payloads are a protocol error (the peer is not lxe or lxe-init); data is cut into frames
// of at most this size.
inline constexpr size_t kMaxPayload = 64 * 1024;

// The socket's name in the container's state directory.
inline constexpr const char* kSocketName = "attach.sock";

struct Frame {
  FrameType type;
  std::string payload;
};

// One frame; `payload` must be at most kMaxPayload bytes.
std::string encode(FrameType type, std::string_view payload = {});
// `data` as frames of `type`, cut at kMaxPayload, appended to `out`. Nothing for empty data.
void append_data(std::string& out, FrameType type, std::string_view data);

struct Hello {
  uint8_t version = kVersion;
  uint8_t flags = 0;
  bool wants(uint8_t flag) const { return (flags & flag) != 0; }
};
struct WindowSize {
  uint16_t width = 0;
  uint16_t height = 0;
  bool operator==(const WindowSize&) const = default;
};

std::string encode_hello(uint8_t flags);
std::string encode_resize(WindowSize size);
std::string encode_exit(int32_t code);
std::string encode_stop(uint32_t grace_seconds);
// The payloads' meaning; nullopt when the payload has the wrong size.
std::optional<Hello> parse_hello(std::string_view payload);
std::optional<WindowSize> parse_resize(std::string_view payload);
std::optional<int32_t> parse_exit(std::string_view payload);
std::optional<uint32_t> parse_stop(std::string_view payload);

// Cuts a byte stream into frames.
class Decoder {
 public:
  void feed(std::string_view bytes);
  // The next whole frame, nullopt when more bytes are needed or the stream is broken (see error()).
  std::optional<Frame> next();
  // Why the stream is unusable (a payload longer than kMaxPayload); empty while it is fine.
  const std::string& error() const { return error_; }
  // Bytes fed but not yet returned in a frame.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;  // start of the first frame not yet returned
  std::string error_;
};

}  // namespace lxe::attach
