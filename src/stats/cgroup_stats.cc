#include "stats/cgroup_stats.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace lxe::stats {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

uint64_t read_number(const fs::path& path) {
  const auto text = read_text(path);
  if (!text) return 0;
  try {
    return std::stoull(*text);
  } catch (const std::exception&) {
    return 0;  // "max" and the like
  }
}

// "key value" lines (memory.stat, cpu.stat).
std::map<std::string, uint64_t> read_keyed(const fs::path& path) {
  std::map<std::string, uint64_t> out;
  const auto text = read_text(path);
  if (!text) return out;
  std::istringstream in(*text);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) out[key] = value;
  return out;
}

uint64_t get(const std::map<std::string, uint64_t>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

CgroupReader::CgroupReader(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  // Unified: the controllers live at the root. Hybrid hosts (v1 controllers, a "unified" mount
  // for systemd) count as v1.
  unified_ = fs::exists(fs::path(root_) / "cgroup.controllers", ec) && !fs::exists(fs::path(root_) / "memory", ec);
}

CgroupSample CgroupReader::read(const std::string& instance) const {
  const std::string name = "lxc.payload." + instance;
  const fs::path root(root_);
  CgroupSample s;
  std::error_code ec;
  if (unified_) {
    const fs::path dir = root / name;
    if (!fs::exists(dir, ec)) return s;
    s.present = true;
    s.cpu_usage_ns = get(read_keyed(dir / "cpu.stat"), "usage_usec") * 1000;
    s.memory_usage = read_number(dir / "memory.current");
    const auto mem = read_keyed(dir / "memory.stat");
    const uint64_t inactive_file = get(mem, "inactive_file");
    s.working_set = s.memory_usage > inactive_file ? s.memory_usage - inactive_file : 0;
    s.rss = get(mem, "anon");
    s.page_faults = get(mem, "pgfault");
    s.major_page_faults = get(mem, "pgmajfault");
    s.pids = read_number(dir / "pids.current");
    return s;
  }
  const fs::path memory = root / "memory" / name;
  if (!fs::exists(memory, ec)) return s;
  s.present = true;
  s.cpu_usage_ns = read_number(root / "cpuacct" / name / "cpuacct.usage");
  s.memory_usage = read_number(memory / "memory.usage_in_bytes");
  const auto mem = read_keyed(memory / "memory.stat");
  const uint64_t inactive_file = get(mem, "total_inactive_file");
  s.working_set = s.memory_usage > inactive_file ? s.memory_usage - inactive_file : 0;
  s.rss = get(mem, "total_rss");
  s.page_faults = get(mem, "total_pgfault");
  s.major_page_faults = get(mem, "total_pgmajfault");
  s.pids = read_number(root / "pids" / name / "pids.current");
  return s;
}

std::vector<InterfaceCounters> parse_net_dev(const std::string& text) {
  std::vector<InterfaceCounters> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.find('|') != std::string::npos) continue;  // headers
    InterfaceCounters c;
    c.name = line.substr(0, colon);
    c.name.erase(0, c.name.find_first_not_of(' '));
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[16] = {};
    int n = 0;
    while (n < 16 && fields >> v[n]) ++n;
    if (n < 16 || c.name.empty()) continue;
    // receive: bytes packets errs drop fifo frame compressed multicast; then transmit's eight.
    c.rx_bytes = v[0];
    c.rx_packets = v[1];
    c.rx_errors = v[2];
    c.rx_dropped = v[3];
    c.tx_bytes = v[8];
    c.tx_packets = v[9];
    c.tx_errors = v[10];
    c.tx_dropped = v[11];
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<InterfaceCounters> read_net_dev(int64_t pid) {
  if (pid <= 0) return {};
  const auto text = read_text("/proc/" + std::to_string(pid) + "/net/dev");
  return text ? parse_net_dev(*text) : std::vector<InterfaceCounters>{};
}

std::optional<uint64_t> CpuRates::rate(const std::string& id, uint64_t usage_ns, int64_t at_ns) {
  std::lock_guard lock(mutex_);
  const auto it = last_.find(id);
  std::optional<uint64_t> out;
  if (it != last_.end() && at_ns > it->second.at_ns && usage_ns >= it->second.usage_ns) {
    const double cores = static_cast<double>(usage_ns - it->second.usage_ns) /
                         static_cast<double>(at_ns - it->second.at_ns);
    out = static_cast<uint64_t>(cores * 1e9);
  }
  // A restart resets the counter: start over from this sample.
  last_[id] = {usage_ns, at_ns};
  return out;
}

void CpuRates::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  last_.erase(id);
}

}  // namespace lxe::stats
