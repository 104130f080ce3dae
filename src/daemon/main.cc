#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "common/version.h"
#include "daemon/flags.h"
#include "daemon/server.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto parsed = lxe::daemon::parse_flags(args);
  if (const auto* error = std::get_if<lxe::daemon::FlagError>(&parsed)) {
    std::fprintf(stderr, "lxe: error: %s\n", error->message.c_str());
    return 2;
  }
  const auto& options = std::get<lxe::daemon::Options>(parsed);
  if (options.help) {
    std::fputs(lxe::daemon::usage().c_str(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("lxe %s (CRI %s)\n", lxe::kVersion, lxe::kCriApiVersion);
    return 0;
  }
  return lxe::daemon::run_daemon(options);
}
