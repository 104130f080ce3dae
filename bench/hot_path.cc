// 1. Hot path vs the limit: lxe's six polling RPCs against the bare gRPC round trip (the echo) and
// against the same reply served by a trivial server (the same-shape echo), in interleaved rounds.
#include <filesystem>
#include <fstream>

#include "cri_client.h"
#include "hot_calls.h"
#include "progress.h"
#include "sections.h"

namespace lxe::bench {
namespace {

namespace fs = std::filesystem;

// One thing measured: a call on a client, into its samples, with the CPU time of a process.
struct Target {
  Cri* client;
  const Call* call;
  Samples* samples;
  std::string what;
  pid_t pid;  // whose CPU time to count (-1: none)
  double* cpu_s;
};

// Interleaved rounds, so that a burst of load elsewhere on the machine hits every target alike;
// 50 warm-up calls per target first (connection, allocator, caches).
void measure(std::vector<Target>& targets, const Plan& plan, const Interrupts& interrupts) {
  constexpr int kRounds = 5;
  const int per_round = plan.hot_iterations / kRounds;
  const double budget_us = plan.hot_budget_s * 1e6 / kRounds;
  for (int round = 0; round < kRounds; ++round) {
    for (auto& t : targets) {
      interrupts.check();
      if (round == 0) {
        for (int i = 0; i < 50; ++i) {
          grpc::ClientContext ctx;
          set_deadline(ctx, kReadDeadline);
          (*t.call)(t.client->stub(), &ctx);
        }
      }
      const double cpu0 = t.pid > 0 ? cpu_seconds(t.pid) : 0;
      const auto round_start = Clock::now();
      for (int i = 0; i < per_round; ++i) {
        grpc::ClientContext ctx;
        set_deadline(ctx, kReadDeadline);
        const auto start = Clock::now();
        const grpc::Status status = (*t.call)(t.client->stub(), &ctx);
        const double us = us_since(start);
        if (!status.ok()) throw CallError(t.what + ": " + describe(status));
        t.samples->add(us);
        if (i >= 20 && us_since(round_start) > budget_us) break;
      }
      if (t.pid > 0) *t.cpu_s += cpu_seconds(t.pid) - cpu0;
    }
  }
}

}  // namespace

void hot_path(Node& node, const std::string& label, Report& report) {
  note("hot path at %s containers", label.c_str());
  Cri lxe(node.lxe.channel());

  const HotCalls calls(node.pods);

  // lxe's replies at this size, for the same-shape echo.
  const std::string replies = node.tmp + "/replies-" + label;
  fs::create_directories(replies);
  auto save = [&](const std::string& file, const google::protobuf::Message& m) {
    std::ofstream out(replies + "/" + file, std::ios::binary);
    out << m.SerializeAsString();
  };
  using Stub = cri::RuntimeService::Stub;
  save("version.pb", lxe.call<cri::VersionRequest, cri::VersionResponse>("Version", &Stub::Version, calls.version));
  save("status.pb", lxe.call<cri::StatusRequest, cri::StatusResponse>("Status", &Stub::Status, calls.status));
  save("list_pods.pb", lxe.list_pods());
  save("list_containers.pb", lxe.list_containers());
  if (calls.has_objects()) {
    save("pod_status.pb", lxe.call<cri::PodSandboxStatusRequest, cri::PodSandboxStatusResponse>(
                              "PodSandboxStatus", &Stub::PodSandboxStatus, calls.pod_status));
    save("container_status.pb", lxe.call<cri::ContainerStatusRequest, cri::ContainerStatusResponse>(
                                    "ContainerStatus", &Stub::ContainerStatus, calls.container_status));
  }
  EchoProcess echo_process(fs::read_symlink("/proc/self/exe").string(), node.tmp + "/echo-" + label + ".sock",
                           replies);
  Cri echo_in(make_channel(node.echo.socket()));
  Cri echo_out(make_channel(echo_process.socket()));

  const std::vector<Rpc>& rpcs = calls.rpcs();

  EchoRow& echo = report.echoes[label];
  double no_cpu = 0;
  std::vector<HotRow> rows(rpcs.size());
  std::vector<Target> targets;
  targets.push_back({&echo_in, &rpcs[0].call, &echo.in, "in-process echo Version", -1, &no_cpu});
  targets.push_back({&echo_out, &rpcs[0].call, &echo.out, "echo process Version", echo_process.pid(), &echo.out_cpu_s});
  for (size_t i = 0; i < rpcs.size(); ++i) {
    rows[i].rpc = rpcs[i].name;
    rows[i].size = label;
    rows[i].population = node.population();
    targets.push_back(
        {&lxe, &rpcs[i].call, &rows[i].lxe, "lxe " + rpcs[i].name, node.lxe.pid(), &rows[i].lxe_cpu_s});
    targets.push_back({&echo_out, &rpcs[i].call, &rows[i].shape, "echo process " + rpcs[i].name, echo_process.pid(),
                       &rows[i].shape_cpu_s});
  }
  measure(targets, node.plan, node.interrupts);
  for (auto& row : rows) {
    row.echo_in_p50 = echo.in.median();
    row.echo_out_p50 = echo.out.median();
    report.hot.push_back(std::move(row));
  }
}

}  // namespace lxe::bench
