// How a reconcile failure is recorded in a record's last_error, and read back by the CRI facade
// to choose a status code: failures where LXD did not answer start with kUnavailablePrefix (→
// UNAVAILABLE, kubelet retries); the rest are LXD or host refusals (→ the facade's own mapping).
#pragma once

#include <string>
#include <string_view>

namespace lxe::reconcile {

inline constexpr std::string_view kUnavailablePrefix = "LXD unavailable: ";

// LXD refusing for a moment ("Instance is busy running a "stop" operation" right after a command
// ends): the reconciler retries; callers keep waiting instead of failing.
inline bool is_transient_error(std::string_view last_error) {
  return last_error.find("is busy") != std::string_view::npos;
}

inline bool is_unavailable_error(std::string_view last_error) {
  return last_error.substr(0, kUnavailablePrefix.size()) == kUnavailablePrefix;
}

}  // namespace lxe::reconcile
