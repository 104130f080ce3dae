#include "report.h"

#include <cmath>
#include <sstream>

#include "host.h"

namespace lxe::bench {
namespace {

void header(std::ostream& md, const Report& r) {
  md << "## lxe-bench " << (r.quick ? "--quick" : "(full)") << ", " << r.started << "\n\n";
  md << "- machine: " << r.machine << "\n";
  md << "- load average (1/5/15 min) at start: " << r.load_start << "; at end: " << r.load_end << "\n";
  md << "- LXD " << r.lxd_version << ", lxe " << r.lxe_version << ", image `" << r.image << "`\n";
  for (const auto& n : r.header_notes) md << "- " << n << "\n";
  if (!r.failure.empty()) md << "- **the run did not finish**: " << r.failure << "\n";
  for (const auto& n : r.notes) md << "- " << n << "\n";
  md << "\n";
}

void hot_path(std::ostream& md, const Report& r) {
  if (r.hot.empty()) return;
  md << "### 1. Hot path (µs; one client, sequential unary calls over a unix socket)\n\n";
  md << "echo = the bare gRPC unary round trip: a gRPC server in this same binary (lxe's RuntimeService "
        "with trivial handlers), run as a process of its own like lxe, on a unix socket of its own, "
        "answering Version with lxe's own reply. Same-shape echo = that process answering the very reply "
        "lxe gave for that RPC at that size: what gRPC and protobuf alone cost for a message of that size. "
        "All targets are measured in interleaved rounds (5), so that load elsewhere on the machine hits "
        "each alike. CPU per call = utime + stime of the whole server process during the calls, divided "
        "by the calls (10 ms ticks: a coarse figure).\n\n";
  std::vector<std::string> seen;
  md << "Containers at each size: ";
  for (const auto& row : r.hot) {
    if (std::find(seen.begin(), seen.end(), row.size) != seen.end()) continue;
    md << (seen.empty() ? "" : "; ") << "**" << row.size << "** = " << row.population;
    seen.push_back(row.size);
  }
  md << ". Every pod's namespaces are held (pinned by lxe). PodSandboxStatus and ContainerStatus ask for one pod "
        "and one container in the middle of the list; at 0 there is nothing to ask for.\n\n";
  md << "| RPC | containers | lxe p50 | lxe p99 | echo p50 | **lxe ÷ echo** (p50) | same-shape echo p50 / p99 | "
        "lxe ÷ same-shape | lxe CPU/call | same-shape CPU/call | calls |\n";
  md << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& row : r.hot)
    md << "| " << row.rpc << " | " << row.size << " | " << num(row.lxe.median(), 0) << " | "
       << num(row.lxe.pct(99), 0) << " | " << num(row.echo_out_p50, 0) << " | "
       << ratio(row.lxe.median(), row.echo_out_p50) << " | " << num(row.shape.median(), 0) << " / "
       << num(row.shape.pct(99), 0) << " | " << ratio(row.lxe.median(), row.shape.median()) << " | "
       << num(row.lxe_cpu_us(), 0) << " | " << num(row.shape_cpu_us(), 0) << " | " << row.lxe.size() << " |\n";
  md << "\nThe echoes alone (Version), also with the server inside the bench process (client and server in "
        "one process, still over the unix socket):\n\n| containers | echo (own process) p50 / p99 | "
        "in-process p50 / p99 | own process CPU/call | calls |\n|---:|---:|---:|---:|---:|\n";
  for (const auto& [size, e] : r.echoes)
    md << "| " << size << " | " << num(e.out.median(), 0) << " / " << num(e.out.pct(99), 0) << " | "
       << num(e.in.median(), 0) << " / " << num(e.in.pct(99), 0) << " | "
       << num(e.out_cpu_s * 1e6 / static_cast<double>(std::max<size_t>(1, e.out.size())), 0) << " | "
       << e.in.size() << " |\n";
  md << "\n";
}

void lifecycle(std::ostream& md, const Report& r) {
  if (r.lifecycle.empty()) return;
  md << "### 2. Lifecycle: lxe vs the same LXD calls made directly (ms, median of " << r.lifecycle_iterations
     << " each, interleaved, after " << r.lifecycle_warmups << " warm-up(s))\n\n";
  md << "The raw side builds the very LXD objects lxe builds (lxe's own mapping code: profile, devices, "
        "raw.lxc, spec.json, host files) and makes the LXD calls lxe's reconciler makes for a new object, "
        "without the store, the queue or gRPC. Single calls are pipelined differently: lxe answers "
        "StopContainer once lxe-init has ended the workload, and LXD's teardown of the instance (which the raw "
        "forced stop waits for) then runs on, so the RemoveContainer that follows waits for it, and its "
        "\"own time\" counts that waiting between refused deletes. Compare the whole lifecycle too. lxe's "
        "CreateContainer claims an instance its keeper made ahead (--ready-instances); the keeper's requests, "
        "which run in the background, count in whichever call they overlap.\n\n";
  md << "| call | lxe | raw LXD | lxe ÷ raw | lxe − raw | lxe: in its LXD requests | lxe: own time (call − "
        "LXD requests) | own ÷ raw | lxe's LXD requests | raw LXD steps |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& row : r.lifecycle)
    md << "| " << row.call << " | " << num(row.lxe.median()) << " | " << num(row.raw.median()) << " | "
       << ratio(row.lxe.median(), row.raw.median()) << " | " << num(row.lxe.median() - row.raw.median()) << " | "
       << num(row.lxe_in_lxd.median()) << " | " << num(row.lxe_own.median()) << " | "
       << num(row.lxe_own.median() / row.raw.median() * 100, 1) << "% | " << num(row.lxe_requests.median(), 0)
       << " | " << row.raw_steps << " |\n";
  md << "\n";
  if (r.peer_name.empty()) return;
  md << "#### lxe and " << r.peer_name << ", side by side\n\n"
     << "The same CRI calls with the same client, one whole lifecycle of each in turn with the raw LXD one "
        "(medians, ms). The goal: lxe at or below "
     << r.peer_name << " on every call.\n\n"
     << "| call | lxe | " << r.peer_name << " | lxe ÷ " << r.peer_name << " | lxe − " << r.peer_name
     << " | at or below |\n|---|---:|---:|---:|---:|---|\n";
  for (const auto& row : r.lifecycle) {
    const double lxe = row.lxe.median(), peer = row.peer.median();
    md << "| " << row.call << " | " << num(lxe) << " | " << (row.peer.empty() ? "–" : num(peer)) << " | "
       << (row.peer.empty() ? "–" : ratio(lxe, peer)) << " | " << (row.peer.empty() ? "–" : num(lxe - peer)) << " | "
       << (row.peer.empty() ? "–" : lxe <= peer ? "yes" : "**no**") << " |\n";
  }
  md << "\n";
}

void concurrency(std::ostream& md, const Report& r) {
  if (r.concurrency.empty()) return;
  md << "### 3. Concurrency: N clients, each running whole pod lifecycles (RunPodSandbox, CreateContainer, "
        "StartContainer, StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox)\n\n";
  md << "| clients | lifecycles | errors | wall (s) | lifecycles/s | lifecycle p50 (s) | lifecycle p99 (s) | "
        "slowest call p99 (ms) |\n|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& row : r.concurrency) {
    std::string slowest = "–";
    double worst = -1;
    for (const auto& [k, v] : row.calls_ms)
      if (v.pct(99) > worst) {
        worst = v.pct(99);
        slowest = k + " " + num(worst, 0);
      }
    md << "| " << row.clients << " | " << row.lifecycles << " | " << row.errors << " | " << num(row.wall_s) << " | "
       << num(row.lifecycles / row.wall_s, 2) << " | " << num(row.lifecycle_ms.median() / 1000.0, 2) << " | "
       << num(row.lifecycle_ms.pct(99) / 1000.0, 2) << " | " << slowest << " |\n";
  }
  md << "\nPer call, p50 / p99 (ms):\n\n| clients |";
  for (const auto& c : lifecycle_calls()) md << " " << c << " |";
  md << "\n|---:|";
  for (size_t i = 0; i < lifecycle_calls().size(); ++i) md << "---:|";
  md << "\n";
  for (const auto& row : r.concurrency) {
    md << "| " << row.clients << " |";
    for (const auto& c : lifecycle_calls()) {
      const auto it = row.calls_ms.find(c);
      md << " " << (it == row.calls_ms.end() ? "–" : num(it->second.median(), 0) + " / " + num(it->second.pct(99), 0))
         << " |";
    }
    md << "\n";
  }
  for (const auto& row : r.concurrency)
    for (const auto& e : row.error_texts) md << "\n- error (" << row.clients << " clients): " << e;
  md << "\n";
}

