#include "lxd/exec_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "lxd/json_codec.h"

// What LXD 5.0.2 does with the websockets of an exec (measured against it with throwaway
// clients and with tests/integration/lxd_exec_session_lxd_test.cc; the reasons are in LXD's
// lxd/instance_exec.go and shared/network.go):
//
// - Output. Each output websocket (stdout and stderr, or the pty's fd "0") carries binary messages
//   (at most 128 KiB; 64 KiB, a pipe's worth, measured for 4 MiB of output) and, at the stream's
//   EOF, one empty TEXT message: LXD's "barrier". LXD closes the connections of all websockets,
//   without a close frame, when the operation ends, after all output was sent.
// - Stdin EOF (non-interactive). An empty text message on fd "0" makes LXD close the write end of
//   the command's stdin pipe: `cat` sees EOF and exits 0. A close frame does too (LXD stops
//   reading fd "0" on either); this sends the text message, as `lxc exec` does.
// - Interactive end. After the pty's barrier LXD waits for the client to end its side of fd "0"
//   before it ends the operation: without the close frame sent then, the operation stayed
//   "Running" with the command gone.
// - Closing. When the control websocket closes (close frame or dropped connection) while the
//   command runs, LXD sends it SIGKILL (exit code 137, operation Success). With control connected,
//   closing fd "0", "1" and "2" kills nothing: the command ran on. (Without a control websocket,
//   closing them killed it; this session always connects control.)
// - Signals. {"command":"signal","signal":N} on the control websocket signals the command's own
//   process, not its children; a command a signal kills reports 128 + N (143 for SIGTERM) in a
//   successful operation. So a non-interactive `sh -c 'sleep 985; true'` that is killed leaves
//   its `sleep` running, and since that holds stdout open, LXD keeps the websockets and the
//   operation until it exits (the destructor gives up after kShutdownBound). In an interactive
//   session the pty's hang-up ended such a child too.
// - A command that is not found or not executable (exit 127, 126) ends the operation in Failure
//   ("Command not found"), with the exit code in metadata.return; one that LXD cannot start at all
//   fails with return -1.
// - LXD waits at most 5 s for the websockets a command needs before it fails the operation, and
//   pings every websocket at connect and every 10 s (see LxdSocket for what that means here).

namespace lxe::lxd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

using UnixSocket = asio::local::stream_protocol::socket;

// The socket under each websocket: LXD's unix socket, except that a write that fails because LXD
// closed the connection counts as written. LXD closes its end as soon as it has written the last
// output, and pings every websocket (at connect, then every 10 s); Beast answers a ping it reads
// with a pong, and when that pong fails (EPIPE) the read fails with it, so the output still
// buffered behind the ping is lost. Measured: a reader held up for 12 s (back-pressure) lost the
// output written after LXD's 10-s ping, and a client that read only after LXD's close lost all of
// a `cat`'s output. With this, the read goes on to the data and then LXD's EOF ends the websocket.
// What we write after LXD closed is lost either way: LXD reads nothing then.
class LxdSocket {
 public:
  using executor_type = UnixSocket::executor_type;

  explicit LxdSocket(asio::io_context& io) : socket_(io) {}
  executor_type get_executor() noexcept { return socket_.get_executor(); }
  UnixSocket& socket() { return socket_; }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return socket_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return asio::async_initiate<Handler, void(beast::error_code, size_t)>(
        [this](auto done, const ConstBuffers& b) {
          const size_t size = asio::buffer_size(b);
          socket_.async_write_some(b, [size, done = std::move(done)](beast::error_code ec, size_t n) mutable {
            if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) {
              ec = {};
              n = size;
            }
            std::move(done)(ec, n);
          });
        },
        handler, buffers);
  }

  // Beast closes the lowest layer on a timeout.
  friend void beast_close_socket(LxdSocket& s) {
    beast::error_code ignored;
    s.socket_.close(ignored);
  }

 private:
  UnixSocket socket_;
};

