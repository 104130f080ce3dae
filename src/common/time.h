// Timestamps as CRI carries them: nanoseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <string>

namespace lxe {

int64_t now_ns();

// RFC 3339 with nanoseconds in UTC, as the CRI log format and LXD use.
std::string format_rfc3339_nano(int64_t ns);

}  // namespace lxe
