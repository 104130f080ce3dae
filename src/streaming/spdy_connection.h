// One upgraded SPDY/3.1 connection, server side: the streams the client opens, their bytes both
// ways, and an orderly end. kubelet's clients (moby/spdystream) do no SPDY flow control and so
// neither does this; back-pressure is TCP's (InboundPipe's limit stops the reader).
//
// Threads: a reader thread of its own reads frames and feeds the streams' pipes; any thread may
// write. Frames are written whole under one lock, data in chunks, so streams interleave.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "streaming/session_io.h"
#include "streaming/spdy_codec.h"

namespace lxe::streaming {

class SpdyConnection;

class SpdyStream final : public Sink {
 public:
  SpdyStream(SpdyConnection& connection, uint32_t id, spdy::HeaderBlock headers);

  uint32_t id() const { return id_; }
  // The value of a header the client sent with the stream ("" when it sent none).
  std::string header(std::string_view name) const;
  // What the client sends on the stream: finished at its FIN, aborted at its RST_STREAM or when
  // the connection ends.
  InboundPipe& inbound() { return inbound_; }

  bool write(std::string_view bytes) override;  // DATA frames; false once the stream or connection is gone
  void close() override;                         // our FIN, once
  void reset();                                  // RST_STREAM (CANCEL)

 private:
  friend class SpdyConnection;
  SpdyConnection& connection_;
  const uint32_t id_;
  const spdy::HeaderBlock headers_;
  InboundPipe inbound_;
  std::atomic<bool> closed_{false};  // our side: FIN or RST sent, or the client reset it
};

class SpdyConnection {
 public:
  // Called on the reader thread for each stream the client opens, after lxe replied to it; it
  // must not block for long (hand the stream to a worker).
  using StreamHandler = std::function<void(std::shared_ptr<SpdyStream>)>;

  // `fd` is the upgraded socket (the 101 answer already sent; owned by the caller, who keeps it
  // open until this is destroyed); `already_read` the bytes read past the HTTP request.
  SpdyConnection(int fd, std::string already_read);
  ~SpdyConnection();  // ends the connection (as finish() would, without waiting) and joins the reader
  SpdyConnection(const SpdyConnection&) = delete;
  SpdyConnection& operator=(const SpdyConnection&) = delete;

  // Starts the reader. `on_closed` runs (on the reader thread) when the client closed the
  // connection or broke the protocol: the session should end.
  void start(StreamHandler on_stream, std::function<void()> on_closed);
  // The orderly end: GOAWAY, our FIN (shutdown of the write side), then waits up to `linger` for
  // the client to close its side, so that it reads everything sent before; then stops the reader
  // (no callback runs after it returns).
  void finish(std::chrono::milliseconds linger = std::chrono::seconds(5));
  bool peer_closed() const { return peer_closed_; }

 private:
  friend class SpdyStream;
  bool send(const spdy::Frame& frame);
  bool send_data(uint32_t stream_id, std::string_view bytes, bool fin);
  void read_loop();
  void handle(spdy::Frame&& frame);
  std::shared_ptr<SpdyStream> find(uint32_t id);

  const int fd_;
  std::string already_read_;
  StreamHandler on_stream_;
  std::function<void()> on_closed_;
  spdy::Decoder decoder_;

  std::mutex write_mutex_;
  spdy::Encoder encoder_;
  bool write_broken_ = false;
  bool goaway_sent_ = false;

  std::mutex streams_mutex_;
  std::map<uint32_t, std::shared_ptr<SpdyStream>> streams_;
  uint32_t last_stream_id_ = 0;

  std::atomic<bool> peer_closed_{false};
  std::mutex closed_mutex_;
  std::condition_variable closed_changed_;
  std::thread reader_;
};

}  // namespace lxe::streaming