// The end of a websocket's close handshake: as for the plain socket (found by Beast through ADL;
// only the asynchronous one, as the session does all its websocket I/O asynchronously).
template <class Handler>
void async_teardown(beast::role_type role, LxdSocket& s, Handler&& handler) {
  websocket::async_teardown(role, s.socket(), std::forward<Handler>(handler));
}

using WebSocket = websocket::stream<LxdSocket>;

// How long the destructor gives LXD in all to end the operation once it asked for the kill.
constexpr milliseconds kShutdownBound{10000};
// After this, the destructor stops waiting for LXD to close the websockets and closes them itself.
constexpr milliseconds kHardCloseAfter{3000};
// Bound on one websocket handshake, and on a close handshake.
constexpr seconds kHandshakeTimeout{5};
// One /wait request asks LXD to hold it at most this long.
constexpr seconds kWaitChunk{5};
// LXD's output messages are at most 128 KiB; this only stops a broken peer.
constexpr size_t kMaxMessage = size_t{16} << 20;

// The kinds of websocket an exec has. Pty is fd "0" of an interactive exec: input and output.
enum class Role { Control, Stdin, Stdout, Stderr, Pty };

const char* name_of(Role role) {
  switch (role) {
    case Role::Control: return "control";
    case Role::Stdin: return "stdin";
    case Role::Stdout: return "stdout";
    case Role::Stderr: return "stderr";
    case Role::Pty: return "pty";
  }
  return "?";
}

const char* fd_key(Role role) {
  switch (role) {
    case Role::Control: return "control";
    case Role::Stdin:
    case Role::Pty: return "0";
    case Role::Stdout: return "1";
    case Role::Stderr: return "2";
  }
  return "?";
}

// Percent-encodes all but RFC 3986's unreserved characters (as the client does for its paths).
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

std::string operation_id_of(const Response& resp) {
  const auto slash = resp.operation.rfind('/');
  return slash == std::string::npos ? resp.operation : resp.operation.substr(slash + 1);
}

}  // namespace

// All websocket state is touched only on the I/O thread (or before it starts); what other threads
// read is under `mutex`.
struct ExecSession::Impl {
  struct Outgoing {
    enum class Kind { Binary, Text, Close } kind;
    std::string data;
  };

  struct Channel {
    Channel(asio::io_context& io, Role r) : ws(io), role(r) {}
    WebSocket ws;
    Role role;
    beast::flat_buffer buffer;
    // Written one at a time, front first: Beast allows one write in flight per stream. A deque
    // keeps the front's address while more is queued behind it.
    std::deque<Outgoing> queue;
    bool writing = false;
    bool closing = false;  // a close frame was queued: nothing is written after it
    bool done = false;     // the read side ended: the websocket is over
  };

  Impl(const Client& c, const std::string& inst, const ExecSessionSpec& spec, ExecOutput out)
      : client(c), instance(inst), interactive(spec.interactive), output(std::move(out)), hard_close(io) {}
  // Only reached with a running thread if the constructor failed after starting it (it cannot
  // today: starting the thread is its last step); a joinable std::thread would terminate.
  ~Impl() {
    if (thread.joinable()) shutdown();
  }

  // Destroyed after `channels` and `hard_close` (members go in reverse order): their sockets and
  // timer need the io_context's services until then.
  asio::io_context io;
  Client client;  // a copy: the session must not depend on the caller's client living on
  const std::string instance;
  const bool interactive;
  ExecOutput output;
  std::string operation_path;  // /1.0/operations/<id>
  std::vector<std::unique_ptr<Channel>> channels;
  Channel* control = nullptr;
  Channel* input = nullptr;  // fd "0": stdin, or the pty
  asio::steady_timer hard_close;
  std::thread thread;
  // Set by the destructor: output is dropped from then on, so no callback runs again.
  std::atomic<bool> discard_output{false};

  mutable std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;  // the command ended and its output was delivered (or the session failed)
  std::optional<int> exit_code;
  std::optional<Error> error;
  bool stdin_open = true;     // write_stdin() still queues
  size_t queued_stdin = 0;    // bytes queued and not yet written
  std::optional<Clock::time_point> stop_deadline;  // set by the destructor

  // ---- start (constructor thread, before the I/O thread exists) ----