void recovery(std::ostream& md, const Report& report) {
  if (!report.recovery) return;
  const auto& r = *report.recovery;
  md << "### 4. Recovery after `kill -9` of lxe (" << r.running << " running containers in " << r.holders
     << " pods)\n\n";
  md << "| kill → serving | kill → ListContainers correct | spawn → serving | kill → adoption complete | "
        "containers restarted | holders restarted | records with generation ≠ observed | records with "
        "lastError |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  md << "| " << num(r.kill_to_serving_ms, 0) << " ms | " << num(r.kill_to_list_ms, 0) << " ms | "
     << num(r.spawn_to_serving_ms, 0) << " ms | " << num(r.kill_to_adopted_ms, 0) << " ms | "
     << r.restarted_containers << " | " << r.restarted_holders << " | " << r.generation_mismatch << " | "
     << r.last_errors << " |\n\n";
  md << "Adoption complete = the restarted lxe has looked at every one of its LXD objects (instances and "
        "profiles) and done what it saw needed, read from its debug log: "
     << r.adoption
     << ". Restarts are "
        "counted from the init PIDs in LXD's `/state` before the kill and after adoption.";
  if (!r.note.empty()) md << " " << r.note;
  if (r.pid_unknown > 0) md << " LXD did not give the /state of " << r.pid_unknown << " instance(s): not counted.";
  if (!r.startup.empty()) md << " Start-up: " << r.startup << ".";
  md << "\n\n";
}

