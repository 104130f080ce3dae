// libFuzzer target: hostile CRI requests through the facade's validation and, for whatever it
// accepts, through everything lxe builds from them for LXD.
//
// An input is a lxe.fuzz.Case (fuzz_case.proto): a RunPodSandbox, a CreateContainer in that pod and
// UpdateContainerResources calls on that container, in the wire format (what the mutator makes) or
// in protobuf text format (the committed seeds, fuzz/corpus). case_runner.h runs it; a violation of
// invariants.h, an exception from lxe's code or a sanitizer report (ASan, UBSan) aborts, and
// libFuzzer saves the input. LXE_FUZZ_TRACE=1 prints how far each input got, for replaying one:
//   LXE_FUZZ_TRACE=1 build-fuzz/bin/lxe_fuzz_requests <file>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/text_format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "case_runner.h"
#include "proto_mutator.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

bool tracing() {
  static const bool on = [] {
    const char* value = std::getenv("LXE_FUZZ_TRACE");
    return value != nullptr && std::string_view(value) == "1";
  }();
  return on;
}

void print(const lxe::fuzz::Trace& trace) {
  for (const auto& line : trace) std::fprintf(stderr, "  %s\n", line.c_str());
}

std::string_view view(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every `string` field that is not UTF-8 as it serialises it (a parse then refuses
  // it, as gRPC's would); the logging would swamp the fuzzer's output.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lxe::fuzz::Trace trace;
  lxe::fuzz::Trace* traced = tracing() ? &trace : nullptr;
  lxe::fuzz::Case input;
  if (!lxe::fuzz::decode(view(data, size), input, traced)) {
    print(trace);
    return -1;  // not a case: keep it out of the corpus
  }
  const std::string failure = lxe::fuzz::run_case(input, traced);
  print(trace);
  if (failure.empty()) return 0;
  std::string text;
  google::protobuf::TextFormat::PrintToString(input, &text);
  std::fprintf(stderr, "lxe request fuzzer: %s\ninput (text format):\n%s\n", failure.c_str(), text.c_str());
  std::abort();
}

// Mutates the decoded case (see proto_mutator.h) and writes it back in the wire format. An input
// that is not a case gets libFuzzer's own byte-level mutation.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  lxe::fuzz::Case input;
  if (!lxe::fuzz::decode(view(data, size), input)) return LLVMFuzzerMutate(data, size, max_size);
  lxe::fuzz::ProtoMutator mutator(LLVMFuzzerMutate, seed);
  for (unsigned i = 0, rounds = 1 + seed % 3; i < rounds; ++i) mutator.mutate(input);
  const std::string out = input.SerializeAsString();
  if (out.size() > max_size) return size;  // too big: leave the input as it was
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
