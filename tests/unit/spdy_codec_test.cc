// The SPDY/3.1 frame codec: round trips of every frame type, the wire layout byte for byte, header
// blocks against an independent zlib stream primed with the SPDY/3 dictionary (what Go's spdystream
// does), input split anywhere, and the malformed input that must end a connection.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "streaming/spdy_codec.h"

namespace spdy = lxe::streaming::spdy;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// A header block's uncompressed bytes, written out here rather than by the codec.
std::string raw_block(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  put32(out, static_cast<uint32_t>(pairs.size()));
  for (const auto& [name, value] : pairs) {
    put32(out, static_cast<uint32_t>(name.size()));
    out += name;
    put32(out, static_cast<uint32_t>(value.size()));
    out += value;
  }
  return out;
}

const Bytef* zin(const std::string& s) { return reinterpret_cast<const Bytef*>(s.data()); }

std::string dictionary() { return std::string(spdy::header_dictionary()); }

// A compressor set up the way every SPDY/3 peer sets one up (Go's spdystream: zlib at best
// compression, the SPDY/3 dictionary, a sync flush after each block), sharing no code with Encoder.
class ReferenceDeflater {
 public:
  ReferenceDeflater() {
    REQUIRE(deflateInit(&z_, Z_BEST_COMPRESSION) == Z_OK);
    std::string dict = dictionary();
    REQUIRE(deflateSetDictionary(&z_, zin(dict), static_cast<uInt>(dict.size())) == Z_OK);
  }
  ~ReferenceDeflater() { deflateEnd(&z_); }
  std::string compress(const std::string& raw) {
    std::string out(raw.size() + 1024, '\0');
    z_.next_in = const_cast<Bytef*>(zin(raw));
    z_.avail_in = static_cast<uInt>(raw.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z_, Z_SYNC_FLUSH) == Z_OK);
    REQUIRE(z_.avail_out > 0);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

class ReferenceInflater {
 public:
  ReferenceInflater() { REQUIRE(inflateInit(&z_) == Z_OK); }
  ~ReferenceInflater() { inflateEnd(&z_); }
  std::string inflate_block(const std::string& compressed) {
    std::string out(64 * 1024, '\0');
    z_.next_in = const_cast<Bytef*>(zin(compressed));
    z_.avail_in = static_cast<uInt>(compressed.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      std::string dict = dictionary();
      REQUIRE(inflateSetDictionary(&z_, zin(dict), static_cast<uInt>(dict.size())) == Z_OK);
      rc = inflate(&z_, Z_SYNC_FLUSH);
    }
    REQUIRE(rc == Z_OK);
    REQUIRE(z_.avail_in == 0);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

// A SYN_STREAM frame put together by hand around an already compressed header block.
std::string syn_stream_bytes(uint32_t stream_id, uint8_t flags, uint8_t priority, const std::string& block) {
  std::string out = bytes({0x80, 0x03, 0x00, 0x01});
  put32(out, uint32_t{flags} << 24 | static_cast<uint32_t>(10 + block.size()));
  put32(out, stream_id);
  put32(out, 0);
  out.push_back(static_cast<char>(priority << 5));
  out.push_back('\0');
  return out + block;
}

std::vector<spdy::Frame> decode_all(spdy::Decoder& decoder, const std::string& input) {
  decoder.feed(input);
  std::vector<spdy::Frame> frames;
  while (auto frame = decoder.next()) frames.push_back(std::move(*frame));
  return frames;
}

template <typename T>
T decode_one(const std::string& input) {
  spdy::Decoder decoder;
  auto frames = decode_all(decoder, input);
  REQUIRE(frames.size() == 1);
  REQUIRE(std::holds_alternative<T>(frames[0]));
  CHECK(decoder.buffered() == 0);
  return std::get<T>(frames[0]);
}

std::vector<spdy::Frame> sample_frames() {
  return {
      spdy::SynStreamFrame{.stream_id = 1,
                           .associated_to = 0,
                           .priority = 0,
                           .fin = false,
                           .unidirectional = false,
                           .headers = {{"streamtype", "error"}, {"requestid", "0"}}},
      spdy::SynStreamFrame{.stream_id = 3,
                           .associated_to = 1,
                           .priority = 7,
                           .fin = true,
                           .unidirectional = true,
                           .headers = {{"streamtype", "stdin"}, {"requestid", "0"}}},
      spdy::SynReplyFrame{.stream_id = 1, .fin = false, .headers = {}},
      spdy::SynReplyFrame{.stream_id = 3, .fin = true, .headers = {{"x-multi", std::string("a\0b\0c", 5)}}},
      spdy::DataFrame{.stream_id = 3, .fin = false, .data = "ls -l\n"},
      spdy::DataFrame{.stream_id = 3, .fin = true, .data = ""},
      spdy::RstStreamFrame{.stream_id = 5, .status = spdy::kRstCancel},
      spdy::SettingsFrame{
          .clear = true,
          .entries = {{.flags = 1, .id = 7, .value = 65536}, {.flags = 0, .id = 4, .value = 100}}},
      spdy::SettingsFrame{},
      spdy::PingFrame{.id = 0x80000001},
      spdy::GoAwayFrame{.last_good_stream_id = 9, .status = spdy::kGoAwayInternalError},
      spdy::HeadersFrame{
          .stream_id = 3, .fin = true, .headers = {{"status", "200"}, {"version", "HTTP/1.1"}}},
      spdy::HeadersFrame{
          .stream_id = 5, .fin = false, .headers = {{"status", "200"}, {"version", "HTTP/1.1"}}},
      spdy::WindowUpdateFrame{.stream_id = 0, .delta = 0x7fffffff},
      spdy::WindowUpdateFrame{.stream_id = 3, .delta = 1},
      spdy::UnknownControlFrame{.type = 0x0a},
  };
}

}  // namespace

TEST_CASE("SPDY dictionary: the 1423 bytes of SPDY/3, by their zlib dictionary id", "[spdy]") {
  std::string dict = dictionary();
  REQUIRE(dict.size() == 1423);
  // The id zlib streams carry for it (computed from spdystream's dictionary.go).
  CHECK(adler32(adler32(0, nullptr, 0), zin(dict), static_cast<uInt>(dict.size())) == 0xe3c6a7c2);
  CHECK(dict.substr(0, 11) == std::string("\0\0\0\x07options", 11));
  CHECK(dict.substr(dict.size() - 7) == ",enq=0.");
}

TEST_CASE("SPDY codec: every frame type survives Encoder then Decoder on one connection", "[spdy]") {
  spdy::Encoder encoder;
  spdy::Decoder decoder;
  auto frames = sample_frames();
  std::string wire;
  for (const auto& frame : frames) wire += encoder.encode(frame);
  auto decoded = decode_all(decoder, wire);
  REQUIRE(decoded.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    INFO("frame " << i);
    CHECK(decoded[i] == frames[i]);
  }
  CHECK(decoder.buffered() == 0);
}

TEST_CASE("SPDY codec: header blocks share one zlib context per direction", "[spdy]") {
  spdy::Encoder encoder;
  spdy::Decoder decoder;
  spdy::SynStreamFrame syn{.stream_id = 1,
                           .headers = {{"streamtype", "stdout"},
                                       {"requestid", "17"},
                                       {"x-some-long-header-name", "and a value long enough to repeat"}}};
  std::string first = encoder.encode(syn);
  syn.stream_id = 3;
  std::string second = encoder.encode(syn);
  // The second block refers back to the first: only a persistent context makes it this short.
  CHECK(second.size() < first.size() - 20);

  auto frames = decode_all(decoder, first + second);
  REQUIRE(frames.size() == 2);
  CHECK(std::get<spdy::SynStreamFrame>(frames[1]) == syn);

  // A decoder that never saw the first block cannot make sense of the second.
  spdy::Decoder fresh;
  fresh.feed(second);
  CHECK_THROWS_AS(fresh.next(), spdy::ProtocolError);

  // Many blocks in a row, of all three frame types.
  std::string wire;
  std::vector<spdy::Frame> sent;
  for (uint32_t id = 5; id < 200; id += 2) {
    sent.push_back(spdy::SynStreamFrame{.stream_id = id,
                                        .headers = {{"streamtype", "data"}, {"port", std::to_string(id)}}});
    sent.push_back(spdy::SynReplyFrame{.stream_id = id, .headers = {{"id", std::to_string(id * 7)}}});
    sent.push_back(spdy::HeadersFrame{.stream_id = id, .fin = id % 3 == 0, .headers = {}});
  }
  for (const auto& frame : sent) wire += encoder.encode(frame);
  auto received = decode_all(decoder, wire);
  CHECK(received == sent);
}

TEST_CASE("SPDY codec: multi-value headers, lowercase names and find_header", "[spdy]") {
  spdy::Encoder encoder;
  spdy::Decoder decoder;
  spdy::SynReplyFrame reply{
      .stream_id = 1,
      .headers = {{"Content-Type", "text/plain"}, {"set-cookie", std::string("a=1\0b=2", 7)}}};
  auto frames = decode_all(decoder, encoder.encode(reply));
  REQUIRE(frames.size() == 1);
  const auto& headers = std::get<spdy::SynReplyFrame>(frames[0]).headers;
  REQUIRE(headers.size() == 2);
  CHECK(headers[0].first == "content-type");
  CHECK(headers[1].second == std::string("a=1\0b=2", 7));
  CHECK(spdy::find_header(headers, "CONTENT-type") == "text/plain");
  CHECK(spdy::find_header(headers, "Set-Cookie") == std::string("a=1\0b=2", 7));
  CHECK_FALSE(spdy::find_header(headers, "content").has_value());
  CHECK_FALSE(spdy::find_header({}, "x").has_value());
}

TEST_CASE("SPDY codec: DATA and fixed-size control frames are laid out byte for byte", "[spdy]") {
  spdy::Encoder encoder;
  const std::string data = bytes({0x00, 0x00, 0x00, 0x05, 0x01, 0x00, 0x00, 0x02, 'h', 'i'});
  CHECK(encoder.encode(spdy::DataFrame{.stream_id = 5, .fin = true, .data = "hi"}) == data);
  CHECK(decode_one<spdy::DataFrame>(data) == spdy::DataFrame{.stream_id = 5, .fin = true, .data = "hi"});

  const std::string ping = bytes({0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04});
  CHECK(encoder.encode(spdy::PingFrame{.id = 0x01020304}) == ping);
  CHECK(decode_one<spdy::PingFrame>(ping).id == 0x01020304);

  const std::string rst =
      bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05});
  CHECK(encoder.encode(spdy::RstStreamFrame{.stream_id = 3, .status = spdy::kRstCancel}) == rst);
  CHECK(decode_one<spdy::RstStreamFrame>(rst) == spdy::RstStreamFrame{3, spdy::kRstCancel});

