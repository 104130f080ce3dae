// A command run in an instance with its standard streams attached live: LXD's exec API with
// wait-for-websocket, the way `lxc exec` and kubelet's streaming Exec (`kubectl exec -it`) need it.
//
// LXD gives the command websockets on its unix socket: interactive, one that carries the command's
// pty both ways (fd "0") plus "control"; otherwise one each for stdin, stdout and stderr plus
// "control". The control websocket takes window resizes and signals. The command starts when all
// its websockets are connected, which the constructor does before it returns.
//
// Each session owns one thread that does all of its websocket I/O (Beast streams are not safe for
// concurrent use) and then collects the exit code; public methods hand their work to that thread,
// so they are thread-safe and never wait for LXD. Client::exec (record-output, no stdin) stays the
// cheaper way for a command whose output can be read once it has ended.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lxd/client.h"
#include "lxd/types.h"

namespace lxe::lxd {

struct ExecSessionSpec {
  std::vector<std::string> command;  // argv; no shell
  Config environment;                // LXD adds PATH, HOME, USER and LANG when they are missing
  std::string cwd;                   // empty: LXD's default (/root for root)
  bool interactive = false;          // a pty: output arrives as stdout only; there is no stderr
  int width = 80, height = 24;       // initial terminal size when interactive
};

// Where the command's output goes. The callbacks run on the session's own I/O thread, one at a
// time and in order. They may block: that is back-pressure, LXD stops reading the command's output
// and the command blocks on its writes (but writes to stdin, resizes and signals wait meanwhile
// too). A callback must not throw (a throw is logged and further output is discarded), and one
// that is running when the session is destroyed must return by itself (e.g. because its consumer
// went away): the destructor joins the I/O thread. Once the destructor has started, no callback is
// called again. Empty functions discard that stream.
struct ExecOutput {
  std::function<void(std::string_view)> on_stdout;
  std::function<void(std::string_view)> on_stderr;
};

class ExecSession {
 public:
  // Starts the command (POST exec with wait-for-websocket) and connects its websockets; LXD starts
  // the command once all of them are connected. The session keeps its own copy of `client`.
  // Throws lxd::Error: BadRequest when the instance does not run (as Client::exec does), Transport
  // or Timeout when LXD does not answer or a websocket cannot be connected.
  ExecSession(const Client& client, const std::string& instance, const ExecSessionSpec& spec,
              ExecOutput output);
  // If the command still runs: sends it SIGKILL through the control websocket and closes the
  // control websocket (LXD kills the command when that closes, too), waits for LXD to end the
  // operation, and joins the I/O thread. Never throws. That takes milliseconds; it is bounded by
  // about 10 s for the one case where LXD does not end the operation: a non-interactive command's
  // child that outlives it (`sh -c 'sleep 100; true'`: only sh is killed) keeps its stdout open,
  // and with it LXD's operation, until the child exits.
  ~ExecSession();
  ExecSession(const ExecSession&) = delete;
  ExecSession& operator=(const ExecSession&) = delete;

  // Thread-safe; queued and written in order; never blocks. Data after close_stdin() or after the
  // command ended is dropped. The queue has no bound of its own: a writer that copies a fast
  // source into a command that may not read it applies back-pressure with wait_stdin_below().
  void write_stdin(std::string data);
  // Waits until fewer than `bytes` given to write_stdin() are still queued, and returns true; or
  // returns false when `timeout` passed first. Also true at once when stdin is closed or the
  // command ended (writes are dropped then). A bounded wait, so that a writer can check its own
  // stop condition in between, e.g.
  //   while (!stop && !session.wait_stdin_below(1 << 20, 200ms)) {}
  // Must not be called from an ExecOutput callback (the queue drains on that thread).
  bool wait_stdin_below(size_t bytes, std::chrono::milliseconds timeout);
  // Thread-safe. EOF on the command's stdin once what was queued before is written
  // (non-interactive). Interactive: a no-op, because a pty has no EOF of its own: a program reads
  // EOF from a terminal when it gets the terminal's EOF character (^D, "\x04" by default) at the
  // start of a line, which the caller writes like any other input.
  void close_stdin();
  // Thread-safe; interactive only (ignored otherwise). The command gets SIGWINCH.
  void resize(int width, int height);
  // Thread-safe; sends `signo` to the command's process (not to its children).
  void signal(int signo);

  // Blocks until the command ended AND all its output was delivered to ExecOutput; returns its
  // exit code (128 + n when signal n killed it), or nullopt when `timeout` passed first.
  // Throws lxd::Error when the operation failed (e.g. the command could not start), or LXD could
  // not be asked for the result. A command that is not found or not executable is exit code 127
  // or 126, as with Client::exec.
  std::optional<int> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // The command's exit code, if it has ended and its output was delivered (non-blocking); nullopt
  // too when the session ended in an error (wait() throws it).
  std::optional<int> exit_code() const;

 private:
  struct Impl;
  // Behind a pointer: keeps Beast and Asio out of this header, and gives the I/O thread an address
  // that does not move.
  std::unique_ptr<Impl> impl_;
};

}  // namespace lxe::lxd
