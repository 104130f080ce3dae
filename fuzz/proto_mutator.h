// Structure-aware mutation of protobuf messages, for the request fuzzer. libprotobuf-mutator is not
// packaged in Debian 12, and byte-level mutation of a serialised message mostly breaks its length
// prefixes, so the fuzzer would spend its time in protobuf's parser instead of in lxe. This mutator
// parses nothing itself: it walks a message through protobuf reflection, picks one field anywhere
// in it and changes that field (a string's bytes, a number, an element added or removed, a
// sub-message set or cleared), so every mutant is a well-formed message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include <google/protobuf/message.h>

namespace lxe::fuzz {

// Mutates `size` bytes at `data` in place (room for `max_size`), returning the new size: libFuzzer's
// LLVMFuzzerMutate in the fuzzer, anything deterministic in tests.
using ByteMutator = std::function<size_t(uint8_t* data, size_t size, size_t max_size)>;

class ProtoMutator {
 public:
  ProtoMutator(ByteMutator bytes, uint32_t seed) : bytes_(std::move(bytes)), random_(seed) {}

  // One change somewhere in `message`.
  void mutate(google::protobuf::Message& message);

 private:
  // `utf8`: the field is a proto3 `string`, which must stay valid UTF-8 (a `bytes` field need not).
  void mutate_string(std::string& value, bool utf8);
  int64_t interesting_integer(int64_t current);
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

  ByteMutator bytes_;
  std::minstd_rand random_;
};

// `value` with every byte that is not part of a valid UTF-8 sequence dropped: proto3 `string` fields
// must be UTF-8, and gRPC refuses a request that has one that is not, so lxe never sees it. (A
// `bytes` field, such as KeyValue.value in lxe's CRI proto, can hold anything, and is left so.)
std::string valid_utf8(const std::string& value);

}  // namespace lxe::fuzz
