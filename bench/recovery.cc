// 4. Recovery: with the running population, kill -9 lxe and start it again at once. How soon it
// serves, how soon ListContainers is right, when its adoption pass is done (from its debug log),
// and whether any container or namespace holder was restarted (init PIDs before and after).
#include <csignal>
#include <set>
#include <thread>

#include "cri_client.h"
#include "host.h"
#include "lxd_sweep.h"
#include "lxe_log.h"
#include "progress.h"
#include "sections.h"

namespace lxe::bench {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::duration<double, std::milli>;

// Polls the restarted lxe until ListContainers answers with exactly `expected`, all running.
void wait_serving(Node& node, const std::set<std::string>& expected, Clock::time_point kill_at,
                  Clock::time_point spawn_at, RecoveryRow& row) {
  auto list_correct = [&](const cri::ListContainersResponse& r) {
    std::set<std::string> running;
    for (const auto& c : r.containers())
      if (c.state() == cri::CONTAINER_RUNNING) running.insert(c.id());
    return running == expected && static_cast<size_t>(r.containers_size()) == expected.size();
  };
  bool served = false;
  while (ms_since(kill_at) < 60000) {
    node.interrupts.check();
    if (!node.lxe.running()) throw std::runtime_error("lxe died after the restart: " + node.lxe.log_tail());
    if (!accepts_connections(node.lxe.config().socket)) {
      std::this_thread::sleep_for(200us);
      continue;
    }
    Cri c(make_channel(node.lxe.config().socket));
    grpc::ClientContext ctx;
    set_deadline(ctx, 2s);
    cri::ListContainersResponse r;
    const auto status = c.stub().ListContainers(&ctx, cri::ListContainersRequest(), &r);
    if (status.ok() && !served) {
      served = true;
      row.kill_to_serving_ms = ms_since(kill_at);
      row.spawn_to_serving_ms = ms_since(spawn_at);
    }
    if (status.ok() && list_correct(r)) {
      row.kill_to_list_ms = ms_since(kill_at);
      return;
    }
    std::this_thread::sleep_for(500us);
  }
  throw std::runtime_error("recovery: ListContainers was not correct within 60 s");
}

// Adoption, from the restarted lxe's debug log (each LXD request is logged when it has returned):
// lxe has looked at every LXD object of ours (each instance, each pod's profile) and acted on what
// it saw. An lxe that logs "adoption: ... queued" looks at everything with list calls and then
// queues every record; the queue's work shows as per-object requests. An older lxe GETs each
// object. Complete = the "queued" line (or, without it, every object read once), and then the last
// per-object request of the burst that follows (none for 1 s).
void wait_adopted(Node& node, const std::set<std::string>& objects, SysTime kill_sys, RecoveryRow& row) {
  AdoptionLog adoption;
  const auto deadline = Clock::now() + 180s;
  while (true) {
    node.interrupts.check();
    if (Clock::now() > deadline) {
      row.note = "adoption not seen complete within 180 s (" + std::to_string(adoption.first_read.size()) + "/" +
                 std::to_string(objects.size()) + " objects read one by one" +
                 (adoption.queued_at ? ", after the \"queued\" line" : ", no \"queued\" line") + ")";
      break;
    }
    adoption = read_adoption(read_file(node.lxe.log_path()), objects);
    std::optional<SysTime> latest = adoption.queued_at;
    if (adoption.last_object_request && (!latest || *adoption.last_object_request > *latest))
      latest = adoption.last_object_request;
    const bool quiet = latest && std::chrono::system_clock::now() - *latest > 1s;
    if (adoption.looked(objects.size()) && quiet) break;
    std::this_thread::sleep_for(10ms);
  }
  if (const auto done = adoption.done(objects.size())) row.kill_to_adopted_ms = Ms(*done - kill_sys).count();
  if (adoption.queued_at) {
    row.adoption = "lxe looked at LXD with list calls before queueing every record";
    if (!adoption.list_calls.empty()) {
      row.adoption += " (";
      for (size_t i = 0; i < adoption.list_calls.size(); ++i) row.adoption += (i ? "; " : "") + adoption.list_calls[i];
      row.adoption += ")";
    }
    row.adoption += ", then read " + std::to_string(adoption.first_read.size()) + " of its " +
                    std::to_string(objects.size()) + " objects one by one";
  } else {
    row.adoption = "lxe read each of its " + std::to_string(objects.size()) + " objects one by one";
  }
}

}  // namespace

