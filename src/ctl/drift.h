// `lxe-ctl diff`: what the store expects of LXD against what LXD has. A pure function from the
// store's records and LXD's lists to drift items, unit-tested without LXD.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lxd/types.h"
#include "store/records.h"

namespace lxe::ctl {

enum class DriftKind {
  Missing,  // an object the store expects is not in LXD
  Unknown,  // an LXD object marked as lxe's that the store does not know
  Foreign,  // the LXD object of that name carries another lxe ID (or kind)
  State,    // LXD's running state contradicts the store's observed state
  Limits,   // managed limits.* differ from the record's resources
  Device,   // a device lxe adds is missing
};
std::string_view to_string(DriftKind kind);

struct DriftItem {
  DriftKind kind;
  std::string object_kind;  // "sandbox", "container", or for unknown objects "instance" / "profile"
  std::string id;           // CRI ID; for unknown objects the user.lxe.id they carry (may be "")
  std::string name;         // pod or container name ("" for unknown objects)
  std::string lxd_name;     // the LXD object concerned
  std::string aspect;       // what differs, for limits and devices: the key or device name
  std::string detail;       // one line for a person
  // Identifies the item across two passes (a difference counts only when it persists).
  std::string key() const;
};

struct StoreSnapshot {
  std::vector<store::SandboxRecord> sandboxes;
  std::vector<store::ContainerRecord> containers;
};

struct LxdSnapshot {
  std::vector<lxd::Instance> instances;  // the instances marked user.lxe.managed=true
  std::vector<lxd::Profile> profiles;    // every profile (those not marked as lxe's are ignored)
};

struct DriftReport {
  std::vector<DriftItem> items;
  // Records not compared because lxe is still reconciling them (observed generation behind,
  // being removed, or not yet observed).
  std::vector<std::string> skipped;
  size_t sandboxes_compared = 0;
  size_t containers_compared = 0;
  size_t lxd_instances = 0;  // in scope
  size_t lxd_profiles = 0;   // marked as lxe's and in scope
};

// `lxd_name_prefix`: only LXD objects named "<prefix>-..." are this lxe's ("": all marked ones).
DriftReport find_drift(const StoreSnapshot& store, const LxdSnapshot& lxd, const std::string& lxd_name_prefix);

// The items of `later` that `earlier` also has (by key): drift that persisted.
DriftReport persistent_drift(const DriftReport& earlier, const DriftReport& later);

nlohmann::json drift_json(const DriftReport& report);

}  // namespace lxe::ctl
