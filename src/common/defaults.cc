#include "common/defaults.h"

#include <filesystem>

namespace lxe {

const std::vector<std::string>& lxd_socket_candidates() {
  static const std::vector<std::string> candidates = {
      "/var/snap/lxd/common/lxd/unix.socket",
      "/var/lib/lxd/unix.socket",
  };
  return candidates;
}

std::string find_lxd_socket() {
  std::error_code ec;
  for (const auto& path : lxd_socket_candidates()) {
    if (std::filesystem::exists(path, ec)) return path;
  }
  return {};
}

}  // namespace lxe
