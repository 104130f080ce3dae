#include "streaming/remote_command.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "streaming/spdy_connection.h"

namespace lxe::streaming {
namespace {

constexpr const char* kV5 = "v5.channel.k8s.io";
constexpr const char* kV4 = "v4.channel.k8s.io";
constexpr const char* kV3 = "v3.channel.k8s.io";

// The streams the session waits for, as kubelet counts them: with a tty there is no stderr, and a
// resize stream only from v3 on.
std::vector<std::string> wanted_streams(const std::string& protocol, bool tty, bool in, bool out, bool err) {
  std::vector<std::string> wanted{"error"};
  if (in) wanted.push_back("stdin");
  if (out) wanted.push_back("stdout");
  if (err && !tty) wanted.push_back("stderr");
  if (tty && (protocol == kV4 || protocol == kV3 || protocol == kV5)) wanted.push_back("resize");
  return wanted;
}

// The streams the client opened, by type, as they arrive on the reader thread.
class StreamSet {
 public:
  void add(std::shared_ptr<SpdyStream> stream) {
    std::lock_guard lock(mutex_);
    const std::string type = stream->header("streamType");
    if (type.empty() || streams_.count(type)) {
      // Unknown to the protocol or opened twice: refused, the session goes on.
      spdlog::debug("streaming: refusing a stream of type '{}'", type);
      stream->reset();
      return;
    }
    streams_[type] = std::move(stream);
    changed_.notify_all();
  }
  void closed() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  // True when every wanted stream is open; false at `timeout` or when the connection closed.
  bool wait_for(const std::vector<std::string>& wanted, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      if (closed_) return true;
      for (const auto& type : wanted)
        if (!streams_.count(type)) return false;
      return true;
    }) && !closed_;
  }
  std::shared_ptr<SpdyStream> get(const std::string& type) {
    std::lock_guard lock(mutex_);
    const auto it = streams_.find(type);
    return it == streams_.end() ? nullptr : it->second;
  }
  void reset_others(const std::vector<std::string>& wanted) {
    std::lock_guard lock(mutex_);
    for (auto& [type, stream] : streams_)
      if (std::find(wanted.begin(), wanted.end(), type) == wanted.end()) stream->reset();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<SpdyStream>> streams_;
  bool closed_ = false;
};

}  // namespace

const std::vector<std::string>& remote_command_protocols() {
  static const std::vector<std::string> protocols{kV4, kV3, "v2.channel.k8s.io", "channel.k8s.io"};
  return protocols;
}

const std::vector<std::string>& websocket_remote_command_protocols() {
  static const std::vector<std::string> protocols{kV5, kV4};
  return protocols;
}

std::string status_message(const std::string& protocol, const SessionOutcome& outcome) {
  const bool success = outcome.exit_code && *outcome.exit_code == 0;
  std::string message;
  if (!success)
    message = outcome.exit_code ? "command terminated with non-zero exit code: exit status " +
                                      std::to_string(*outcome.exit_code)
                                : outcome.error;
  if (protocol != kV4 && protocol != kV5) return message;
  nlohmann::json status{{"metadata", nlohmann::json::object()}};
  if (success) {
    status["status"] = "Success";
  } else if (outcome.exit_code) {
    status["status"] = "Failure";
    status["message"] = message;
    status["reason"] = "NonZeroExitCode";
    status["details"] = {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(*outcome.exit_code)}}}}};
  } else {
    status["status"] = "Failure";
    status["message"] = message;
    status["reason"] = "InternalError";
    status["code"] = 500;
  }
  return status.dump();
}

void read_resize_events(InboundPipe& source, ResizeQueue& sizes) {
  std::string pending;
  char buffer[4096];
  while (const size_t n = source.read(buffer, sizeof buffer)) {
    pending.append(buffer, n);
    // Go's json.Encoder ends each value with a newline; a value split across frames waits.
    size_t end;
    while ((end = pending.find('\n')) != std::string::npos) {
      const auto event = nlohmann::json::parse(pending.substr(0, end), nullptr, false);
      pending.erase(0, end + 1);
      if (!event.is_object()) continue;
      const auto width = event.value("Width", 0), height = event.value("Height", 0);
      if (width > 0 && height > 0 && width <= 0xffff && height <= 0xffff)
        sizes.push({static_cast<uint16_t>(width), static_cast<uint16_t>(height)});
    }
    if (pending.size() > 4096) pending.clear();  // not JSON lines: nothing sensible to keep
  }
  sizes.close();
}

void run_remote_command(const std::string& protocol, const Request& request, Runtime& runtime,
                        const CommandChannels& channels, Cancellation& cancelled) {
  const auto* exec = std::get_if<ExecRequest>(&request);
  const auto* attach = std::get_if<AttachRequest>(&request);
  ResizeQueue sizes;
  SessionIo io;
  io.stdin_pipe = channels.stdin_pipe;
  io.stdout_sink = channels.stdout_sink;
  io.stderr_sink = channels.stderr_sink;
  io.resize = channels.resize ? &sizes : nullptr;
  io.cancelled = &cancelled;
  std::thread resize_reader;
  if (channels.resize) resize_reader = std::thread([&] { read_resize_events(*channels.resize, sizes); });

  SessionOutcome outcome;
  try {
    outcome = exec ? runtime.exec(*exec, io) : runtime.attach(*attach, io);
  } catch (const std::exception& e) {
    outcome = SessionOutcome::failed(e.what());
  }
  // The output ends before the status, so that the client has all of it when it learns how the
  // command ended.
  if (channels.stdout_sink) channels.stdout_sink->close();
  if (channels.stderr_sink) channels.stderr_sink->close();
  if (const std::string status = status_message(protocol, outcome); !status.empty()) channels.error->write(status);
  channels.error->close();
  if (channels.resize) channels.resize->abort();
  if (channels.stdin_pipe) channels.stdin_pipe->abort();
  if (resize_reader.joinable()) resize_reader.join();
}

void serve_remote_command(SpdyConnection& connection, const std::string& protocol, const Request& request,
                          Runtime& runtime, Cancellation& cancelled, std::chrono::milliseconds stream_timeout) {
  const auto* exec = std::get_if<ExecRequest>(&request);
  const auto* attach = std::get_if<AttachRequest>(&request);
  const bool tty = exec ? exec->tty : attach->tty;
  const auto wanted = exec ? wanted_streams(protocol, tty, exec->stdin, exec->stdout, exec->stderr)
                           : wanted_streams(protocol, tty, attach->stdin, attach->stdout, attach->stderr);
  StreamSet streams;
  connection.start([&](std::shared_ptr<SpdyStream> stream) { streams.add(std::move(stream)); },
                   [&] {
                     streams.closed();
                     cancelled.cancel();
                   });
  if (!streams.wait_for(wanted, stream_timeout)) {
    if (auto error = streams.get("error"); error && !connection.peer_closed()) {
      error->write(status_message(protocol, SessionOutcome::failed("timed out waiting for the client to open its streams")));
      error->close();
    }
    connection.finish();
    return;
  }
  streams.reset_others(wanted);

  const auto in = streams.get("stdin"), out = streams.get("stdout"), err = streams.get("stderr");
  const auto resize = streams.get("resize"), error = streams.get("error");
  CommandChannels channels;
  channels.stdin_pipe = in ? &in->inbound() : nullptr;
  channels.stdout_sink = out.get();
  channels.stderr_sink = err.get();
  channels.resize = resize ? &resize->inbound() : nullptr;
  channels.error = error.get();
  run_remote_command(protocol, request, runtime, channels, cancelled);
  connection.finish();
}

}  // namespace lxe::streaming
