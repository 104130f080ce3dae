// The attach socket's framing (common/attach_protocol.h), which lxe and lxe-init both speak.
#include "common/attach_protocol.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace lxe::attach;

namespace {

std::vector<Frame> decode_all(Decoder& decoder) {
  std::vector<Frame> out;
  while (auto frame = decoder.next()) out.push_back(std::move(*frame));
  return out;
}

}  // namespace

TEST_CASE("attach protocol: frames are type, big-endian length, payload", "[attach]") {
  CHECK(encode(FrameType::Stdin, "hi") == std::string("\x02\x00\x00\x00\x02hi", 7));
  CHECK(encode(FrameType::StdinEnd) == std::string("\x03\x00\x00\x00\x00", 5));
  CHECK(encode_hello(kWantStdin | kWantStdout) == std::string("\x01\x00\x00\x00\x02\x01\x03", 7));
  CHECK(encode_resize({300, 50}) == std::string("\x04\x00\x00\x00\x04\x01\x2c\x00\x32", 9));
  CHECK(encode_exit(-1) == std::string("\x12\x00\x00\x00\x04\xff\xff\xff\xff", 9));
}

TEST_CASE("attach protocol: the decoder returns whole frames however the bytes arrive", "[attach]") {
  std::string stream = encode_hello(kWantStdout | kWantStderr) + encode(FrameType::Stdout, "line 1\n") +
                       encode(FrameType::Stderr, "") + encode_resize({80, 24}) + encode_exit(3);
  Decoder decoder;
  std::vector<Frame> frames;
  SECTION("all at once") {
    decoder.feed(stream);
    frames = decode_all(decoder);
  }
  SECTION("one byte at a time") {
    for (const char c : stream) {
      decoder.feed(std::string_view(&c, 1));
      for (auto& f : decode_all(decoder)) frames.push_back(std::move(f));
    }
  }
  REQUIRE(frames.size() == 5);
  CHECK(frames[0].type == FrameType::Hello);
  const auto hello = parse_hello(frames[0].payload);
  REQUIRE(hello);
  CHECK(hello->version == kVersion);
  CHECK(hello->wants(kWantStdout));
  CHECK(hello->wants(kWantStderr));
  CHECK_FALSE(hello->wants(kWantStdin));
  CHECK(frames[1].type == FrameType::Stdout);
  CHECK(frames[1].payload == "line 1\n");
  CHECK(frames[2].type == FrameType::Stderr);
  CHECK(frames[2].payload.empty());
  CHECK(parse_resize(frames[3].payload) == WindowSize{80, 24});
  CHECK(parse_exit(frames[4].payload) == 3);
  CHECK(decoder.buffered() == 0);
  CHECK(decoder.error().empty());
}

TEST_CASE("attach protocol: data larger than a frame is cut, and comes back whole", "[attach]") {
  std::string big(kMaxPayload * 2 + 10, 'x');
  big[kMaxPayload] = 'y';
  std::string stream;
  append_data(stream, FrameType::Stdout, big);
  append_data(stream, FrameType::Stdout, "");  // nothing for nothing
  CHECK(stream.size() == big.size() + 3 * kHeaderSize);
  Decoder decoder;
  decoder.feed(stream);
  std::string joined;
  for (const auto& frame : decode_all(decoder)) {
    CHECK(frame.type == FrameType::Stdout);
    CHECK(frame.payload.size() <= kMaxPayload);
    joined += frame.payload;
  }
  CHECK(joined == big);
}

TEST_CASE("attach protocol: what is not lxe's protocol", "[attach]") {
  SECTION("a frame longer than allowed breaks the stream") {
    Decoder decoder;
    decoder.feed(std::string("\x10\x00\x01\x00\x01", 5));  // 65537 bytes announced
    CHECK_FALSE(decoder.next());
    CHECK_THAT(decoder.error(), Catch::Contains("65537"));
    decoder.feed(encode(FrameType::Stdout, "after"));
    CHECK_FALSE(decoder.next());  // broken for good
  }
  SECTION("an unknown type is a frame like any other (the reader skips it)") {
    Decoder decoder;
    decoder.feed(encode(static_cast<FrameType>(99), "later") + encode(FrameType::StdinEnd));
    const auto frames = decode_all(decoder);
    REQUIRE(frames.size() == 2);
    CHECK(static_cast<int>(frames[0].type) == 99);
    CHECK(frames[1].type == FrameType::StdinEnd);
  }
  SECTION("payloads of the wrong size") {
    CHECK_FALSE(parse_hello("\x01"));
    CHECK_FALSE(parse_hello("\x01\x02\x03"));
    CHECK_FALSE(parse_resize("\x00\x50\x00"));
    CHECK_FALSE(parse_exit(""));
    CHECK_FALSE(lxe::attach::parse_stop(""));
    CHECK_FALSE(lxe::attach::parse_stop(std::string("\x00\x00\x00\x05\x00", 5)));
  }
  SECTION("a partial frame waits") {
    Decoder decoder;
    const std::string frame = encode(FrameType::Stdin, "abc");
    decoder.feed(frame.substr(0, 6));
    CHECK_FALSE(decoder.next());
    CHECK(decoder.error().empty());
    CHECK(decoder.buffered() == 6);
  }
}

TEST_CASE("attach protocol: Stop carries the grace period in seconds, big-endian", "[attach]") {
  const std::string frame = lxe::attach::encode_stop(258);
  CHECK(frame == std::string("\x05\x00\x00\x00\x04\x00\x00\x01\x02", 9));
  Decoder decoder;
  decoder.feed(frame + encode(lxe::attach::FrameType::Stopping));
  const auto frames = decode_all(decoder);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].type == lxe::attach::FrameType::Stop);
  CHECK(lxe::attach::parse_stop(frames[0].payload) == 258u);
  CHECK(frames[1].type == lxe::attach::FrameType::Stopping);
  CHECK(frames[1].payload.empty());
  // The largest grace period a record can ask for survives the trip.
  CHECK(lxe::attach::parse_stop(lxe::attach::encode_stop(UINT32_MAX).substr(5)) == UINT32_MAX);
}
