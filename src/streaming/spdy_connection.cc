#include "streaming/spdy_connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/socket_io.h"

namespace lxe::streaming {
namespace {

// Big enough for throughput, small enough that one busy stream does not hold the others up.
constexpr size_t kDataChunk = 32 * 1024;


}  // namespace

SpdyStream::SpdyStream(SpdyConnection& connection, uint32_t id, spdy::HeaderBlock headers)
    : connection_(connection), id_(id), headers_(std::move(headers)) {}

std::string SpdyStream::header(std::string_view name) const {
  return spdy::find_header(headers_, name).value_or("");
}

bool SpdyStream::write(std::string_view bytes) {
  if (closed_) return false;
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), kDataChunk);
    if (closed_ || !connection_.send_data(id_, bytes.substr(0, n), false)) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

void SpdyStream::close() {
  if (closed_.exchange(true)) return;
  connection_.send_data(id_, {}, true);
}

void SpdyStream::reset() {
  if (closed_.exchange(true)) return;
  connection_.send(spdy::RstStreamFrame{id_, spdy::kRstCancel});
  inbound_.abort();
}

SpdyConnection::SpdyConnection(int fd, std::string already_read) : fd_(fd), already_read_(std::move(already_read)) {}

SpdyConnection::~SpdyConnection() {
  ::shutdown(fd_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
}

void SpdyConnection::start(StreamHandler on_stream, std::function<void()> on_closed) {
  on_stream_ = std::move(on_stream);
  on_closed_ = std::move(on_closed);
  reader_ = std::thread([this] { read_loop(); });
}

bool SpdyConnection::send(const spdy::Frame& frame) {
  std::lock_guard lock(write_mutex_);
  if (write_broken_) return false;
  if (!send_all(fd_, encoder_.encode(frame))) write_broken_ = true;
  return !write_broken_;
}

bool SpdyConnection::send_data(uint32_t stream_id, std::string_view bytes, bool fin) {
  // The 8-byte header is built here rather than through the encoder: no copy of the payload.
  char header[8];
  header[0] = static_cast<char>((stream_id >> 24) & 0x7f);
  header[1] = static_cast<char>(stream_id >> 16);
  header[2] = static_cast<char>(stream_id >> 8);
  header[3] = static_cast<char>(stream_id);
  header[4] = static_cast<char>(fin ? spdy::kFlagFin : 0);
  header[5] = static_cast<char>(bytes.size() >> 16);
  header[6] = static_cast<char>(bytes.size() >> 8);
  header[7] = static_cast<char>(bytes.size());
  std::lock_guard lock(write_mutex_);
  if (write_broken_) return false;
  if (!send_all(fd_, std::string_view(header, sizeof header)) || !send_all(fd_, bytes)) write_broken_ = true;
  return !write_broken_;
}

std::shared_ptr<SpdyStream> SpdyConnection::find(uint32_t id) {
  std::lock_guard lock(streams_mutex_);
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void SpdyConnection::handle(spdy::Frame&& frame) {
  if (auto* data = std::get_if<spdy::DataFrame>(&frame)) {
    // Data for a stream the client never opened, or one reset since: dropped, as spdystream does.
    if (auto stream = find(data->stream_id)) {
      if (!data->data.empty()) stream->inbound_.push(data->data);
      if (data->fin) stream->inbound_.finish();
    }
  } else if (auto* syn = std::get_if<spdy::SynStreamFrame>(&frame)) {
    std::shared_ptr<SpdyStream> stream;
    {
      std::lock_guard lock(streams_mutex_);
      // Client streams are odd and increase; anything else is refused without ending the session.
      if (syn->stream_id % 2 == 1 && syn->stream_id > last_stream_id_) {
        last_stream_id_ = syn->stream_id;
        stream = std::make_shared<SpdyStream>(*this, syn->stream_id, std::move(syn->headers));
        streams_[syn->stream_id] = stream;
      }
    }
    if (!stream) {
      send(spdy::RstStreamFrame{syn->stream_id, spdy::kRstProtocolError});
      return;
    }
    if (syn->fin) stream->inbound_.finish();
    send(spdy::SynReplyFrame{syn->stream_id, false, {}});
    on_stream_(stream);
  } else if (auto* rst = std::get_if<spdy::RstStreamFrame>(&frame)) {
    if (auto stream = find(rst->stream_id)) {
      stream->closed_ = true;
      stream->inbound_.abort();
    }
  } else if (auto* headers = std::get_if<spdy::HeadersFrame>(&frame)) {
    if (headers->fin)
      if (auto stream = find(headers->stream_id)) stream->inbound_.finish();
  } else if (auto* ping = std::get_if<spdy::PingFrame>(&frame)) {
    // lxe sends no pings of its own (they would be even): every ping is the client's, echoed.
    send(*ping);
  }
  // SETTINGS, WINDOW_UPDATE, GOAWAY and unknown frames change nothing here.
}

void SpdyConnection::read_loop() {
  try {
    if (!already_read_.empty()) decoder_.feed(std::exchange(already_read_, {}));
    char buffer[64 * 1024];
    while (true) {
      while (auto frame = decoder_.next()) handle(std::move(*frame));
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      decoder_.feed(std::string_view(buffer, static_cast<size_t>(n)));
    }
  } catch (const spdy::ProtocolError& e) {
    spdlog::debug("streaming: SPDY protocol error from client: {}", e.what());
    send(spdy::GoAwayFrame{last_stream_id_, spdy::kGoAwayProtocolError});
  }
  peer_closed_ = true;
  {
    std::lock_guard lock(streams_mutex_);
    for (auto& [id, stream] : streams_) stream->inbound_.abort();
  }
  {
    std::lock_guard lock(closed_mutex_);
    closed_changed_.notify_all();
  }
  if (on_closed_) on_closed_();
}

void SpdyConnection::finish(std::chrono::milliseconds linger) {
  uint32_t last = 0;
  {
    std::lock_guard lock(streams_mutex_);
    last = last_stream_id_;
  }
  {
    std::lock_guard lock(write_mutex_);
    if (!goaway_sent_ && !write_broken_) {
      goaway_sent_ = true;
      if (!send_all(fd_, encoder_.encode(spdy::GoAwayFrame{last, spdy::kGoAwayOk}))) write_broken_ = true;
    }
  }
  ::shutdown(fd_, SHUT_WR);
  {
    std::unique_lock lock(closed_mutex_);
    closed_changed_.wait_for(lock, linger, [&] { return peer_closed_.load(); });
  }
  // From here on no handler runs: what the callbacks refer to may go.
  ::shutdown(fd_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
}

}  // namespace lxe::streaming