  void start(const ExecSessionSpec& spec) {
    json body{{"command", spec.command},
              {"environment", config_to_json(spec.environment)},
              {"wait-for-websocket", true},
              {"interactive", spec.interactive},
              {"record-output", false}};
    if (spec.interactive) {
      body["width"] = spec.width;
      body["height"] = spec.height;
    }
    if (!spec.cwd.empty()) body["cwd"] = spec.cwd;
    const std::string path = "/1.0/instances/" + url_encode(instance) + "/exec";
    // Throws BadRequest ("Instance is not running") like Client::exec.
    const Response resp = client.request("POST", path, body);
    if (resp.type != "async") {
      throw Error(ErrorKind::Protocol, "POST " + path + ": exec answered " + resp.type + ", not with an operation");
    }
    operation_path = "/1.0/operations/" + operation_id_of(resp);
    const json* fds = nullptr;
    if (auto m = resp.metadata.find("metadata"); m != resp.metadata.end() && m->is_object()) {
      if (auto f = m->find("fds"); f != m->end() && f->is_object()) fds = &*f;
    }
    if (fds == nullptr) {
      throw Error(ErrorKind::Protocol, "POST " + path + ": the exec operation names no websockets: " + resp.metadata.dump());
    }

    std::vector<Role> roles{Role::Control};
    if (interactive) {
      roles.push_back(Role::Pty);
    } else {
      roles.insert(roles.end(), {Role::Stdin, Role::Stdout, Role::Stderr});
    }
    for (Role role : roles) {
      auto secret = fds->find(fd_key(role));
      if (secret == fds->end() || !secret->is_string()) {
        throw Error(ErrorKind::Protocol, "exec " + operation_path + ": no secret for websocket \"" +
                                             fd_key(role) + "\": " + fds->dump());
      }
      channels.push_back(std::make_unique<Channel>(io, role));
      if (role == Role::Control) control = channels.back().get();
      if (role == Role::Stdin || role == Role::Pty) input = channels.back().get();
    }
    // Control first, alone: LXD starts the command as soon as the data websockets are connected,
    // and a control websocket that came after a quick command's end would never be closed by LXD.
    // With control connected first, signals also work from the command's first instruction on.
    connect({control}, fds);
    std::vector<Channel*> data;
    for (auto& ch : channels) {
      if (ch.get() != control) data.push_back(ch.get());
    }
    connect(data, fds);
    thread = std::thread([this] { run(); });
  }

  // Connects and upgrades `which` concurrently, bounded by the client's request timeout. Throws
  // lxd::Error; the sockets close with the session, and LXD fails an exec whose websockets do not
  // all come within 5 s by itself, so a failure here leaves nothing behind in LXD.
  void connect(const std::vector<Channel*>& which, const json* fds) {
    size_t pending = which.size();
    std::string failure;
    const asio::local::stream_protocol::endpoint endpoint(client.socket_path());
    for (Channel* ch : which) {
      ch->ws.set_option(websocket::stream_base::timeout{kHandshakeTimeout, websocket::stream_base::none(), false});
      ch->ws.read_message_max(kMaxMessage);
      ch->ws.write_buffer_bytes(64 * 1024);
      ch->ws.binary(true);
      const std::string target = operation_path + "/websocket?secret=" + url_encode(fds->at(fd_key(ch->role)).get<std::string>());
      ch->ws.next_layer().socket().async_connect(endpoint, [this, ch, target, &pending, &failure](beast::error_code ec) {
        if (ec) {
          failure = std::string("connecting to ") + client.socket_path() + ": " + ec.message();
          return;
        }
        // LXD checks the Host header like any HTTP request on its socket.
        ch->ws.async_handshake("lxd", target, [ch, &pending, &failure](beast::error_code ec2) {
          if (ec2) {
            failure = std::string("websocket ") + fd_key(ch->role) + ": " + ec2.message();
            return;
          }
          --pending;
        });
      });
    }
    io.restart();
    io.run_for(client.options().request_timeout);
    if (pending > 0) {
      if (failure.empty()) {
        throw Error(ErrorKind::Timeout, "exec " + operation_path + ": websockets not connected within " +
                                            std::to_string(client.options().request_timeout.count()) + " ms");
      }
      throw Error(ErrorKind::Transport, "exec " + operation_path + ": " + failure);
    }
  }

