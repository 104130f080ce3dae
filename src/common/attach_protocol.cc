#include "common/attach_protocol.h"

namespace lxe::attach {
namespace {

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t get_u32(std::string_view in) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

uint16_t get_u16(std::string_view in) {
  return static_cast<uint16_t>((static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]));
}

void append_frame(std::string& out, FrameType type, std::string_view payload) {
  out.push_back(static_cast<char>(type));
  put_u32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
}

}  // namespace

std::string encode(FrameType type, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  append_frame(out, type, payload);
  return out;
}

void append_data(std::string& out, FrameType type, std::string_view data) {
  while (!data.empty()) {
    const std::string_view chunk = data.substr(0, kMaxPayload);
    append_frame(out, type, chunk);
    data.remove_prefix(chunk.size());
  }
}

std::string encode_hello(uint8_t flags) {
  const char payload[2] = {static_cast<char>(kVersion), static_cast<char>(flags)};
  return encode(FrameType::Hello, std::string_view(payload, 2));
}

std::string encode_resize(WindowSize size) {
  std::string payload;
  put_u16(payload, size.width);
  put_u16(payload, size.height);
  return encode(FrameType::Resize, payload);
}

std::string encode_exit(int32_t code) {
  std::string payload;
  put_u32(payload, static_cast<uint32_t>(code));
  return encode(FrameType::Exit, payload);
}

std::string encode_stop(uint32_t grace_seconds) {
  std::string payload;
  put_u32(payload, grace_seconds);
  return encode(FrameType::Stop, payload);
}

std::optional<Hello> parse_hello(std::string_view payload) {
  if (payload.size() != 2) return std::nullopt;
  return Hello{static_cast<uint8_t>(payload[0]), static_cast<uint8_t>(payload[1])};
}

std::optional<WindowSize> parse_resize(std::string_view payload) {
  if (payload.size() != 4) return std::nullopt;
  return WindowSize{get_u16(payload), get_u16(payload.substr(2))};
}

std::optional<int32_t> parse_exit(std::string_view payload) {
  if (payload.size() != 4) return std::nullopt;
  return static_cast<int32_t>(get_u32(payload));
}

std::optional<uint32_t> parse_stop(std::string_view payload) {
  if (payload.size() != 4) return std::nullopt;
  return get_u32(payload);
}

void Decoder::feed(std::string_view bytes) {
  if (!error_.empty()) return;
  // Drop what was returned already before growing, so the buffer stays about one frame long.
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> Decoder::next() {
  if (!error_.empty()) return std::nullopt;
  const std::string_view rest = std::string_view(buffer_).substr(offset_);
  if (rest.size() < kHeaderSize) return std::nullopt;
  const uint32_t length = get_u32(rest.substr(1));
  if (length > kMaxPayload) {
    error_ = "attach frame of " + std::to_string(length) + " bytes, more than the " + std::to_string(kMaxPayload) +
             " allowed";
    return std::nullopt;
  }
  if (rest.size() < kHeaderSize + length) return std::nullopt;
  Frame frame{static_cast<FrameType>(rest[0]), std::string(rest.substr(kHeaderSize, length))};
  offset_ += kHeaderSize + length;
  return frame;
}

}  // namespace lxe::attach