void footprint(std::ostream& md, const Report& r) {
  if (r.footprint.empty()) return;
  md << "### 5. Footprint\n\nVmRSS = RssAnon (heap, stacks) + RssFile (mapped binary and shared libraries, "
        "shared with other processes) + RssShmem. VmHWM is the peak VmRSS since the process started.\n\n";
  md << "| containers | pods | lxe process | VmRSS | RssAnon | RssFile | VmHWM (peak) | store db | -wal | -shm | "
        "db + wal | idle CPU |\n|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& row : r.footprint)
    md << "| " << row.label << " | " << row.pods << " | " << row.what << " | " << mib_of_kb(row.mem.rss_kb) << " | "
       << mib_of_kb(row.mem.anon_kb) << " | " << mib_of_kb(row.mem.file_kb) << " | " << mib_of_kb(row.mem.hwm_kb)
       << " | " << kib(row.db) << " | " << kib(row.wal) << " | " << kib(row.shm) << " | " << kib(row.db + row.wal)
       << " | " << num(row.idle_cpu_pct) << "% |\n";
  md << "\n";
}

// "4056×", "12.3×", "1.05×": as many decimals as a ratio of that size needs.
std::string times(double a, double b) {
  if (std::isnan(a) || std::isnan(b) || b <= 0) return "–";
  const double x = a / b;
  return num(x, x >= 100 ? 0 : x >= 10 ? 1 : 2) + "×";
}

std::string kib_of(size_t bytes) { return num(static_cast<double>(bytes) / 1024.0, 1) + " KiB"; }

