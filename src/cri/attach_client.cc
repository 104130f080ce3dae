#include "cri/attach_client.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/attach_protocol.h"
#include "common/socket_io.h"

namespace lxe::cri {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(200);

std::string errno_text(int error) { return std::strerror(error); }

// Frames to lxe-init come from two threads (stdin and resizes): one write at a time, each frame
// whole. Blocks while lxe-init does not read (its workload's stdin is full); shutdown() of the
// socket ends that.
class FrameWriter {
 public:
  explicit FrameWriter(int fd) : fd_(fd) {}
  bool write(std::string_view frames) {
    std::lock_guard lock(mutex_);
    return send_all(fd_, frames);
  }

 private:
  const int fd_;
  std::mutex mutex_;
};

// Client to lxe-init: stdin bytes, then StdinEnd when the client ends the stream. Stops when
// `stop` is set (the session is over) or lxe-init no longer reads.
void pump_stdin(streaming::InboundPipe& from_client, FrameWriter& writer, const std::atomic<bool>& stop) {
  char buffer[32 * 1024];
  while (!stop) {
    const auto n = from_client.read_for(buffer, sizeof buffer, kPoll);
    if (!n) continue;
    if (*n == 0) {
      writer.write(attach::encode(attach::FrameType::StdinEnd));
      return;
    }
    std::string frames;
    attach::append_data(frames, attach::FrameType::Stdin, std::string_view(buffer, *n));
    if (!writer.write(frames)) return;
  }
}

}  // namespace

streaming::SessionOutcome run_attach_session(UniqueFd socket, streaming::SessionIo& io) {
  FrameWriter writer(socket.get());
  uint8_t flags = 0;
  if (io.stdin_pipe) flags |= attach::kWantStdin;
  if (io.stdout_sink) flags |= attach::kWantStdout;
  if (io.stderr_sink) flags |= attach::kWantStderr;
  if (!writer.write(attach::encode_hello(flags)))
    return streaming::SessionOutcome::failed("cannot talk to the container's lxe-init: " + errno_text(errno));

  std::atomic<bool> stop{false};
  std::thread stdin_pump;
  if (io.stdin_pipe) stdin_pump = std::thread([&] { pump_stdin(*io.stdin_pipe, writer, stop); });
  std::thread resize_pump;
  if (io.resize)
    resize_pump = std::thread([&] {
      while (const auto size = io.resize->pop())
        if (!writer.write(attach::encode_resize({size->width, size->height}))) break;
    });

  // lxe-init to client. The sinks block while the client is slow; lxe-init then disconnects us
  // rather than wait (its limit), and the session ends here.
  streaming::SessionOutcome outcome = streaming::SessionOutcome::exited(0);
  attach::Decoder decoder;
  std::optional<int32_t> exit_code;
  const auto deliver = [&](const attach::Frame& frame) -> bool {
    switch (frame.type) {
      case attach::FrameType::Stdout:
        return !io.stdout_sink || io.stdout_sink->write(frame.payload);
      case attach::FrameType::Stderr:
        return !io.stderr_sink || io.stderr_sink->write(frame.payload);
      case attach::FrameType::Exit:
        exit_code = attach::parse_exit(frame.payload);
        return true;
      default:
        return true;  // a frame of a later lxe-init
    }
  };
  while (true) {
    if (io.cancelled && io.cancelled->cancelled()) {
      outcome = streaming::SessionOutcome::failed("the client went away");
      break;
    }
    pollfd pfd{socket.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(kPoll.count()));
    if (ready < 0 && errno != EINTR) {
      outcome = streaming::SessionOutcome::failed("poll failed: " + errno_text(errno));
      break;
    }
    if (ready <= 0) continue;
    char buffer[64 * 1024];
    const ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    // The end (lxe-init closes after Exit, or ends this client's session, or its container was
    // stopped), or a reset: either way nothing more comes.
    if (n <= 0) break;
    decoder.feed(std::string_view(buffer, static_cast<size_t>(n)));
    bool client_there = true;
    while (client_there) {
      const auto frame = decoder.next();
      if (!frame) break;
      client_there = deliver(*frame);
    }
    if (!decoder.error().empty()) {
      outcome = streaming::SessionOutcome::failed("the container's lxe-init sent garbage: " + decoder.error());
      break;
    }
    if (!client_there) {
      outcome = streaming::SessionOutcome::failed("the client went away");
      break;
    }
  }
  if (exit_code) spdlog::debug("streaming: attach: the workload exited with {}", *exit_code);

  stop = true;
  // Unblocks a stdin write that waits for lxe-init to read; lxe-init sees the client gone.
  ::shutdown(socket.get(), SHUT_RDWR);
  if (io.resize) io.resize->close();
  if (stdin_pump.joinable()) stdin_pump.join();
  if (resize_pump.joinable()) resize_pump.join();
  return outcome;
}

}  // namespace lxe::cri
