// What each section measured: the rows of the report, filled by the scenarios, printed by report.cc.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lxe_process.h"
#include "stats.h"

namespace lxe::bench {

// 1. One hot-path RPC at one population size.
struct HotRow {
  std::string rpc;
  std::string size;        // "1000": containers
  std::string population;  // "100 running, 900 created (not started), in 100 pods"
  Samples lxe, shape;      // µs; shape: the echo process answering lxe's very reply
  double lxe_cpu_s = 0, shape_cpu_s = 0;  // CPU time of the whole process during the calls
  double echo_in_p50 = 0, echo_out_p50 = 0;
  double lxe_cpu_us() const { return lxe_cpu_s * 1e6 / static_cast<double>(std::max<size_t>(1, lxe.size())); }
  double shape_cpu_us() const { return shape_cpu_s * 1e6 / static_cast<double>(std::max<size_t>(1, shape.size())); }
};

// 1. The echoes alone (Version) at one size.
struct EchoRow {
  Samples in, out;  // µs: the server in this process; in a process of its own
  double out_cpu_s = 0;
};

// 2. One CRI call (or the whole lifecycle) through lxe and made directly against LXD.
struct LifeRow {
  std::string call, raw_steps;
  Samples lxe, raw;      // ms
  Samples lxe_in_lxd;    // lxe's LXD requests during the call (ms, from its debug log)
  Samples lxe_own;       // the call minus those: lxe, gRPC and the store
  Samples lxe_requests;  // how many LXD requests lxe made for the call
  Samples peer;          // the same call through the peer runtime (ms); empty without one
};

// 3. N clients running whole pod lifecycles.
struct ConcRow {
  int clients = 0, lifecycles = 0, errors = 0;
  double wall_s = 0;
  Samples lifecycle_ms;
  std::map<std::string, Samples> calls_ms;
  std::vector<std::string> error_texts;
};

// 4. kill -9 of lxe and its restart.
struct RecoveryRow {
  int running = 0, holders = 0;
  double kill_to_serving_ms = 0, kill_to_list_ms = 0, kill_to_adopted_ms = 0, spawn_to_serving_ms = 0;
  int restarted_containers = 0, restarted_holders = 0;
  int generation_mismatch = 0, last_errors = 0;
  int pid_unknown = 0;  // instances whose /state LXD did not give
  std::string note, startup, adoption;
};

// 5. lxe's memory, idle CPU and store at one size.
struct FootRow {
  std::string label, what;
  int containers = 0, pods = 0;
  Memory mem;
  int64_t db = 0, wal = 0, shm = 0;
  double idle_cpu_pct = 0;
};

// 6. A stats RPC over the whole node through lxe, and the raw-LXD way to the same numbers.
struct StatsRow {
  std::string rpc;           // "ListContainerStats"
  int entries = 0;           // stats in lxe's (last) answer
  int with_cpu = 0;          // of them, with CPU time above 0: read from a running container's cgroup
  size_t reply_bytes = 0;    // the size of that answer
  Samples lxe;               // ms
  double lxe_cpu_s = 0;      // CPU time of lxe during the calls
  std::string raw_what;      // how the raw side gets the numbers; empty: no raw side
  Samples raw;               // ms: one sample per sweep over every container
  int raw_instances = 0;     // instances a sweep asks for
  int raw_running = 0;       // of them, LXD said Running with CPU time above 0 (last sweep)
  double lxe_cpu_ms() const { return lxe_cpu_s * 1e3 / static_cast<double>(std::max<size_t>(1, lxe.size())); }
};

// 6. One hot-path RPC measured idle and while stats are polled, in alternating windows (µs).
struct PolledRow {
  std::string rpc;
  std::string size;  // containers
  Samples idle, polled;
};

// 6. The poller of the polled windows: kubelet's stats polling.
struct PollInfo {
  double period_s = 0;
  int rounds = 0;
  int polled_windows = 0;
  int polls = 0;
  int errors = 0;
  std::string first_error;
  Samples container_stats_ms, pod_stats_ms;  // each poll's ListContainerStats and ListPodSandboxStats
};

// The seven calls of a pod lifecycle, in order (kubelet stops a pod before it removes it).
inline const std::vector<std::string>& lifecycle_calls() {
  static const std::vector<std::string> calls = {"RunPodSandbox",   "CreateContainer", "StartContainer",
                                                 "StopContainer",   "RemoveContainer", "StopPodSandbox",
                                                 "RemovePodSandbox"};
  return calls;
}

struct Report {
  // The header.
  bool quick = false;
  std::string started;  // utc_now() at the end of the run, as before
  std::string machine;  // "2 cores (`nproc`), AMD EPYC, 23.5 GiB RAM, Linux 6.18"
  std::string load_start, load_end;
  std::string lxd_version, lxe_version, image;
  std::string peer_name;  // the runtime measured beside lxe in the lifecycle section ("" for none)
  std::vector<std::string> header_notes;  // --note
  std::string failure;                    // why the run did not finish; empty when it did
  std::vector<std::string> notes;         // what the run noticed
  int lifecycle_iterations = 0, lifecycle_warmups = 0;
  // The sections.
  std::vector<HotRow> hot;
  std::map<std::string, EchoRow> echoes;  // by size
  std::vector<LifeRow> lifecycle;
  std::vector<ConcRow> concurrency;
  std::optional<RecoveryRow> recovery;
  std::vector<FootRow> footprint;
  std::string stats_population;  // "100 running, in 100 pods"
  std::vector<StatsRow> stats;
  std::vector<PolledRow> polled;
  std::optional<PollInfo> poll;
};

}  // namespace lxe::bench
