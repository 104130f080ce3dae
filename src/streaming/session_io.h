// What an exec, attach or port-forward session exchanges with the client, independent of the
// transport (SPDY streams or WebSocket channels) that carries it: bytes from the client arrive in
// an InboundPipe, bytes to it leave through a Sink, terminal sizes through a ResizeQueue, and a
// Cancellation tells the runtime that the client is gone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace lxe::streaming {

// Bytes the client sends on one stream, read by the session's worker. The transport's reader
// pushes; push blocks while more than `limit` bytes wait (the client's sends then back up in TCP,
// as no flow control of SPDY's is in use), so a slow command cannot make lxe buffer without bound.
class InboundPipe {
 public:
  explicit InboundPipe(size_t limit = 1 << 20) : limit_(limit) {}
  InboundPipe(const InboundPipe&) = delete;
  InboundPipe& operator=(const InboundPipe&) = delete;

  // Returns false (and drops the bytes) once the pipe was aborted.
  bool push(std::string_view bytes);
  // The client ended the stream: reads drain what is buffered, then return 0.
  void finish();
  // The session is over: pending and future pushes return at once, reads return 0.
  void abort();
  // Blocks until there are bytes (returns how many it copied, at most `max`) or the stream ended
  // (returns 0).
  size_t read(char* out, size_t max);
  // Like read, but gives up at `timeout` (nullopt) so a worker can also watch something else.
  std::optional<size_t> read_for(char* out, size_t max, std::chrono::milliseconds timeout);
  bool ended() const;

 private:
  size_t take(char* out, size_t max);  // mutex held

  const size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable readable_;
  std::condition_variable writable_;
  std::deque<char> buffer_;
  bool finished_ = false;
  bool aborted_ = false;
};

// Bytes to the client on one stream.
class Sink {
 public:
  virtual ~Sink() = default;
  // Blocks until the bytes are handed to the transport; false when the client is gone.
  virtual bool write(std::string_view bytes) = 0;
  // No more bytes on this stream (the client reads EOF on it).
  virtual void close() = 0;
};

struct TerminalSize {
  uint16_t width = 0;
  uint16_t height = 0;
  bool operator==(const TerminalSize&) const = default;
};

// Terminal sizes the client sends (tty sessions); a new size replaces one not yet taken, as only
// the latest matters.
class ResizeQueue {
 public:
  void push(TerminalSize size);
  void close();
  // Blocks until a size arrives (returns it) or the queue is closed (nullopt).
  std::optional<TerminalSize> pop();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<TerminalSize> pending_;
  bool closed_ = false;
};

// Set once when the client goes away or lxe shuts down; the runtime ends the command's session.
class Cancellation {
 public:
  void cancel();
  bool cancelled() const;
  // Waits up to `timeout`; true when cancelled.
  bool wait_for(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool cancelled_ = false;
};

// The client's side of one exec or attach session. Streams the client did not ask for are null.
struct SessionIo {
  InboundPipe* stdin_pipe = nullptr;
  Sink* stdout_sink = nullptr;
  Sink* stderr_sink = nullptr;  // null with a tty: the terminal merges both
  ResizeQueue* resize = nullptr;  // tty only
  const Cancellation* cancelled = nullptr;
};

}  // namespace lxe::streaming