  // ---- the I/O thread ----

  void run() {
    for (auto& ch : channels) read_next(*ch);
    io.restart();
    try {
      io.run();
    } catch (const std::exception& e) {  // no handler throws; this only keeps the thread alive
      spdlog::warn("exec {}: I/O loop failed: {}", operation_path, e.what());
    }
    collect_result();
  }

  void read_next(Channel& ch) {
    ch.ws.async_read(ch.buffer, [this, &ch](beast::error_code ec, size_t) {
      if (ec) {
        // LXD closes every websocket when the operation ends; any error ends the channel alike.
        spdlog::debug("exec {}: websocket {} ended: {}", operation_path, name_of(ch.role), ec.message());
        end_channel(ch);
        return;
      }
      if (ch.ws.got_text()) {
        // The barrier after the stream's EOF (LXD sends nothing else as text).
        if (ch.role == Role::Pty) close_pty_input();
      } else if (ch.role == Role::Stdout || ch.role == Role::Stderr || ch.role == Role::Pty) {
        deliver(ch.role, ch.buffer);
      }
      ch.buffer.consume(ch.buffer.size());
      read_next(ch);
    });
  }

  void deliver(Role role, const beast::flat_buffer& buffer) {
    if (discard_output) return;
    const auto& callback = role == Role::Stderr ? output.on_stderr : output.on_stdout;
    if (!callback) return;
    const auto data = buffer.data();
    try {
      callback(std::string_view(static_cast<const char*>(data.data()), data.size()));
    } catch (const std::exception& e) {
      spdlog::warn("exec {}: output callback threw, discarding further output: {}", operation_path, e.what());
      discard_output = true;
    } catch (...) {
      spdlog::warn("exec {}: output callback threw, discarding further output", operation_path);
      discard_output = true;
    }
  }

  // The pty reached EOF: LXD waits for us to end fd "0" before it ends the operation.
  // Input still queued is dropped: nothing reads it any more.
  void close_pty_input() {
    drop_queue(*input);
    {
      std::lock_guard lock(mutex);
      stdin_open = false;
    }
    cv.notify_all();
    enqueue(*input, Outgoing{Outgoing::Kind::Close, {}});
  }

  void enqueue(Channel& ch, Outgoing item) {
    if (ch.done || ch.closing) {
      if (&ch == input) stdin_written(item.data.size());
      return;
    }
    if (item.kind == Outgoing::Kind::Close) ch.closing = true;
    ch.queue.push_back(std::move(item));
    if (!ch.writing) write_next(ch);
  }

  void write_next(Channel& ch) {
    if (ch.queue.empty() || ch.done) {
      ch.writing = false;
      return;
    }
    ch.writing = true;
    Outgoing& item = ch.queue.front();
    if (item.kind == Outgoing::Kind::Close) {
      // Completes when LXD answers with its close frame (bounded by kHandshakeTimeout); the
      // pending read then ends with `closed`.
      ch.ws.async_close(websocket::close_code::normal, [this, &ch](beast::error_code ec) {
        if (ec) spdlog::debug("exec {}: closing websocket {}: {}", operation_path, name_of(ch.role), ec.message());
        ch.queue.clear();
        ch.writing = false;
      });
      return;
    }
    ch.ws.text(item.kind == Outgoing::Kind::Text);
    ch.ws.async_write(asio::buffer(item.data), [this, &ch](beast::error_code ec, size_t) {
      const size_t size = ch.queue.front().data.size();
      ch.queue.pop_front();
      if (&ch == input) stdin_written(size);
      if (ec) {
        // The read side sees the same broken connection and ends the channel.
        spdlog::debug("exec {}: writing to websocket {}: {}", operation_path, name_of(ch.role), ec.message());
        ch.writing = false;
        drop_queue(ch);
        return;
      }
      write_next(ch);
    });
  }

