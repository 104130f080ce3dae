// Every committed seed of the request fuzzer (fuzz/corpus) through the fuzzer's own checks, in the
// ordinary build: the inputs of past findings stay fixed even where clang is not installed, and a
// seed that stops parsing or stops reaching what it is for is noticed. The names say what a seed
// must do:
//   refused-*   some request of it is refused (hostile input the facade must stop);
//   finding-*   the input of a fixed finding: it runs clean, however far it gets;
//   anything else is a realistic request that must be accepted up to its container.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "case_runner.h"

namespace fs = std::filesystem;

namespace {

std::string joined(const lxe::fuzz::Trace& trace) {
  std::string out;
  for (const auto& line : trace) out += "  " + line + "\n";
  return out;
}

bool any_line_has(const lxe::fuzz::Trace& trace, const std::string& text) {
  for (const auto& line : trace)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("fuzz seeds: each committed seed parses and runs clean through the fuzzer's checks", "[fuzz]") {
  const fs::path corpus = fs::path(LXE_SOURCE_DIR) / "fuzz" / "corpus";
  int seeds = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    const std::string name = entry.path().filename().string();
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    INFO(name);
    lxe::fuzz::Trace trace;
    lxe::fuzz::Case input;
    REQUIRE(lxe::fuzz::decode(bytes.str(), input, &trace));
    const std::string failure = lxe::fuzz::run_case(input, &trace);
    INFO(joined(trace));
    CHECK(failure == "");
    if (name.rfind("refused-", 0) == 0)
      CHECK(any_line_has(trace, ": refused: "));
    else if (name.rfind("finding-", 0) != 0)
      CHECK(any_line_has(trace, "CreateContainer (log path): accepted"));
    ++seeds;
  }
  CHECK(seeds >= 10);
}
