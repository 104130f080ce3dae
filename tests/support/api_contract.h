// The behaviours of lxd::Api that lxe relies on, as one scenario run against any implementation:
// tests/integration runs it against lxd::Client and the real LXD, tests/unit against MemoryLxd, so
// the fake's claim to mirror LXD (memory_lxd.h) is checked, not just written down.
#pragma once

#include <string>

#include "lxd/api.h"

namespace lxe::test {

struct ContractObjects {
  std::string instance;  // names for the scenario to create (and delete again)
  std::string profile;
  std::string missing;   // a name nothing has
  std::string image_alias;  // an image that exists; its instances are started with raw.lxc's init
  lxd::Config marks;     // config every object made gets (the integration tests' sweep marker)
};

// CHECKs every behaviour in turn; leaves nothing behind when it passes.
void check_api_contract(const lxd::Api& api, const ContractObjects& objects);

}  // namespace lxe::test
