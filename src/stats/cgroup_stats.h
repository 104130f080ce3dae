// A container's CPU, memory and process counts, read on the host from its LXD instance's cgroup
// (lxc.payload.<instance>), never from LXD's /state (100-170 ms a call here). cgroup v2 (unified)
// and v1 (one hierarchy per controller, as on this project's machines) alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lxe::stats {

struct CgroupSample {
  bool present = false;         // the cgroup exists (the instance runs)
  uint64_t cpu_usage_ns = 0;    // cumulative CPU time, all cores
  uint64_t memory_usage = 0;    // bytes charged (page cache included)
  uint64_t working_set = 0;     // usage minus inactive file pages, as kubelet (cadvisor) counts it
  uint64_t rss = 0;             // anonymous memory
  uint64_t page_faults = 0;
  uint64_t major_page_faults = 0;
  uint64_t pids = 0;            // processes and threads
};

// The cgroup layout of a host, found once from its root (normally /sys/fs/cgroup).
class CgroupReader {
 public:
  explicit CgroupReader(std::string root = "/sys/fs/cgroup");
  bool unified() const { return unified_; }
  // The instance's cgroup now; present = false (and zeros) when it has none (not running).
  CgroupSample read(const std::string& instance) const;

 private:
  std::string root_;
  bool unified_ = false;
};

// One network interface's counters, as /proc/<pid>/net/dev shows them for that PID's namespace.
struct InterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_errors = 0;
  uint64_t rx_dropped = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;
  uint64_t tx_dropped = 0;
};
// Parses /proc/net/dev's text (two header lines, then "name: 16 numbers"); loopback included.
std::vector<InterfaceCounters> parse_net_dev(const std::string& text);
// The interfaces of the network namespace `pid` is in; empty when the process is gone.
std::vector<InterfaceCounters> read_net_dev(int64_t pid);

// usage_nano_cores: CPU time used per wall-clock time since the previous sample of the same
// container (as kubelet computes it from cadvisor's), nullopt for the first sample.
class CpuRates {
 public:
  std::optional<uint64_t> rate(const std::string& id, uint64_t usage_ns, int64_t at_ns);
  void forget(const std::string& id);

 private:
  struct Last {
    uint64_t usage_ns;
    int64_t at_ns;
  };
  std::mutex mutex_;
  std::map<std::string, Last> last_;
};

}  // namespace lxe::stats