void stats(std::ostream& md, const Report& r) {
  if (r.stats.empty() && r.polled.empty()) return;
  md << "### 6. Stats: ListContainerStats and ListPodSandboxStats, and the hot path while they are polled\n\n";
  if (!r.stats.empty()) {
    md << "Containers: " << r.stats_population
       << ". lxe answers from the containers' cgroups on the host; the raw-LXD way to the same numbers "
          "(CPU, memory, processes) is LXD's `/state` of each instance. Calls back to back on one connection, "
          "in rounds that alternate with the raw sweeps (ms; CPU per call = utime + stime of lxe during its "
          "calls, 10 ms ticks).\n\n";
    md << "| RPC | stats in the answer (with CPU time) | answer | lxe p50 | lxe p99 | lxe CPU/call | calls | raw "
          "LXD: the same numbers | raw p50 | raw p99 | sweeps | **raw ÷ lxe** (p50) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n";
    for (const auto& row : r.stats) {
      md << "| " << row.rpc << " | " << row.entries << " (" << row.with_cpu << ") | " << kib_of(row.reply_bytes)
         << " | " << num(row.lxe.median(), 2) << " | " << num(row.lxe.pct(99), 2) << " | " << num(row.lxe_cpu_ms(), 2)
         << " | " << row.lxe.size() << " | ";
      if (row.raw_what.empty())
        md << "– | – | – | – | – |\n";
      else
        md << row.raw_what << " (" << row.raw_instances << "; " << row.raw_running << " running with CPU time) | "
           << num(row.raw.median(), 0) << " | " << num(row.raw.pct(99), 0) << " | " << row.raw.size() << " | "
           << times(row.raw.median(), row.lxe.median()) << " |\n";
    }
    md << "\n";
  }
  if (!r.polled.empty()) {
    md << "The hot path while stats are polled (µs; one client, sequential unary calls): a second connection "
          "asks ListContainerStats and ListPodSandboxStats (every container and pod) once per period, as "
          "kubelet asks for them (kubelet itself every 10 s or so). Each RPC is measured in windows one period "
          "long, centred on the poller's ticks, alternately idle (no poll in the window) and polled (one poll in "
          "the window)";
    if (r.poll)
      md << ": period " << num(r.poll->period_s, 1) << " s, " << r.poll->rounds << " round(s) of one window of each";
    md << ".\n\n";
    md << "| RPC | containers | idle p50 | idle p99 | polled p50 | polled p99 | **polled ÷ idle** (p50) | "
          "**polled ÷ idle** (p99) | calls idle / polled |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    const PolledRow* worst50 = nullptr;
    const PolledRow* worst99 = nullptr;
    for (const auto& row : r.polled) {
      md << "| " << row.rpc << " | " << row.size << " | " << num(row.idle.median(), 0) << " | "
         << num(row.idle.pct(99), 0) << " | " << num(row.polled.median(), 0) << " | " << num(row.polled.pct(99), 0)
         << " | " << ratio(row.polled.median(), row.idle.median()) << " | "
         << ratio(row.polled.pct(99), row.idle.pct(99)) << " | " << row.idle.size() << " / " << row.polled.size()
         << " |\n";
      auto of = [](const Samples& a, const Samples& b, double p) { return a.pct(p) / b.pct(p); };
      if (!worst50 || of(row.polled, row.idle, 50) > of(worst50->polled, worst50->idle, 50)) worst50 = &row;
      if (!worst99 || of(row.polled, row.idle, 99) > of(worst99->polled, worst99->idle, 99)) worst99 = &row;
    }
    md << "\nLargest change: p50 " << ratio(worst50->polled.median(), worst50->idle.median()) << " ("
       << worst50->rpc << "), p99 " << ratio(worst99->polled.pct(99), worst99->idle.pct(99)) << " (" << worst99->rpc
       << ").";
    if (r.poll) {
      const auto& p = *r.poll;
      md << " Polls: " << p.polls << " in " << p.polled_windows << " polled windows, " << p.errors << " failed"
         << (p.first_error.empty() ? "" : " (" + p.first_error + ")") << "; each poll's ListContainerStats p50 / "
         << "max " << num(p.container_stats_ms.median(), 2) << " / " << num(p.container_stats_ms.max(), 2)
         << " ms, ListPodSandboxStats " << num(p.pod_stats_ms.median(), 2) << " / " << num(p.pod_stats_ms.max(), 2)
         << " ms.";
    }
    md << "\n\n";
  }
}

const char* yes(bool b) { return b ? "yes" : "**no**"; }

