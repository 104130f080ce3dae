// What the CRI facade stands on: the layers below it, owned by the daemon.
#pragma once

#include <string>

namespace lxe::store {
class Store;
}
namespace lxe::lxd {
class Client;
class HealthMonitor;
}  // namespace lxe::lxd

namespace lxe::cri {

struct RuntimeContext {
  store::Store& store;
  const lxd::Client& lxd;
  lxd::HealthMonitor& lxd_health;
};

}  // namespace lxe::cri