  const std::string window =
      bytes({0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00});
  CHECK(encoder.encode(spdy::WindowUpdateFrame{.stream_id = 7, .delta = 0x10000}) == window);
  CHECK(decode_one<spdy::WindowUpdateFrame>(window) == spdy::WindowUpdateFrame{7, 0x10000});

  const std::string goaway =
      bytes({0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x02});
  CHECK(encoder.encode(spdy::GoAwayFrame{.last_good_stream_id = 9, .status = spdy::kGoAwayInternalError}) ==
        goaway);
  CHECK(decode_one<spdy::GoAwayFrame>(goaway) == spdy::GoAwayFrame{9, spdy::kGoAwayInternalError});

  const std::string settings = bytes({0x80, 0x03, 0x00, 0x04, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x00,
                                      0x00, 0x01, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x10, 0x00});
  spdy::SettingsFrame s{.clear = true, .entries = {{.flags = 1, .id = 7, .value = 0x1000}}};
  CHECK(encoder.encode(s) == settings);
  CHECK(decode_one<spdy::SettingsFrame>(settings) == s);

  // The reserved top bit of stream ids is ignored on the way in.
  const std::string reserved =
      bytes({0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0x80, 0x00, 0x00, 0x07, 0x80, 0x00, 0x00, 0x01});
  CHECK(decode_one<spdy::WindowUpdateFrame>(reserved) == spdy::WindowUpdateFrame{7, 1});
}

