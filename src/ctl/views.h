// What lxe-ctl shows of the store's records: CRI states as kubelet sees them, list filters, ID
// lookup, and each record as JSON (for --json/--output yaml) and as table rows or key/value text;
// for top, the usage two cgroup reads tell, summed per pod and sorted. Pure functions over records
// and reads; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/args.h"
#include "ctl/render.h"
#include "lxd/types.h"
#include "stats/cgroup_stats.h"
#include "store/records.h"

namespace lxe::ctl {

// As src/cri/translate.cc derives them: SANDBOX_READY / SANDBOX_NOTREADY, CONTAINER_CREATED / ...
std::string cri_state(const store::SandboxRecord& s);
std::string cri_state(const store::ContainerRecord& c);

// "sha256:<fingerprint>", as CRI reports image refs; "" for none.
std::string cri_image_ref(const std::string& fingerprint);

bool matches(const store::SandboxRecord& s, const ListFilters& f);
// `pod` is the container's sandbox, nullptr when the store has none (it always has: foreign key).
bool matches(const store::ContainerRecord& c, const store::SandboxRecord* pod, const ListFilters& f);

// ---- lists

nlohmann::json sandbox_json(const store::SandboxRecord& s, size_t container_count);
nlohmann::json container_json(const store::ContainerRecord& c, const store::SandboxRecord* pod);
Table sandbox_table(const std::vector<store::SandboxRecord>& sandboxes, const std::vector<size_t>& container_counts,
                    int64_t now_ns);
Table container_table(const std::vector<store::ContainerRecord>& containers,
                      const std::vector<const store::SandboxRecord*>& pods, int64_t now_ns);

// ---- lookup: a full ID, a unique prefix of one, or an LXD name

struct Target {
  store::ObjectKind kind;
  std::string id;
};
struct LookupError {
  std::string message;
  bool ambiguous = false;
};
// Nothing found is a LookupError too ("no pod sandbox or container with ID ..."); the message of
// an ambiguous prefix names the candidates. `history` adds objects known only from the event log
// (removed ones).
std::variant<Target, LookupError> resolve_target(const std::string& wanted,
                                                 const std::vector<store::SandboxRecord>& sandboxes,
                                                 const std::vector<store::ContainerRecord>& containers,
                                                 const std::vector<Target>& history = {});

// ---- show

// What `show --lxd` read from LXD about the object (instance and, for a sandbox, the profile).
struct LxdLive {
  std::optional<lxd::Instance> instance;  // nullopt: LXD has no instance of that name
  std::optional<bool> profile_exists;     // sandboxes only
};

nlohmann::json sandbox_detail_json(const store::SandboxRecord& s, const std::vector<store::ContainerRecord>& containers,
                                   const std::vector<store::ReconcileEvent>& recent_events,
                                   const std::optional<LxdLive>& live);
nlohmann::json container_detail_json(const store::ContainerRecord& c, const store::SandboxRecord* pod,
                                     const std::vector<store::ReconcileEvent>& recent_events,
                                     const std::optional<LxdLive>& live);
std::string sandbox_detail_text(const store::SandboxRecord& s, const std::vector<store::ContainerRecord>& containers,
                                const std::vector<store::ReconcileEvent>& recent_events,
                                const std::optional<LxdLive>& live, int64_t now_ns, bool color);
std::string container_detail_text(const store::ContainerRecord& c, const store::SandboxRecord* pod,
                                  const std::vector<store::ReconcileEvent>& recent_events,
                                  const std::optional<LxdLive>& live, int64_t now_ns, bool color);

// The record's resources as CRI reports them (LinuxContainerResources in protobuf's JSON form,
// camelCase, every field), or null when none were given.
nlohmann::json resources_json(const store::ContainerRecord& c);

// ---- events

nlohmann::json event_json(const store::ReconcileEvent& e);
// Fixed-width lines, so that followed events line up with the ones printed before them.
std::string event_header(bool color);
std::string event_line(const store::ReconcileEvent& e, bool color);

// ---- top: containers' CPU and memory from two reads of their cgroups

// One read of a container's cgroup and when it was taken (a monotonic clock, nanoseconds).
struct CgroupRead {
  stats::CgroupSample sample;
  int64_t at_ns = 0;
};

// What top shows of a container, or of a pod (the sum of its containers).
struct Usage {
  bool measured = false;               // the cgroup was there at the second read: it runs
  std::optional<uint64_t> nano_cores;  // CPU use between the two reads; none when it cannot be told
  uint64_t cpu_usage_ns = 0;           // the rest as of the second read; zeros when not measured
  uint64_t working_set = 0;
  uint64_t memory_usage = 0;
  uint64_t rss = 0;
  uint64_t page_faults = 0;
  uint64_t major_page_faults = 0;
  uint64_t pids = 0;
};

// The CPU rate is computed as the CRI facade computes usage_nano_cores (stats::CpuRates): none when
// the first read found no cgroup (it started in between) or the counter went back (it restarted).
Usage usage_between(const CgroupRead& first, const CgroupRead& second);

struct ContainerTop {
  store::ContainerRecord container;
  const store::SandboxRecord* pod = nullptr;  // nullptr when the store has none
  Usage usage;
};

struct PodTop {
  std::string sandbox_id;
  const store::SandboxRecord* pod = nullptr;
  size_t containers = 0;  // rows summed
  Usage usage;            // measured when one of them is; a CPU rate when one of them has one
};

// One PodTop per pod that has rows, in the order of `sandboxes` (pods missing from it last).
std::vector<PodTop> pod_totals(const std::vector<ContainerTop>& rows,
                               const std::vector<store::SandboxRecord>& sandboxes);

// Largest first; rows without the value (not measured, no rate) last; ties keep their order.
void sort_top(std::vector<ContainerTop>& rows, TopSort by);
void sort_top(std::vector<PodTop>& rows, TopSort by);

Table top_table(const std::vector<ContainerTop>& rows);
Table pod_top_table(const std::vector<PodTop>& rows);
nlohmann::json top_json(const ContainerTop& row);
nlohmann::json pod_top_json(const PodTop& row);

}  // namespace lxe::ctl