void targets(std::ostream& md, const Report& r) {
  md << "### Targets (from issue 6)\n\n| target | measured | met |\n|---|---|---|\n";
  std::vector<std::string> sizes;
  for (const auto& row : r.hot)
    if (std::find(sizes.begin(), sizes.end(), row.size) == sizes.end()) sizes.push_back(row.size);
  for (const auto& size : sizes) {
    double worst = 0;
    std::string list;
    for (const auto& row : r.hot) {
      if (row.size != size) continue;
      const double x = row.lxe.median() / row.echo_out_p50;
      worst = std::max(worst, x);
      list += (list.empty() ? "" : ", ") + row.rpc + " " + num(x, 2) + "×";
    }
    md << "| hot-path p50 ≤ 1.3× the bare gRPC echo, " << size << " containers | " << list << " | "
       << yes(worst <= 1.3) << " |\n";
  }
  const HotRow* list_row = nullptr;
  for (const auto& row : r.hot)
    if (row.rpc == "ListContainers" && (!list_row || std::stoi(row.size) >= std::stoi(list_row->size))) list_row = &row;
  if (list_row)
    md << "| ListContainers p99 ≤ 5 ms at 1000 containers | " << num(list_row->lxe.pct(99) / 1000.0, 2) << " ms at "
       << list_row->size << " | " << yes(list_row->lxe.pct(99) <= 5000)
       << (list_row->size == "1000" ? "" : r.quick ? " (not at 1000: quick mode)" : " (not at 1000)") << " |\n";
  for (const auto& row : r.lifecycle) {
    const double over = (row.lxe.median() / row.raw.median() - 1) * 100;
    const double own = row.lxe_own.median() / row.raw.median() * 100;
    md << "| " << row.call << ": ≤ 10% over raw LXD | median " << num(row.lxe.median()) << " vs "
       << num(row.raw.median()) << " ms: " << (over >= 0 ? "+" : "") << num(over, 0)
       << "% (lxe's own time: " << num(own, 1) << "% of raw) | " << yes(over <= 10) << " |\n";
  }
  for (const auto& row : r.concurrency)
    md << "| 0 errors with " << row.clients << " client(s) | " << row.errors << " errors in "
       << row.lifecycles + row.errors << " lifecycles | " << yes(row.errors == 0) << " |\n";
  if (r.recovery) {
    md << "| serving (ListContainers correct) ≤ 1 s after kill -9 | " << num(r.recovery->kill_to_list_ms, 0)
       << " ms | " << yes(r.recovery->kill_to_list_ms <= 1000) << " |\n";
    md << "| 0 restarts after kill -9 (init PIDs) | " << r.recovery->restarted_containers << " containers, "
       << r.recovery->restarted_holders << " holders restarted of " << r.recovery->running << " + "
       << r.recovery->holders << " | " << yes(r.recovery->restarted_containers + r.recovery->restarted_holders == 0)
       << " |\n";
  }
  // RSS: the peak (VmHWM) of lxe, against 25 MB taken as 25,000,000 bytes.
  for (const auto& row : r.footprint) {
    const bool at_100 = row.pods >= 100;
    if (!at_100 && &row != &r.footprint.back()) continue;
    const double mb = static_cast<double>(row.mem.hwm_kb) * 1024.0 / 1e6;
    md << "| peak RSS ≤ 25 MB with 100 pods | VmHWM " << num(mb, 1) << " MB (" << mib_of_kb(row.mem.hwm_kb)
       << "; VmRSS " << mib_of_kb(row.mem.rss_kb) << ") with " << row.pods << " pods, " << row.containers
       << " containers, " << row.what << " | " << yes(mb <= 25.0)
       << (at_100 ? "" : r.quick ? " (fewer pods: quick mode)" : " (fewer pods)") << " |\n";
  }
  md << "\n";
}

}  // namespace

std::string render_report(const Report& report) {
  std::ostringstream md;
  header(md, report);
  hot_path(md, report);
  lifecycle(md, report);
  concurrency(md, report);
  recovery(md, report);
  footprint(md, report);
  stats(md, report);
  targets(md, report);
  return md.str();
}

}  // namespace lxe::bench
