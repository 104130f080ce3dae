// Between the sections: populating the node through lxe (and topping it up for the stats section),
// and restarting lxe so that the next measurement is of a process serving a node of that size, not
// of the one that just created it.
#include <csignal>
#include <memory>
#include <mutex>
#include <set>
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

// `count` pods named <name>0, <name>1, ... with `per_pod` started containers each, appended to
// node.pods (those that were made, also when some failed); returns their IDs.
std::vector<std::string> start_pods(Node& node, int count, int per_pod, const std::string& name) {
  const Plan& plan = node.plan;
  std::vector<PodInfo> made(count);
  Clients clients(plan.workers, node.lxe.config().socket);
  const auto errors = parallel_for(
      count, plan.workers,
      [&](size_t i, size_t worker) {
        Cri& c = clients.of(worker);
        PodInfo& p = made[i];
        p.config = node.workload.pod(name + std::to_string(i));
        p.id = c.run_pod(p.config);
        for (int j = 0; j < per_pod; ++j) {
          const std::string id = c.create(p.id, node.workload.container("c" + std::to_string(j), p.config), p.config);
          c.start(id);
          p.running.push_back(id);
        }
      },
      &node.interrupts);
  std::vector<std::string> ids;
  for (auto& p : made) {
    if (p.id.empty()) continue;
    ids.push_back(p.id);
    node.pods.push_back(std::move(p));
  }
  throw_if_errors(errors, "populating pods", node.interrupts);
  return ids;
}

}  // namespace

void populate_running(Node& node) {
  const Plan& plan = node.plan;
  note("populating: %d pods with %d started container(s) each", plan.pods, plan.running_per_pod);
  const auto start = Clock::now();
  start_pods(node, plan.pods, plan.running_per_pod, "p");
  note("  done in %.1f s", ms_since(start) / 1000.0);
}

std::vector<std::string> populate_stats(Node& node, int running) {
  int now = 0;
  for (const auto& p : node.pods) now += static_cast<int>(p.running.size());
  const int more = std::max(0, running - now);
  if (more == 0) return {};
  note("populating for the stats section: %d more pod(s) with one started container each (%d run)", more, now);
  const auto start = Clock::now();
  auto ids = start_pods(node, more, 1, "s");
  note("  done in %.1f s", ms_since(start) / 1000.0);
  return ids;
}

void remove_pods(Node& node, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  note("removing %zu pod(s) through lxe", ids.size());
  Clients clients(node.plan.workers, node.lxe.config().socket);
  std::vector<char> removed(ids.size(), 0);  // each item writes its own
  const auto errors = parallel_for(
      ids.size(), node.plan.workers,
      [&](size_t i, size_t worker) {
        clients.of(worker).remove_pod(ids[i]);
        removed[i] = 1;
      },
      &node.interrupts);
  // A pod that could not be removed stays in node.pods (the clean-up at the end removes every pod
  // lxe has).
  std::set<std::string> gone;
  for (size_t i = 0; i < ids.size(); ++i)
    if (removed[i]) gone.insert(ids[i]);
  std::erase_if(node.pods, [&](const PodInfo& p) { return gone.count(p.id) > 0; });
  throw_if_errors(errors, "removing pods", node.interrupts);
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
