// The SPDY/3.1 frame codec of the streaming server: bytes to frames and back, header blocks
// included, for one direction of one connection each.
//
// SPDY/3.1 is what kubelet's streaming clients (kubectl exec/attach/port-forward, through
// k8s.io/apimachinery and moby/spdystream) speak, and no Debian package implements it for C++. The
// codec is pure: it does no I/O and holds no locks; the connection that owns it does both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lxe::streaming::spdy {

inline constexpr uint16_t kVersion = 3;
// The 24-bit length field of every frame header.
inline constexpr uint32_t kMaxFrameLength = (1u << 24) - 1;
inline constexpr uint32_t kMaxStreamId = 0x7fffffff;

// An ordered list of (lowercase name, value) pairs; a value may hold several values joined by '\0'.
using HeaderBlock = std::vector<std::pair<std::string, std::string>>;
// The value of the first header named `name` (compared case-insensitively), or nullopt.
std::optional<std::string> find_header(const HeaderBlock& headers, std::string_view name);

inline constexpr uint8_t kFlagFin = 0x01, kFlagUnidirectional = 0x02;
// SETTINGS' only frame flag: the peer drops the settings it persisted for this origin.
inline constexpr uint8_t kFlagSettingsClear = 0x01;

struct DataFrame {
  uint32_t stream_id = 0;
  bool fin = false;
  std::string data{};
  bool operator==(const DataFrame&) const = default;
};
struct SynStreamFrame {
  uint32_t stream_id = 0;
  uint32_t associated_to = 0;
  uint8_t priority = 0;  // 0 (highest) to 7
  bool fin = false;
  bool unidirectional = false;
  HeaderBlock headers{};
  bool operator==(const SynStreamFrame&) const = default;
};
struct SynReplyFrame {
  uint32_t stream_id = 0;
  bool fin = false;
  HeaderBlock headers{};
  bool operator==(const SynReplyFrame&) const = default;
};
struct RstStreamFrame {
  uint32_t stream_id = 0;
  uint32_t status = 0;
  bool operator==(const RstStreamFrame&) const = default;
};
struct SettingsFrame {
  struct Entry {
    uint8_t flags = 0;
    uint32_t id = 0;  // 24 bits
    uint32_t value = 0;
    bool operator==(const Entry&) const = default;
  };
  bool clear = false;
  std::vector<Entry> entries{};
  bool operator==(const SettingsFrame&) const = default;
};
struct PingFrame {
  uint32_t id = 0;
  bool operator==(const PingFrame&) const = default;
};
struct GoAwayFrame {
  uint32_t last_good_stream_id = 0;
  uint32_t status = 0;
  bool operator==(const GoAwayFrame&) const = default;
};
struct HeadersFrame {
  uint32_t stream_id = 0;
  bool fin = false;
  HeaderBlock headers{};
  bool operator==(const HeadersFrame&) const = default;
};
// Stream id 0 is the whole connection's window (SPDY/3.1).
struct WindowUpdateFrame {
  uint32_t stream_id = 0;
  uint32_t delta = 0;  // 31 bits
  bool operator==(const WindowUpdateFrame&) const = default;
};
// A control frame of a type SPDY/3 does not define: the protocol says to ignore it, so the decoder
// hands it out only for the caller to skip, and never fails on it.
struct UnknownControlFrame {
  uint16_t type = 0;
  bool operator==(const UnknownControlFrame&) const = default;
};
using Frame = std::variant<DataFrame, SynStreamFrame, SynReplyFrame, RstStreamFrame, SettingsFrame, PingFrame,
                           GoAwayFrame, HeadersFrame, WindowUpdateFrame, UnknownControlFrame>;

// RST_STREAM status codes.
inline constexpr uint32_t kRstProtocolError = 1;
inline constexpr uint32_t kRstInvalidStream = 2;
inline constexpr uint32_t kRstRefusedStream = 3;
inline constexpr uint32_t kRstUnsupportedVersion = 4;
inline constexpr uint32_t kRstCancel = 5;
inline constexpr uint32_t kRstInternalError = 6;
inline constexpr uint32_t kRstFlowControlError = 7;
inline constexpr uint32_t kRstStreamInUse = 8;
inline constexpr uint32_t kRstStreamAlreadyClosed = 9;
inline constexpr uint32_t kRstInvalidCredentials = 10;
inline constexpr uint32_t kRstFrameTooLarge = 11;
// GOAWAY statuses.
inline constexpr uint32_t kGoAwayOk = 0;
inline constexpr uint32_t kGoAwayProtocolError = 1;
inline constexpr uint32_t kGoAwayInternalError = 2;

// Malformed input: the connection must be dropped (its header compression state is lost too).
class ProtocolError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// SPDY/3's fixed zlib dictionary for header blocks, 1423 bytes.
std::string_view header_dictionary();

// The uncompressed form of a header block (names lowercased). A name that is empty, or a block
// that cannot fit a frame, is a std::invalid_argument.
std::string encode_header_block(const HeaderBlock& headers);
// The inverse, strict: a malformed block (a count or length past its end, an empty name, bytes
// left over) is a ProtocolError. Names are lowercased, as SPDY/3 requires of them.
HeaderBlock decode_header_block(std::string_view raw);

// Decodes the frames of one direction of one connection; it owns that direction's inflate stream,
// which every header block of the connection continues.
class Decoder {
 public:
  // A frame whose payload exceeds max_frame_payload, or a header block that inflates beyond
  // max_header_block, is a ProtocolError: a peer must not make lxe buffer without bound.
  explicit Decoder(size_t max_frame_payload = 1 << 20, size_t max_header_block = 256 * 1024);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  void feed(std::string_view bytes);
  // The next whole frame, or nullopt when more bytes are needed. After a ProtocolError the decoder
  // is unusable.
  std::optional<Frame> next();
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  struct Inflater;
  Frame decode_control(uint16_t type, uint8_t flags, std::string_view payload);
  HeaderBlock inflate_header_block(std::string_view compressed);

  size_t max_frame_payload_;
  size_t max_header_block_;
  // Consumed bytes stay in front of offset_ until feed() drops them, so a frame costs no shift of
  // the rest of the buffer.
  std::string buffer_;
  size_t offset_ = 0;
  std::unique_ptr<Inflater> inflater_;
};

// Encodes frames for one direction of one connection; it owns the deflate stream that every header
// block of the connection continues, so frames must go on the wire in the order they were encoded.
class Encoder {
 public:
  Encoder();
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // The frame's bytes. A frame that cannot be encoded (data longer than kMaxFrameLength, stream id
  // 0 where one is needed, a field wider than its bits, an UnknownControlFrame of a defined type) is
  // a std::invalid_argument, raised before the compression state changes.
  std::string encode(const Frame& frame);

 private:
  struct Deflater;
  std::string deflate_header_block(const HeaderBlock& headers, size_t frame_overhead);

  std::unique_ptr<Deflater> deflater_;
};

}  // namespace lxe::streaming::spdy