RecoveryRow recovery(Node& node) {
  RecoveryRow row;
  std::set<std::string> expected;
  for (const auto& p : node.pods)
    for (const auto& id : p.running) expected.insert(id);
  row.running = static_cast<int>(expected.size());
  row.holders = static_cast<int>(node.pods.size());
  note("recovery: kill -9 of lxe with %d running containers in %d pods", row.running, row.holders);

  const auto names = instances_with_prefix(node.lxd, node.options.prefix);
  std::set<std::string> container_names;
  {
    Cri c(node.lxe.channel());
    for (const auto& id : expected) container_names.insert(c.container_info(id).value("lxdInstance", ""));
    const auto list = c.list_containers();
    bool correct = static_cast<size_t>(list.containers_size()) == expected.size();
    for (const auto& ctr : list.containers())
      correct = correct && ctr.state() == cri::CONTAINER_RUNNING && expected.count(ctr.id());
    if (!correct) throw std::runtime_error("recovery: ListContainers is not as expected before the kill");
  }
  const auto before = init_pids(node.lxd, names);
  node.interrupts.check();

  const auto kill_sys = std::chrono::system_clock::now();
  const auto kill_at = Clock::now();
  node.lxe.stop(SIGKILL);
  const auto spawn_at = Clock::now();
  const auto spawn_sys = std::chrono::system_clock::now();
  node.lxe.spawn("debug");  // debug: lxe logs every LXD request, which tells when adoption is done
  wait_serving(node, expected, kill_at, spawn_at, row);

  std::set<std::string> objects;  // "/1.0/instances/<name>", "/1.0/profiles/<name>"
  for (const auto& n : names) objects.insert("/1.0/instances/" + n);
  for (const auto& p : node.lxd.list_profiles())
    if (has_prefix(p.name, node.options.prefix)) objects.insert("/1.0/profiles/" + p.name);
  wait_adopted(node, objects, kill_sys, row);

  // Where the start-up time went: lxe's first log line (the store is open), and the line it writes
  // once the gRPC server listens.
  if (const auto startup = read_startup(read_file(node.lxe.log_path())); startup.first && startup.serving)
    row.startup = "spawn → lxe's first log line (store open) " + num(Ms(*startup.first - spawn_sys).count(), 0) +
                  " ms → gRPC server listening " + num(Ms(*startup.serving - spawn_sys).count(), 0) + " ms";

  // Records: every generation observed, no error.
  {
    Cri c(node.lxe.channel());
    auto count = [&](const nlohmann::json& info) {
      if (info.value("generation", -1) != info.value("observedGeneration", -2)) ++row.generation_mismatch;
      if (!info.value("lastError", std::string()).empty()) ++row.last_errors;
    };
    for (const auto& id : expected) count(c.container_info(id));
    for (const auto& p : node.pods) count(c.pod_info(p.id));
  }
  const auto after = init_pids(node.lxd, names);
  for (const auto& name : names) {
    if (before.at(name) < 0 || after.at(name) < 0) {
      ++row.pid_unknown;
      continue;
    }
    if (before.at(name) != 0 && before.at(name) == after.at(name)) continue;
    if (container_names.count(name)) ++row.restarted_containers;
    else ++row.restarted_holders;
  }
  note("  serving after %.0f ms, ListContainers correct after %.0f ms, adopted after %.0f ms; restarted: %d "
       "container(s), %d holder(s)",
       row.kill_to_serving_ms, row.kill_to_list_ms, row.kill_to_adopted_ms, row.restarted_containers,
       row.restarted_holders);
  return row;
}

}  // namespace lxe::bench
