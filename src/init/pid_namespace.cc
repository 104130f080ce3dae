#include "init/pid_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <system_error>

#include "init/fd.h"
#include "init/sys.h"

namespace lxe::init {

void new_pid_namespace_for_child() {
  if (::unshare(CLONE_NEWPID) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot make a PID namespace for the workload");
}

std::optional<std::string> join_workload_namespaces(pid_t pid, bool pid_namespace) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/ns/";
  // Both opened first: once in the workload's mount namespace, /proc/<pid> would name another
  // process (its /proc counts PIDs of the workload's own namespace).
  Fd mnt(::open((dir + "mnt").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mnt.valid() && errno == ENOENT) return std::nullopt;
  Fd pidns(::open((dir + "pid").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mnt.valid() || !pidns.valid())
    return "cannot open the namespaces of the container's process " + std::to_string(pid) + ": " + errno_text(errno);
  if (::setns(mnt.get(), CLONE_NEWNS) != 0) return "cannot join the container's mount namespace: " + errno_text(errno);
  if (pid_namespace && ::setns(pidns.get(), CLONE_NEWPID) != 0) return "cannot join the container's PID namespace: " + errno_text(errno);
  return std::nullopt;
}

std::optional<pid_t> recorded_workload_pid(const std::string& exit_path) {
  if (exit_path.empty()) return std::nullopt;
  std::ifstream in(std::filesystem::path(exit_path).parent_path() / "started.json");
  if (!in) return std::nullopt;
  const auto record = nlohmann::json::parse(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(),
                                            nullptr, false);
  if (!record.is_object() || !record.contains("pid") || !record["pid"].is_number_integer()) return std::nullopt;
  const auto pid = record["pid"].get<int64_t>();
  if (pid <= 0 || pid > (1 << 22)) return std::nullopt;
  return static_cast<pid_t>(pid);
}

}  // namespace lxe::init
