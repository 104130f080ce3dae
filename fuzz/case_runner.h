// One input of the request fuzzer, run the way lxe's facade and reconciler would handle it (see
// requests_fuzzer.cc). Apart from libFuzzer's entry points so that the unit tests run every
// committed seed through the same checks (tests/unit/fuzz_seeds_test.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fuzz_case.pb.h"

namespace lxe::fuzz {

// How far an input got: "RunPodSandbox: accepted", "CreateContainer: refused: <why>", ...
using Trace = std::vector<std::string>;

// An input in the wire format (what the mutator makes) or, when it starts with '#', a committed
// seed in protobuf text format. False when it is not a Case (then `trace` says why).
bool decode(std::string_view bytes, Case& out, Trace* trace = nullptr);

// Runs `input`: each request through the checks its handler makes, and for an accepted one the
// records the handler stores, their round trip through the store's JSON, everything lxe builds from
// them for LXD and lxe-init, and the CRI status answers, all checked against invariants.h. Returns
// "" when everything holds; otherwise what failed (the violations, or an exception lxe's code
// threw). Requests that are refused end the case, as they end the call, and are no failure.
std::string run_case(const Case& input, Trace* trace = nullptr);

}  // namespace lxe::fuzz
