// What the CRI facade reads stats with, owned by the daemon: the host's cgroups, the CPU rates of
// earlier samples, and the writable layers' usage that a background thread keeps measuring.
#pragma once

#include <memory>

#include "stats/cgroup_stats.h"
#include "stats/writable_layer.h"

namespace lxe::stats {

struct StatsSources {
  CgroupReader cgroups;
  CpuRates cpu;
  // Null where nothing measures writable layers (some tests): container stats then carry none.
  std::unique_ptr<WritableLayerUsage> writable_layers;
};

}  // namespace lxe::stats