TEST_CASE("SPDY codec: a SYN_STREAM compressed by a standard SPDY/3 compressor decodes", "[spdy]") {
  ReferenceDeflater peer;
  spdy::Decoder decoder;
  // What kubectl exec's first streams look like.
  std::string first =
      syn_stream_bytes(1, 0, 0, peer.compress(raw_block({{"streamtype", "error"}, {"requestid", "0"}})));
  std::string second = syn_stream_bytes(
      3, spdy::kFlagFin | spdy::kFlagUnidirectional, 2,
      peer.compress(
          raw_block({{"streamtype", "stdout"}, {"requestid", "0"}, {"x-multi", std::string("1\0002", 3)}})));
  // The compressed block announces the dictionary: FDICT in the zlib header.
  REQUIRE((static_cast<unsigned char>(first[19]) & 0x20) != 0);

  auto frames = decode_all(decoder, first + second);
  REQUIRE(frames.size() == 2);
  CHECK(std::get<spdy::SynStreamFrame>(frames[0]) ==
        spdy::SynStreamFrame{.stream_id = 1, .headers = {{"streamtype", "error"}, {"requestid", "0"}}});
  CHECK(
      std::get<spdy::SynStreamFrame>(frames[1]) ==
      spdy::SynStreamFrame{
          .stream_id = 3,
          .priority = 2,
          .fin = true,
          .unidirectional = true,
          .headers = {{"streamtype", "stdout"}, {"requestid", "0"}, {"x-multi", std::string("1\0002", 3)}}});
}

