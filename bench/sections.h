// The sections of the report (docs/benchmarks.md), one file each, and the steps between them.
#pragma once

#include <string>
#include <vector>

#include "node.h"
#include "results.h"

namespace lxe::bench {

// 1. p50 and p99 of the hot-path RPCs through lxe, the echo and the same-shape echo, at the
// current population ("label": its number of containers). Adds its rows to `report`.
void hot_path(Node& node, const std::string& label, Report& report);

// 2. Each lifecycle call through lxe against the same LXD work done directly (raw_lxd.h).
std::vector<LifeRow> lifecycle(Node& node);

// 3. N clients running whole pod lifecycles, for each N of --clients; a row for each N as it ends.
void concurrency(Node& node, Report& report);

// 4. kill -9 of lxe with the running population, and its restart.
RecoveryRow recovery(Node& node);

// 5. lxe's memory, idle CPU and store now.
FootRow footprint(Node& node, const std::string& label, const std::string& what);

// 6. ListContainerStats and ListPodSandboxStats over the whole node through lxe, interleaved with
// the raw-LXD way to the same numbers (each running container's /state), in report.stats.
void stats_calls(Node& node, Report& report);

// 6. The hot path's RPCs again, each in alternating windows idle and while a second connection
// polls the stats as kubelet does, once per Plan::poll_period_ms (stats_poller.h), in
// report.polled and report.poll.
void hot_path_polled(Node& node, Report& report);

// Between sections (population.cc): the pods with their started containers, then the created
// ones; a restart of lxe that waits until the new process has adopted the node and is idle.
void populate_running(Node& node);
void populate_created(Node& node);
void restart_fresh(Node& node, const std::string& why);
// For the stats section: pods of one started container each until `running` containers run;
// returns the IDs of the pods it added. remove_pods removes pods through lxe, and from node.pods.
std::vector<std::string> populate_stats(Node& node, int running);
void remove_pods(Node& node, const std::vector<std::string>& ids);

}  // namespace lxe::bench
