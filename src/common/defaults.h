// Default paths shared by lxe and lxe-ctl, so both find the same store and the same LXD.
#pragma once

#include <string>
#include <vector>

namespace lxe {

inline constexpr const char* kDefaultSocket = "/run/lxe.sock";
inline constexpr const char* kDefaultStateDir = "/var/lib/lxe";
inline constexpr const char* kDefaultDbPath = "/var/lib/lxe/lxe.db";

// Where LXD puts its socket: the snap first (as LXE did), then Debian's package.
const std::vector<std::string>& lxd_socket_candidates();

// The first candidate that exists, or an empty string when none does.
std::string find_lxd_socket();

}  // namespace lxe
