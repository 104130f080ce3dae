// lxe-init: the init process lxe puts into every container (see modes.h).
#include <signal.h>

#include <exception>
#include <string>
#include <vector>

#include "init/modes.h"
#include "init/sys.h"

namespace {

constexpr int kUsage = 2;

int usage() {
  lxe::init::message(
      "usage: lxe-init run SPEC.json | lxe-init pause | lxe-init exec --timeout SECONDS [--spec SPEC.json] -- COMMAND [ARG...] | "
      "lxe-init ifup NAME ADDRESS/PREFIX GATEWAY");
  return kUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lxe::init;
  ensure_standard_fds();
  // Our stderr may be a pipe whose reader went away; an error there must not kill us (children get
  // the default disposition back before exec).
  ::signal(SIGPIPE, SIG_IGN);

  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  try {
    if (args[0] == "run" && args.size() == 2) return run_container(args[1]);
    if (args[0] == "pause" && args.size() == 1) return pause_forever();
    if (args[0] == "exec") return exec_command({args.begin() + 1, args.end()});
    if (args[0] == "ifup") return interface_up({args.begin() + 1, args.end()});
  } catch (const std::exception& e) {
    message(e.what());
    return kUsage;
  }
  return usage();
}
