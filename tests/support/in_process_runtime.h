// lxe's RuntimeService in the test's own process, over a fresh store and a fake LXD, with a
// reconciler that is never started: for handler behaviour that needs the store and LXD to disagree
// in ways real LXD cannot be made to hold still for (a container the store saw running that LXD
// has stopped, a stored record that cannot be read). A call that waits on the reconciler gives up
// after 2 s (RuntimeContext::max_wait): nothing moves a record unless the test does. Everything
// real LXD can show, the integration tests show with real LXD.
#pragma once

#include <string>

#include "cri/runtime_service.h"
#include "lxd/client.h"
#include "lxd/health.h"
#include "reconcile/host_files.h"
#include "reconcile/reconciler.h"
#include "reconcile/volumes.h"
#include "images/catalog.h"
#include "store/registry.h"
#include "store/store.h"
#include "support/fake_lxd.h"
#include "support/temp_dir.h"

namespace lxe::test {

class InProcessRuntime {
 public:
  // Stores one ready pod sandbox (sandbox_id) and one running container (container_id, LXD
  // instance kContainerInstance) in it, as lxe last saw them.
  InProcessRuntime();

  static constexpr const char* kContainerInstance = "lxe-web-app-0123456789ab";
  const std::string sandbox_id = std::string(64, 's');
  const std::string container_id = std::string(64, 'c');

  TempDir dir;
  FakeLxd lxd;
  store::Store store;
  store::Registry registry;
  reconcile::HostFiles files;
  // Volumes as on a host without idmapped mounts: the fake LXD has no PID to compare namespaces with.
  reconcile::Volumes volumes;
  lxd::Client client;
  lxd::HealthMonitor health;
  reconcile::Reconciler reconciler;  // never started
  images::ImageCatalog catalog;
  cri::RuntimeService service;
};

}  // namespace lxe::test