TEST_CASE("SPDY codec: Encoder's header blocks inflate with a standard SPDY/3 decompressor", "[spdy]") {
  spdy::Encoder encoder;
  ReferenceInflater peer;
  const spdy::HeaderBlock first{{"streamtype", "stdin"}, {"requestid", "0"}};
  const spdy::HeaderBlock second{{"status", "200"}, {"x-multi", std::string("a\0b", 3)}};

  std::string reply = encoder.encode(spdy::SynReplyFrame{.stream_id = 1, .headers = first});
  REQUIRE(reply.size() > 12);
  CHECK(reply.substr(0, 4) == bytes({0x80, 0x03, 0x00, 0x02}));
  CHECK(peer.inflate_block(reply.substr(12)) == raw_block({{"streamtype", "stdin"}, {"requestid", "0"}}));

  std::string syn = encoder.encode(spdy::SynStreamFrame{.stream_id = 2, .priority = 1, .headers = second});
  CHECK(syn.substr(0, 4) == bytes({0x80, 0x03, 0x00, 0x01}));
  CHECK(syn.substr(8, 10) == bytes({0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00}));
  CHECK(peer.inflate_block(syn.substr(18)) ==
        raw_block({{"status", "200"}, {"x-multi", std::string("a\0b", 3)}}));

  std::string headers = encoder.encode(spdy::HeadersFrame{.stream_id = 1, .headers = first});
  CHECK(peer.inflate_block(headers.substr(12)) == raw_block({{"streamtype", "stdin"}, {"requestid", "0"}}));
}

TEST_CASE("SPDY codec: bytes fed one at a time give the same frames", "[spdy]") {
  spdy::Encoder encoder;
  auto frames = sample_frames();
  std::string wire;
  for (const auto& frame : frames) wire += encoder.encode(frame);

  spdy::Decoder decoder;
  std::vector<spdy::Frame> decoded;
  for (char c : wire) {
    decoder.feed(std::string_view(&c, 1));
    while (auto frame = decoder.next()) decoded.push_back(std::move(*frame));
  }
  CHECK(decoded == frames);
  CHECK(decoder.buffered() == 0);
  CHECK_FALSE(decoder.next().has_value());

  // A partial frame stays buffered until the rest arrives.
  spdy::Decoder partial;
  partial.feed(wire.substr(0, 7));
  CHECK_FALSE(partial.next().has_value());
  CHECK(partial.buffered() == 7);
}

