#include "streaming/spdy_codec.h"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <array>
#include <new>
#include <type_traits>

namespace lxe::streaming::spdy {

namespace {

constexpr uint16_t kTypeSynStream = 1;
constexpr uint16_t kTypeSynReply = 2;
constexpr uint16_t kTypeRstStream = 3;
constexpr uint16_t kTypeSettings = 4;
constexpr uint16_t kTypePing = 6;
constexpr uint16_t kTypeGoAway = 7;
constexpr uint16_t kTypeHeaders = 8;
constexpr uint16_t kTypeWindowUpdate = 9;

constexpr size_t kHeaderSize = 8;
constexpr uint32_t kControlBit = 0x80000000;

bool is_defined_type(uint16_t type) {
  return (type >= kTypeSynStream && type <= kTypeSettings) ||
         (type >= kTypePing && type <= kTypeWindowUpdate);
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t get32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void put_control_header(std::string& out, uint16_t type, uint8_t flags, size_t length) {
  put32(out, kControlBit | uint32_t{kVersion} << 16 | type);
  put32(out, uint32_t{flags} << 24 | static_cast<uint32_t>(length));
}

void require_stream_id(uint32_t id, const char* frame) {
  if (id == 0 || id > kMaxStreamId)
    throw std::invalid_argument(std::string("SPDY ") + frame + ": stream id must be 1 to 2^31-1");
}

void require_31_bits(uint32_t v, const char* what) {
  if (v > kMaxStreamId) throw std::invalid_argument(std::string("SPDY: ") + what + " wider than 31 bits");
}

uint8_t fin_flag(bool fin) { return fin ? kFlagFin : 0; }

// Reads a header block's big-endian fields, turning every overrun into a ProtocolError.
class BlockReader {
 public:
  explicit BlockReader(std::string_view raw) : raw_(raw) {}
  size_t remaining() const { return raw_.size() - pos_; }
  uint32_t u32(const char* what) {
    if (remaining() < 4) throw ProtocolError(std::string("SPDY header block: truncated ") + what);
    uint32_t v = get32(raw_.data() + pos_);
    pos_ += 4;
    return v;
  }
  std::string_view bytes(uint32_t n, const char* what) {
    if (n > remaining()) throw ProtocolError(std::string("SPDY header block: ") + what + " past its end");
    std::string_view v = raw_.substr(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  std::string_view raw_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> find_header(const HeaderBlock& headers, std::string_view name) {
  auto same = [](char a, char b) { return ascii_lower(a) == ascii_lower(b); };
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), same)) return v;
  }
  return std::nullopt;
}

std::string encode_header_block(const HeaderBlock& headers) {
  size_t size = 4;
  for (const auto& [name, value] : headers) {
    if (name.empty()) throw std::invalid_argument("SPDY header block: empty header name");
    size += 8 + name.size() + value.size();
    if (size > kMaxFrameLength) throw std::invalid_argument("SPDY header block: too large for a frame");
  }
  std::string raw;
  raw.reserve(size);
  put32(raw, static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    put32(raw, static_cast<uint32_t>(name.size()));
    raw += lowercase(name);
    put32(raw, static_cast<uint32_t>(value.size()));
    raw += value;
  }
  return raw;
}

HeaderBlock decode_header_block(std::string_view raw) {
  BlockReader in(raw);
  uint32_t count = in.u32("count");
  // Each pair takes at least its two lengths: a larger count is a lie, and must not size a vector.
  if (count > in.remaining() / 8) throw ProtocolError("SPDY header block: more pairs than bytes");
  HeaderBlock headers;
  headers.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view name = in.bytes(in.u32("name length"), "name");
    if (name.empty()) throw ProtocolError("SPDY header block: empty header name");
    std::string_view value = in.bytes(in.u32("value length"), "value");
    headers.emplace_back(lowercase(name), std::string(value));
  }
  // Bytes no pair accounts for mean the block is not what the peer meant to send.
  if (in.remaining() != 0) throw ProtocolError("SPDY header block: bytes after the last pair");
  return headers;
}

// ---- Decoder ----

struct Decoder::Inflater {
  z_stream z{};
  Inflater() {
    if (inflateInit(&z) != Z_OK) throw std::bad_alloc();
  }
  ~Inflater() { inflateEnd(&z); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

Decoder::Decoder(size_t max_frame_payload, size_t max_header_block)
    : max_frame_payload_(max_frame_payload),
      max_header_block_(max_header_block),
      inflater_(std::make_unique<Inflater>()) {}

Decoder::~Decoder() = default;

void Decoder::feed(std::string_view bytes) {
  // Dropping the consumed prefix only once it is at least as long as what is kept makes every byte
  // move a bounded number of times, however the input is split.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 0 && offset_ >= buffer_.size() - offset_) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> Decoder::next() {
  if (buffered() < kHeaderSize) return std::nullopt;
  const char* p = buffer_.data() + offset_;
  uint32_t first = get32(p);
  uint32_t second = get32(p + 4);
  auto flags = static_cast<uint8_t>(second >> 24);
  size_t length = second & kMaxFrameLength;
  bool control = (first & kControlBit) != 0;
  if (control) {
    auto version = static_cast<uint16_t>((first >> 16) & 0x7fff);
    if (version != kVersion) throw ProtocolError("SPDY: control frame of version " + std::to_string(version));
  }
  // Checked before the payload arrives, so that an oversized frame is never buffered.
  if (length > max_frame_payload_)
    throw ProtocolError("SPDY: frame payload of " + std::to_string(length) + " bytes exceeds the limit of " +
                        std::to_string(max_frame_payload_));
  if (buffered() - kHeaderSize < length) return std::nullopt;
  std::string_view payload(p + kHeaderSize, length);
  offset_ += kHeaderSize + length;  // a ProtocolError below ends the connection anyway

  if (!control) {
    DataFrame frame;
    frame.stream_id = first & kMaxStreamId;
    if (frame.stream_id == 0) throw ProtocolError("SPDY: DATA frame on stream 0");
    frame.fin = (flags & kFlagFin) != 0;
    frame.data.assign(payload);
    return frame;
  }
  return decode_control(static_cast<uint16_t>(first & 0xffff), flags, payload);
}

Frame Decoder::decode_control(uint16_t type, uint8_t flags, std::string_view payload) {
  const char* p = payload.data();
  auto require_length = [&](bool ok, const char* frame) {
    if (!ok)
      throw ProtocolError(std::string("SPDY: ") + frame + " frame with a payload of " +
                          std::to_string(payload.size()) + " bytes");
  };
  auto stream_id = [&](const char* frame) {
    uint32_t id = get32(p) & kMaxStreamId;
    if (id == 0) throw ProtocolError(std::string("SPDY: ") + frame + " frame on stream 0");
    return id;
  };
  switch (type) {
    case kTypeSynStream: {
      require_length(payload.size() >= 10, "SYN_STREAM");
      SynStreamFrame frame;
      frame.stream_id = stream_id("SYN_STREAM");
      frame.associated_to = get32(p + 4) & kMaxStreamId;
      frame.priority = static_cast<uint8_t>(static_cast<unsigned char>(p[8]) >> 5);
      frame.fin = (flags & kFlagFin) != 0;
      frame.unidirectional = (flags & kFlagUnidirectional) != 0;
      frame.headers = inflate_header_block(payload.substr(10));
      return frame;
    }
    case kTypeSynReply: {
      require_length(payload.size() >= 4, "SYN_REPLY");
      SynReplyFrame frame;
      frame.stream_id = stream_id("SYN_REPLY");
      frame.fin = (flags & kFlagFin) != 0;
      frame.headers = inflate_header_block(payload.substr(4));
      return frame;
    }
    case kTypeHeaders: {
      require_length(payload.size() >= 4, "HEADERS");
      HeadersFrame frame;
      frame.stream_id = stream_id("HEADERS");
      frame.fin = (flags & kFlagFin) != 0;
      frame.headers = inflate_header_block(payload.substr(4));
      return frame;
    }
    case kTypeRstStream: {
      require_length(payload.size() == 8, "RST_STREAM");
      return RstStreamFrame{stream_id("RST_STREAM"), get32(p + 4)};
    }
    case kTypeSettings: {
      require_length(payload.size() >= 4, "SETTINGS");
      uint32_t count = get32(p);
      require_length(payload.size() - 4 == uint64_t{count} * 8, "SETTINGS");
      SettingsFrame frame;
      frame.clear = (flags & kFlagSettingsClear) != 0;
      frame.entries.reserve(count);
      for (uint32_t i = 0; i < count; ++i) {
        const char* e = p + 4 + size_t{i} * 8;
        uint32_t flags_id = get32(e);
        frame.entries.push_back({static_cast<uint8_t>(flags_id >> 24), flags_id & 0xffffff, get32(e + 4)});
      }
      return frame;
    }
    case kTypePing:
      require_length(payload.size() == 4, "PING");
      return PingFrame{get32(p)};
    case kTypeGoAway:
      require_length(payload.size() == 8, "GOAWAY");
      return GoAwayFrame{get32(p) & kMaxStreamId, get32(p + 4)};
    case kTypeWindowUpdate:
      require_length(payload.size() == 8, "WINDOW_UPDATE");
      return WindowUpdateFrame{get32(p) & kMaxStreamId, get32(p + 4) & kMaxStreamId};
    default:
      return UnknownControlFrame{type};
  }
}

HeaderBlock Decoder::inflate_header_block(std::string_view compressed) {
  z_stream& z = inflater_->z;
  z.next_in = reinterpret_cast<const Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  std::string raw;
  std::array<char, 16 * 1024> chunk;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(&z, Z_SYNC_FLUSH);
    raw.append(chunk.data(), chunk.size() - z.avail_out);
    if (raw.size() > max_header_block_)
      throw ProtocolError("SPDY: header block inflates beyond " + std::to_string(max_header_block_) +
                          " bytes");
    if (rc == Z_NEED_DICT) {
      std::string_view dict = header_dictionary();
      if (inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()),
                               static_cast<uInt>(dict.size())) != Z_OK)
        throw ProtocolError("SPDY: header block compressed with a dictionary other than SPDY/3's");
      continue;
    }
    // A peer that ended its zlib stream has nothing left to continue with; only trailing bytes are wrong.
    if (rc == Z_STREAM_END) {
      if (z.avail_in != 0) throw ProtocolError("SPDY: header block past the end of its zlib stream");
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // no progress left to make: the block is consumed
    if (rc != Z_OK) {
      throw ProtocolError(std::string("SPDY: corrupt compressed header block: ") +
                          (z.msg ? z.msg : "zlib error"));
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  return decode_header_block(raw);
}

// ---- Encoder ----

struct Encoder::Deflater {
  z_stream z{};
  Deflater() {
    if (deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK) throw std::bad_alloc();
    std::string_view dict = header_dictionary();
    if (deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()),
                             static_cast<uInt>(dict.size())) != Z_OK) {
      deflateEnd(&z);
      throw std::runtime_error("SPDY: zlib refused the header dictionary");
    }
  }
  ~Deflater() { deflateEnd(&z); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
};

Encoder::Encoder() : deflater_(std::make_unique<Deflater>()) {}

Encoder::~Encoder() = default;

std::string Encoder::deflate_header_block(const HeaderBlock& headers, size_t frame_overhead) {
  std::string raw = encode_header_block(headers);
  z_stream& z = deflater_->z;
  // Once deflated, a block the peer never receives would leave its inflater out of step for good,
  // so a block that might not fit a frame is refused before it touches the stream.
  uLong bound = deflateBound(&z, raw.size()) + 16;
  if (bound + frame_overhead > kMaxFrameLength)
    throw std::invalid_argument("SPDY: header block too large for a frame");
  std::string out(bound, '\0');
  z.next_in = reinterpret_cast<const Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  size_t produced = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    int rc = deflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("SPDY: deflate failed");
    produced = out.size() - z.avail_out;
    if (z.avail_out != 0) break;
    out.resize(out.size() * 2);
  }
  out.resize(produced);
  if (produced + frame_overhead > kMaxFrameLength)
    throw std::runtime_error("SPDY: compressed header block too large");
  return out;
}

std::string Encoder::encode(const Frame& frame) {
  std::string out;
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, DataFrame>) {
          require_stream_id(f.stream_id, "DATA");
          if (f.data.size() > kMaxFrameLength)
            throw std::invalid_argument("SPDY DATA: more than 2^24-1 bytes");
          out.reserve(kHeaderSize + f.data.size());
          put32(out, f.stream_id);
          put32(out, uint32_t{fin_flag(f.fin)} << 24 | static_cast<uint32_t>(f.data.size()));
          out += f.data;
        } else if constexpr (std::is_same_v<T, SynStreamFrame>) {
          require_stream_id(f.stream_id, "SYN_STREAM");
          require_31_bits(f.associated_to, "SYN_STREAM associated-to stream id");
          if (f.priority > 7) throw std::invalid_argument("SPDY SYN_STREAM: priority above 7");
          std::string block = deflate_header_block(f.headers, 10);
          uint8_t flags = fin_flag(f.fin) | (f.unidirectional ? kFlagUnidirectional : 0);
          put_control_header(out, kTypeSynStream, flags, 10 + block.size());
          put32(out, f.stream_id);
          put32(out, f.associated_to);
          out.push_back(static_cast<char>(f.priority << 5));
          out.push_back('\0');  // credential slot: unused
          out += block;
        } else if constexpr (std::is_same_v<T, SynReplyFrame> || std::is_same_v<T, HeadersFrame>) {
          constexpr bool reply = std::is_same_v<T, SynReplyFrame>;
          require_stream_id(f.stream_id, reply ? "SYN_REPLY" : "HEADERS");
          std::string block = deflate_header_block(f.headers, 4);
          put_control_header(out, reply ? kTypeSynReply : kTypeHeaders, fin_flag(f.fin), 4 + block.size());
          put32(out, f.stream_id);
          out += block;
        } else if constexpr (std::is_same_v<T, RstStreamFrame>) {
          require_stream_id(f.stream_id, "RST_STREAM");
          put_control_header(out, kTypeRstStream, 0, 8);
          put32(out, f.stream_id);
          put32(out, f.status);
        } else if constexpr (std::is_same_v<T, SettingsFrame>) {
          size_t length = 4 + f.entries.size() * 8;
          if (length > kMaxFrameLength) throw std::invalid_argument("SPDY SETTINGS: too many entries");
          out.reserve(kHeaderSize + length);
          put_control_header(out, kTypeSettings, f.clear ? kFlagSettingsClear : 0, length);
          put32(out, static_cast<uint32_t>(f.entries.size()));
          for (const auto& e : f.entries) {
            if (e.id > 0xffffff) throw std::invalid_argument("SPDY SETTINGS: id wider than 24 bits");
            put32(out, uint32_t{e.flags} << 24 | e.id);
            put32(out, e.value);
          }
        } else if constexpr (std::is_same_v<T, PingFrame>) {
          put_control_header(out, kTypePing, 0, 4);
          put32(out, f.id);
        } else if constexpr (std::is_same_v<T, GoAwayFrame>) {
          require_31_bits(f.last_good_stream_id, "GOAWAY last-good stream id");
          put_control_header(out, kTypeGoAway, 0, 8);
          put32(out, f.last_good_stream_id);
          put32(out, f.status);
        } else if constexpr (std::is_same_v<T, WindowUpdateFrame>) {
          require_31_bits(f.stream_id, "WINDOW_UPDATE stream id");
          require_31_bits(f.delta, "WINDOW_UPDATE delta");
          put_control_header(out, kTypeWindowUpdate, 0, 8);
          put32(out, f.stream_id);
          put32(out, f.delta);
        } else {
          static_assert(std::is_same_v<T, UnknownControlFrame>);
          // Only for exercising a peer's tolerance of frames it does not know: an empty payload.
          if (is_defined_type(f.type))
            throw std::invalid_argument("SPDY: UnknownControlFrame of a defined type");
          put_control_header(out, f.type, 0, 0);
        }
      },
      frame);
  return out;
}

}  // namespace lxe::streaming::spdy