  void stdin_written(size_t bytes) {
    if (bytes == 0) return;
    {
      std::lock_guard lock(mutex);
      queued_stdin -= std::min(queued_stdin, bytes);
    }
    cv.notify_all();
  }

  // Drops what is queued behind the write in flight (if any): the front of the queue is the
  // buffer that write still reads from.
  void drop_queue(Channel& ch) {
    size_t bytes = 0;
    const size_t keep = ch.writing && !ch.queue.empty() ? 1 : 0;
    while (ch.queue.size() > keep) {
      bytes += ch.queue.back().data.size();
      ch.queue.pop_back();
    }
    if (&ch == input) stdin_written(bytes);
  }

  void end_channel(Channel& ch) {
    ch.done = true;
    drop_queue(ch);
    beast::error_code ignored;
    ch.ws.next_layer().socket().close(ignored);  // a write still in flight completes with an error
    if (&ch == input) {
      {
        std::lock_guard lock(mutex);
        stdin_open = false;
      }
      cv.notify_all();
    }
    const bool all_done = std::all_of(channels.begin(), channels.end(), [](const auto& c) { return c->done; });
    // Done with I/O. Stop rather than let io.run() run out of work: Beast can leave the timer of
    // a close handshake that the connection's end cut short armed for its full timeout (measured:
    // 5 s after LXD closed an interactive exec's websockets). What is still pending is destroyed.
    if (all_done) io.stop();
  }

  // The destructor's part on the I/O thread: kill the command through the control websocket and
  // close it (LXD kills on that as well), then give LXD kHardCloseAfter to close the websockets.
  void abort_io() {
    const bool all_done = std::all_of(channels.begin(), channels.end(), [](const auto& c) { return c->done; });
    if (all_done) return;
    enqueue(*control, Outgoing{Outgoing::Kind::Text, json{{"command", "signal"}, {"signal", 9}}.dump()});
    enqueue(*control, Outgoing{Outgoing::Kind::Close, {}});
    hard_close.expires_after(kHardCloseAfter);
    hard_close.async_wait([this](beast::error_code ec) {
      if (ec) return;
      spdlog::warn("exec {}: LXD did not close the websockets in time; closing them", operation_path);
      for (auto& ch : channels) {
        beast::error_code ignored;
        ch->ws.next_layer().socket().close(ignored);  // pending reads end with operation_aborted
      }
    });
  }

  // After all websockets ended: the operation's result, by LXD's wait (in chunks, so that the
  // destructor's deadline holds).
  void collect_result() {
    std::optional<int> code;
    std::optional<Error> failure;
    try {
      Operation op;
      for (;;) {
        seconds chunk = kWaitChunk;
        {
          std::lock_guard lock(mutex);
          if (stop_deadline) {
            const auto left = std::chrono::duration_cast<milliseconds>(*stop_deadline - Clock::now());
            if (left <= milliseconds(0)) {
              throw Error(ErrorKind::Timeout, "exec " + operation_path + ": LXD did not end the operation in time");
            }
            chunk = std::clamp(std::chrono::duration_cast<seconds>(left + milliseconds(999)), seconds(1), kWaitChunk);
          }
        }
        const Response resp = client.request("GET", operation_path + "/wait?timeout=" + std::to_string(chunk.count()),
                                             std::nullopt, "", chunk + kWaitChunk);
        op = operation_from_json(resp.metadata);
        if (op.done()) break;
      }
      std::optional<int> ret;
      if (op.metadata.is_object()) {
        if (auto r = op.metadata.find("return"); r != op.metadata.end() && r->is_number_integer()) ret = r->get<int>();
      }
      if (op.succeeded() && ret) {
        code = ret;
      } else if (!op.succeeded() && ret && (*ret == 126 || *ret == 127)) {
        code = ret;  // LXD 5.0 fails the operation for "Command not found" / "not executable"
      } else if (op.succeeded()) {
        throw Error(ErrorKind::Protocol, "exec " + operation_path + ": the finished operation has no exit code: " +
                                             op.metadata.dump());
      } else {
        throw Error(ErrorKind::OperationFailed,
                    "exec " + operation_path + " " + op.status + ": " + (op.err.empty() ? "no error text" : op.err));
      }
    } catch (const Error& e) {
      failure = e;
    } catch (const std::exception& e) {
      failure = Error(ErrorKind::Protocol, "exec " + operation_path + ": " + e.what());
    }
    {
      std::lock_guard lock(mutex);
      exit_code = code;
      error = std::move(failure);
      finished = true;
      stdin_open = false;
    }
    cv.notify_all();
  }

