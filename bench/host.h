// Facts about the machine and small file helpers, for the report's header and the footprint.
#pragma once

#include <cstdint>
#include <string>

namespace lxe::bench {

std::string read_file(const std::string& path);  // empty when unreadable
int64_t file_size(const std::string& path);      // 0 when missing

std::string loadavg();    // "4.08 / 4.73 / 4.72"
std::string cpu_model();  // /proc/cpuinfo's first model name
std::string mem_total();  // "23.5 GiB"
std::string utc_now();    // "2026-11-22 14:52 UTC"

std::string kib(int64_t bytes);     // "60 KiB"
std::string mib_of_kb(int64_t kb);  // "23.0 MiB"

// `digits` random hex digits (from the kernel's random source: no generator state to share).
std::string random_hex(int digits);

}  // namespace lxe::bench
