// Between the sections: populating the node through lxe, and restarting lxe so that the next
// measurement is of a process serving a node of that size, not of the one that just created it.
#include <csignal>
#include <memory>
#include <mutex>
#include <thread>

#include "cri_client.h"
#include "host.h"
#include "parallel.h"
#include "progress.h"
#include "sections.h"

namespace lxe::bench {
namespace {

using namespace std::chrono_literals;

// A client per worker, made on first use, so that N workers are N connections.
class Clients {
 public:
  Clients(size_t workers, std::string socket) : clients_(workers), socket_(std::move(socket)) {}
  Cri& of(size_t worker) {
    if (!clients_[worker]) clients_[worker] = std::make_unique<Cri>(make_channel(socket_));
    return *clients_[worker];
  }

 private:
  std::vector<std::unique_ptr<Cri>> clients_;  // each touched by its worker only
  std::string socket_;
};

// Lets lxe's background work (the adoption pass of a fresh start) finish before anything is
// measured: an lxe that logs "adoption: ... queued" has looked at LXD once that line is there (the
// look may be slow LXD calls, during which lxe itself is idle); then waits until lxe used under
// 10% of a core over a whole second. At most 120 s for the line, 60 s for the rest.
void wait_lxe_idle(Node& node, const std::string& what) {
  const auto start = Clock::now();
  if (node.lxe_logs_adoption) {
    while (true) {
      node.interrupts.check();
      const std::string log = read_file(node.lxe.log_path());
      const auto at = log.find(" adoption: ");
      if (at != std::string::npos && log.find(" queued", at) != std::string::npos) break;
      if (ms_since(start) > 120000) {
        node.notes.push_back("lxe did not log its adoption within 120 s after a restart (" + what +
                             "); measured anyway");
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    note("  lxe adopted after %.1f s", ms_since(start) / 1000.0);
  }
  const auto idle_start = Clock::now();
  double cpu = cpu_seconds(node.lxe.pid());
  while (ms_since(idle_start) < 60000) {
    node.interrupts.check();
    std::this_thread::sleep_for(1s);
    const double now = cpu_seconds(node.lxe.pid());
    if (now - cpu < 0.1) {
      note("  lxe idle after %.1f s (%s)", ms_since(start) / 1000.0, what.c_str());
      return;
    }
    cpu = now;
  }
  node.notes.push_back("lxe did not become idle within 60 s after a restart (" + what + "); measured anyway");
}

}  // namespace

void populate_running(Node& node) {
  const Plan& plan = node.plan;
  note("populating: %d pods with %d started container(s) each", plan.pods, plan.running_per_pod);
  std::vector<PodInfo> made(plan.pods);
  const auto start = Clock::now();
  Clients clients(plan.workers, node.lxe.config().socket);
  const auto errors = parallel_for(
      plan.pods, plan.workers,
      [&](size_t i, size_t worker) {
        Cri& c = clients.of(worker);
        PodInfo& p = made[i];
        p.config = node.workload.pod("p" + std::to_string(i));
        p.id = c.run_pod(p.config);
        for (int j = 0; j < plan.running_per_pod; ++j) {
          const std::string id = c.create(p.id, node.workload.container("c" + std::to_string(j), p.config), p.config);
          c.start(id);
          p.running.push_back(id);
        }
      },
      &node.interrupts);
  for (auto& p : made)
    if (!p.id.empty()) node.pods.push_back(std::move(p));
  throw_if_errors(errors, "populating pods", node.interrupts);
  note("  done in %.1f s", ms_since(start) / 1000.0);
}

void populate_created(Node& node) {
  const Plan& plan = node.plan;
  note("populating: %d more container(s) per pod, created and not started", plan.created_per_pod);
  const auto start = Clock::now();
  auto& pods = node.pods;
  std::vector<std::vector<std::string>> made(pods.size());
  std::mutex made_mutex;
  const size_t per_pod = plan.created_per_pod;
  Clients clients(plan.workers, node.lxe.config().socket);
  // One item per container, so that the work spreads evenly.
  const auto errors = parallel_for(
      pods.size() * per_pod, plan.workers,
      [&](size_t i, size_t worker) {
        const size_t pod = i / per_pod, j = i % per_pod;
        const auto& p = pods[pod];
        const std::string name = "c" + std::to_string(plan.running_per_pod + j);
        const std::string id = clients.of(worker).create(p.id, node.workload.container(name, p.config), p.config);
        std::lock_guard lock(made_mutex);
        made[pod].push_back(id);
      },
      &node.interrupts);
  for (size_t i = 0; i < pods.size(); ++i)
    pods[i].created.insert(pods[i].created.end(), made[i].begin(), made[i].end());
  throw_if_errors(errors, "creating containers", node.interrupts);
  note("  done in %.1f s", ms_since(start) / 1000.0);
}

void restart_fresh(Node& node, const std::string& why) {
  note("restarting lxe (SIGTERM) %s", why.c_str());
  node.lxe.stop(SIGTERM);
  node.lxe.start(node.options.lxe_log_level);
  wait_lxe_idle(node, "its start-up adoption pass");
}

}  // namespace lxe::bench
