// The CRI stats of one container, read from its cgroup, with its writable layer's cached usage:
// ContainerStats, ListContainerStats and the containers of a pod's stats share it.
#pragma once

#include "runtime/v1/api.pb.h"
#include "stats/stats_sources.h"
#include "store/records.h"

namespace lxe::cri {

// `read`, when given, receives the cgroup sample the stats were made of (a pod's stats sum them).
runtime::v1::ContainerStats container_stats_of(const store::ContainerRecord& c, stats::StatsSources& sources,
                                               stats::CgroupSample* read = nullptr);

}  // namespace lxe::cri