TEST_CASE("SPDY codec: large DATA frames and the frame size limit", "[spdy]") {
  spdy::Encoder encoder;
  std::string payload(4 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + (i >> 9));
  std::string wire = encoder.encode(spdy::DataFrame{.stream_id = 1, .data = payload});
  wire += encoder.encode(spdy::PingFrame{.id = 2});
  REQUIRE(wire.size() == 8 + payload.size() + 12);

  spdy::Decoder decoder(8 << 20);
  std::vector<spdy::Frame> frames;
  for (size_t at = 0; at < wire.size(); at += 100000) {
    decoder.feed(std::string_view(wire).substr(at, 100000));
    while (auto frame = decoder.next()) frames.push_back(std::move(*frame));
  }
  REQUIRE(frames.size() == 2);
  CHECK(std::get<spdy::DataFrame>(frames[0]).data == payload);
  CHECK(std::get<spdy::PingFrame>(frames[1]).id == 2);

  // Refused on its header alone, before the payload is buffered.
  spdy::Decoder limited(1 << 20);
  std::string over = encoder.encode(spdy::DataFrame{.stream_id = 1, .data = std::string((1 << 20) + 1, 'x')});
  limited.feed(over.substr(0, 8));
  CHECK_THROWS_AS(limited.next(), spdy::ProtocolError);

  spdy::Decoder at_limit(1 << 20);
  CHECK(std::get<spdy::DataFrame>(
            decode_all(at_limit,
                       encoder.encode(spdy::DataFrame{.stream_id = 1, .data = std::string(1 << 20, 'y')}))[0])
            .data.size() == 1 << 20);

  CHECK_THROWS_AS(encoder.encode(spdy::DataFrame{.stream_id = 1, .data = std::string(1 << 24, 'z')}),
                  std::invalid_argument);
  CHECK(encoder.encode(spdy::DataFrame{.stream_id = 1, .data = std::string((1 << 24) - 1, 'z')}).size() ==
        (1 << 24) + 7);
}

TEST_CASE("SPDY codec: frames the Encoder refuses leave its compression context intact", "[spdy]") {
  spdy::Encoder encoder;
  CHECK_THROWS_AS(encoder.encode(spdy::DataFrame{.stream_id = 0, .data = "x"}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::RstStreamFrame{.stream_id = 0, .status = 1}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::SynReplyFrame{.stream_id = 0}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::HeadersFrame{.stream_id = 0}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::SynStreamFrame{.stream_id = 0x80000000}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::SynStreamFrame{.stream_id = 1, .priority = 8}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::SynStreamFrame{.stream_id = 1, .headers = {{"", "v"}}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::SettingsFrame{.entries = {{.id = 1 << 24}}}), std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::WindowUpdateFrame{.stream_id = 1, .delta = 0x80000000}),
                  std::invalid_argument);
  CHECK_THROWS_AS(encoder.encode(spdy::UnknownControlFrame{.type = 1}), std::invalid_argument);
  CHECK_THROWS_AS(
      encoder.encode(spdy::SynReplyFrame{.stream_id = 1, .headers = {{"big", std::string(1 << 24, 'v')}}}),
      std::invalid_argument);

  spdy::Decoder decoder;
  spdy::SynStreamFrame syn{.stream_id = 1, .headers = {{"streamtype", "error"}}};
  auto frames = decode_all(decoder, encoder.encode(syn));
  REQUIRE(frames.size() == 1);
  CHECK(std::get<spdy::SynStreamFrame>(frames[0]) == syn);
}

