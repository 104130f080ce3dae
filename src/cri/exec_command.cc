#include "cri/exec_command.h"

#include "reconcile/host_files.h"

namespace lxe::cri {

std::vector<std::string> lxe_init_exec_command(int64_t timeout, bool with_spec, const std::vector<std::string>& cmd) {
  std::vector<std::string> command = {reconcile::kInitPathInContainer, "exec", "--timeout", std::to_string(timeout)};
  if (with_spec) {
    command.push_back("--spec");
    command.push_back(std::string(reconcile::kStateDirInContainer) + "/spec.json");
  }
  command.push_back("--");
  command.insert(command.end(), cmd.begin(), cmd.end());
  return command;
}

}  // namespace lxe::cri
