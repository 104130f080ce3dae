#include "reconcile/workload_stop.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <variant>

#include "common/attach_protocol.h"
#include "common/attach_socket.h"
#include "common/socket_io.h"

namespace lxe::reconcile {
namespace {

using Clock = std::chrono::steady_clock;

// The next frame from `fd` before `deadline`; nullopt at the deadline, at the end of the
// connection (`closed` set) or on garbage.
std::optional<attach::Frame> next_frame(int fd, attach::Decoder& decoder, Clock::time_point deadline, bool& closed) {
  while (true) {
    if (auto frame = decoder.next()) return frame;
    if (!decoder.error().empty()) {
      closed = true;
      return std::nullopt;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) {
      closed = true;
      return std::nullopt;
    }
    if (ready <= 0) continue;
    char buffer[16 * 1024];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      closed = true;
      return std::nullopt;
    }
    decoder.feed(std::string_view(buffer, static_cast<size_t>(n)));
  }
}

}  // namespace

WorkloadStop stop_workload(const std::string& socket_path, uint32_t grace_seconds, WorkloadStopTimes times) {
  WorkloadStop out;
  if (!attach::attach_socket_exists(socket_path)) {
    out.detail = "no attach socket at " + socket_path;
    return out;
  }
  auto connected = attach::connect_attach_socket(socket_path);
  if (auto* why = std::get_if<std::string>(&connected)) {
    out.detail = *why;
    return out;
  }
  UniqueFd socket = std::move(std::get<UniqueFd>(connected));
  // The listener's PID as the host sees it: lxe-init, which the caller spares when it kills what a
  // shared PID namespace kept of the container.
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(socket.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0) out.init_pid = peer.pid;

  if (!send_all(socket.get(), attach::encode_hello(0) + attach::encode_stop(grace_seconds))) {
    out.detail = std::string("cannot send Stop: ") + std::strerror(errno);
    return out;
  }
  attach::Decoder decoder;
  bool closed = false;
  bool taken = false;
  const auto answer_by = Clock::now() + times.answer;
  const auto exit_by = Clock::now() + std::chrono::seconds(grace_seconds) + times.slack;
  while (true) {
    const auto frame = next_frame(socket.get(), decoder, taken ? exit_by : answer_by, closed);
    if (!frame) break;
    if (frame->type == attach::FrameType::Stopping) taken = true;
    if (frame->type == attach::FrameType::Exit) {
      // Exit may come before Stopping is read when the workload was already ending: it was taken.
      out.result = WorkloadStop::Result::Stopped;
      out.exit_code = attach::parse_exit(frame->payload).value_or(0);
      return out;
    }
  }
  if (!taken && !closed) {
    out.result = WorkloadStop::Result::Unsupported;
    out.detail = "lxe-init did not take the Stop within " + std::to_string(times.answer.count()) +
                 " ms (it predates Stop)";
  } else {
    out.result = WorkloadStop::Result::Lost;
    out.detail = closed ? "lxe-init closed the connection without an exit code"
                        : "no exit code from lxe-init within the grace period and " +
                              std::to_string(times.slack.count()) + " ms";
  }
  return out;
}

}  // namespace lxe::reconcile