TEST_CASE("SPDY codec: malformed frames are a ProtocolError", "[spdy]") {
  auto rejects = [](const std::string& wire, size_t max_header_block = 256 * 1024) {
    spdy::Decoder decoder(1 << 20, max_header_block);
    decoder.feed(wire);
    CHECK_THROWS_AS(decoder.next(), spdy::ProtocolError);
  };
  auto compressed_syn = [](const std::string& raw) {
    ReferenceDeflater peer;
    return syn_stream_bytes(1, 0, 0, peer.compress(raw));
  };

  SECTION("a control frame of SPDY/2") {
    rejects(bytes({0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));
  }
  SECTION("a header block counting more pairs than it holds") {
    std::string raw = raw_block({{"streamtype", "error"}});
    raw[3] = 5;
    rejects(compressed_syn(raw));
    raw.replace(0, 4, bytes({0xff, 0xff, 0xff, 0xff}));
    rejects(compressed_syn(raw));
  }
  SECTION("a name length past the end of the block") {
    rejects(compressed_syn(bytes({0, 0, 0, 1, 0, 0, 0, 50, 'a', 'b', 0, 0, 0, 0})));
  }
  SECTION("a value length past the end of the block") {
    rejects(compressed_syn(bytes({0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 'v'})));
  }
  SECTION("an empty header name") { rejects(compressed_syn(raw_block({{"", "value"}}))); }
  SECTION("bytes after the last pair") { rejects(compressed_syn(raw_block({{"a", "b"}}) + "x")); }
  SECTION("an empty header block") { rejects(syn_stream_bytes(1, 0, 0, "")); }
  SECTION("a corrupted compressed block") {
    ReferenceDeflater peer;
    std::string block = peer.compress(raw_block({{"streamtype", "error"}}));
    block[0] = 0;  // the zlib header's check bits no longer add up
    rejects(syn_stream_bytes(1, 0, 0, block));
    // A valid zlib header followed by a deflate block of the reserved type 3.
    rejects(syn_stream_bytes(1, 0, 0, bytes({0x78, 0x9c, 0xff, 0xff, 0xff})));
  }
  SECTION("a block compressed with another dictionary") {
    z_stream z{};
    REQUIRE(deflateInit(&z, Z_DEFAULT_COMPRESSION) == Z_OK);
    std::string other = "not the SPDY dictionary";
    REQUIRE(deflateSetDictionary(&z, zin(other), static_cast<uInt>(other.size())) == Z_OK);
    std::string raw = raw_block({{"a", "b"}});
    std::string out(256, '\0');
    z.next_in = const_cast<Bytef*>(zin(raw));
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    rejects(syn_stream_bytes(1, 0, 0, out));
  }
  SECTION("a header block inflating beyond max_header_block") {
    std::string wire = compressed_syn(raw_block({{"bomb", std::string(4 << 20, 'a')}}));
    REQUIRE(wire.size() < 64 * 1024);
    rejects(wire);
    // The same block within a raised limit is fine.
    spdy::Decoder roomy(1 << 20, 8 << 20);
    CHECK(std::get<spdy::SynStreamFrame>(decode_all(roomy, wire).at(0)).headers.at(0).second.size() ==
          4u << 20);
  }
  SECTION("fixed-size control frames of the wrong size") {
    rejects(bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));  // RST_STREAM
    rejects(bytes({0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00}));                          // PING
    rejects(bytes({0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));  // GOAWAY
    rejects(bytes({0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));  // SETTINGS
    rejects(bytes({0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 0}));  // SYN_STREAM
  }
  SECTION("stream 0 where a stream is needed") {
    rejects(bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 'x'}));
    rejects(bytes(
        {0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}));
    ReferenceDeflater peer;
    rejects(syn_stream_bytes(0, 0, 0, peer.compress(raw_block({{"a", "b"}}))));
  }
}

TEST_CASE("SPDY codec: control frames of unknown types are handed out and skipped", "[spdy]") {
  spdy::Decoder decoder;
  std::string wire =
      bytes({0x80, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef});  // type 10
  wire += bytes({0x80, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00});  // NOOP: SPDY/2's type 5
  wire += bytes({0x80, 0x03, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00});
  wire += bytes({0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07});  // PING 7
  auto frames = decode_all(decoder, wire);
  REQUIRE(frames.size() == 4);
  CHECK(std::get<spdy::UnknownControlFrame>(frames[0]).type == 0x0a);
  CHECK(std::get<spdy::UnknownControlFrame>(frames[1]).type == 5);
  CHECK(std::get<spdy::UnknownControlFrame>(frames[2]).type == 0xffff);
  CHECK(std::get<spdy::PingFrame>(frames[3]).id == 7);
  CHECK(decoder.buffered() == 0);
}
