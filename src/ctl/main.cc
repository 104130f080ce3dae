// lxe-ctl: read-only inspection of lxe's store (and, for `diff`, of LXD). See docs/lxe-ctl.md.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "common/time.h"
#include "ctl/args.h"
#include "ctl/commands.h"

int main(int argc, char** argv) {
  using namespace lxe::ctl;
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto parsed = parse_args(args, lxe::now_ns());
  if (const auto* error = std::get_if<UsageError>(&parsed)) {
    std::cerr << "lxe-ctl: error: " << error->message << " (see lxe-ctl " << (error->command.empty() ? "" : error->command + " ")
              << "--help)\n";
    return kExitUsage;
  }
  const int code = run(std::get<Invocation>(parsed), Io{std::cout, std::cerr, isatty(STDOUT_FILENO) == 1});
  std::cout.flush();
  return code;
}
