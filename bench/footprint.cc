// 5. Footprint: lxe's memory from /proc, its idle CPU over the plan's window, and the store's size.
#include <thread>

#include "host.h"
#include "progress.h"
#include "sections.h"

namespace lxe::bench {

FootRow footprint(Node& node, const std::string& label, const std::string& what) {
  FootRow row;
  row.label = label;
  row.what = what;
  row.containers = node.containers();
  row.pods = static_cast<int>(node.pods.size());
  const pid_t pid = node.lxe.pid();
  const double cpu0 = cpu_seconds(pid);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(node.plan.idle_window_s));
  row.idle_cpu_pct = (cpu_seconds(pid) - cpu0) / (ms_since(t0) / 1000.0) * 100.0;
  row.mem = memory_of(pid);
  const std::string& db = node.lxe.config().db;
  row.db = file_size(db);
  row.wal = file_size(db + "-wal");
  row.shm = file_size(db + "-shm");
  note("footprint at %s: VmRSS %s, VmHWM %s, store %s + wal %s, idle CPU %s%%", label.c_str(),
       mib_of_kb(row.mem.rss_kb).c_str(), mib_of_kb(row.mem.hwm_kb).c_str(), kib(row.db).c_str(),
       kib(row.wal).c_str(), num(row.idle_cpu_pct).c_str());
  return row;
}

}  // namespace lxe::bench