  // ---- the destructor ----

  void shutdown() noexcept {
    discard_output = true;
    {
      std::lock_guard lock(mutex);
      stop_deadline = Clock::now() + kShutdownBound;
      stdin_open = false;  // wakes writers in wait_stdin_below()
    }
    cv.notify_all();
    try {
      asio::post(io, [this] { abort_io(); });
    } catch (const std::exception& e) {
      spdlog::warn("exec {}: cannot stop the session's I/O: {}", operation_path, e.what());
    }
    if (thread.joinable()) thread.join();
    std::lock_guard lock(mutex);
    if (error && error->kind() == ErrorKind::Timeout) {
      spdlog::warn("{} (a process that keeps the command's output open holds it)", error->what());
    }
  }
};

ExecSession::ExecSession(const Client& client, const std::string& instance, const ExecSessionSpec& spec,
                         ExecOutput output)
    : impl_(std::make_unique<Impl>(client, instance, spec, std::move(output))) {
  impl_->start(spec);
}

ExecSession::~ExecSession() { impl_->shutdown(); }

void ExecSession::write_stdin(std::string data) {
  if (data.empty()) return;
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    if (!s.stdin_open) return;
    s.queued_stdin += data.size();
  }
  asio::post(s.io, [&s, d = std::move(data)]() mutable {
    s.enqueue(*s.input, Impl::Outgoing{Impl::Outgoing::Kind::Binary, std::move(d)});
  });
}

bool ExecSession::wait_stdin_below(size_t bytes, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  return s.cv.wait_for(lock, timeout, [&] { return !s.stdin_open || s.queued_stdin < bytes; });
}

void ExecSession::close_stdin() {
  Impl& s = *impl_;
  if (s.interactive) return;  // see the header: ^D is the terminal's EOF
  {
    std::lock_guard lock(s.mutex);
    if (!s.stdin_open) return;
    s.stdin_open = false;
  }
  s.cv.notify_all();
  // The empty text message is LXD's EOF for fd "0" (see the top of this file).
  asio::post(s.io, [&s] { s.enqueue(*s.input, Impl::Outgoing{Impl::Outgoing::Kind::Text, {}}); });
}

void ExecSession::resize(int width, int height) {
  Impl& s = *impl_;
  if (!s.interactive || width <= 0 || height <= 0) return;
  std::string message = json{{"command", "window-resize"},
                             {"args", {{"width", std::to_string(width)}, {"height", std::to_string(height)}}}}
                            .dump();
  asio::post(s.io, [&s, m = std::move(message)]() mutable {
    s.enqueue(*s.control, Impl::Outgoing{Impl::Outgoing::Kind::Text, std::move(m)});
  });
}

void ExecSession::signal(int signo) {
  Impl& s = *impl_;
  std::string message = json{{"command", "signal"}, {"signal", signo}}.dump();
  asio::post(s.io, [&s, m = std::move(message)]() mutable {
    s.enqueue(*s.control, Impl::Outgoing{Impl::Outgoing::Kind::Text, std::move(m)});
  });
}

std::optional<int> ExecSession::wait(std::optional<std::chrono::milliseconds> timeout) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  const auto done = [&] { return s.finished; };
  if (timeout) {
    if (!s.cv.wait_for(lock, *timeout, done)) return std::nullopt;
  } else {
    s.cv.wait(lock, done);
  }
  if (s.error) throw *s.error;
  return s.exit_code;
}

std::optional<int> ExecSession::exit_code() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->finished ? impl_->exit_code : std::nullopt;
}

}  // namespace lxe::lxd
