#include "run.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cri_client.h"
#include "host.h"
#include "lxd_sweep.h"
#include "parallel.h"
#include "progress.h"
#include "report.h"
#include "sections.h"

namespace lxe::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Run {
 public:
  Run(const Options& options, const Interrupts& interrupts)
      : options_(options),
        interrupts_(interrupts),
        plan_(make_plan(options)),
        lxd_(lxd::ClientOptions{.socket_path = find_lxd_socket(options.lxd_socket)}) {}

  int run();

 private:
  void setup();
  void sections();
  void cleanup();
  void hold();
  void stats(Node& n);
  Node node();

  const Options& options_;
  const Interrupts& interrupts_;
  const Plan plan_;
  lxd::Client lxd_;
  std::string tmp_;
  bool lxe_logs_adoption_ = false;
  std::unique_ptr<Workload> workload_;
  std::unique_ptr<LxeProcess> lxe_;
  std::unique_ptr<EchoServer> echo_;
  std::vector<PodInfo> pods_;
  Report report_;
};

Node Run::node() {
  return Node{options_, plan_, interrupts_, lxd_, *lxe_, *echo_, *workload_, pods_, tmp_, report_.notes,
              lxe_logs_adoption_};
}

void Run::setup() {
  report_.load_start = loadavg();
  const auto stale = sweep_stale(lxd_);
  if (stale.deleted + stale.dirs > 0)
    note("deleted %d LXD object(s) and %d scratch director(ies) left by killed runs", stale.deleted, stale.dirs);
  if (stale.failed > 0) note("could not delete %d object(s) left by killed runs", stale.failed);
  if (stale.unmarked > 0)
    note("%d unmarked lxebench- object(s) in LXD (left alone; lxe-bench --sweep-only --prefix ... removes them)",
         stale.unmarked);

  char tmpl[] = "/tmp/lxe-bench-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  tmp_ = tmpl;
  std::ofstream(tmp_ + "/bench.pid") << getpid() << "\n";
  ::chmod(tmp_.c_str(), 0755);  // the containers' root reaches its log and state directories
  fs::create_directories(tmp_ + "/logs");
  ::chmod((tmp_ + "/logs").c_str(), 0755);
  workload_ = std::make_unique<Workload>(tmp_, options_.image);

  if (!fs::exists(options_.lxe)) throw std::runtime_error("no lxe binary at " + options_.lxe + " (give --lxe)");
  // The run uses copies of lxe and lxe-init, so that a rebuild during the run (lxe is restarted
  // several times) cannot change what is measured halfway.
  const fs::path from = fs::path(options_.lxe).parent_path();
  fs::create_directories(tmp_ + "/bin");
  fs::copy_file(options_.lxe, tmp_ + "/bin/lxe");
  fs::copy_file(from / "lxe-init", tmp_ + "/bin/lxe-init");
  lxe_logs_adoption_ = read_file(tmp_ + "/bin/lxe").find("adoption: {} sandbox") != std::string::npos;

  report_.lxd_version = lxd_.server_info().server_version;
  try {
    lxd_.get_image_alias(options_.image);
  } catch (const lxd::Error& e) {
    throw std::runtime_error("the image alias '" + options_.image +
                             "' is missing in LXD (scripts/make-busybox-image.sh): " + e.what());
  }
  note("LXD %s; prefix %s; scratch directory %s", report_.lxd_version.c_str(), options_.prefix.c_str(), tmp_.c_str());
  note("storage pool: %s", options_.storage_pool.empty() ? "the default profile's" : options_.storage_pool.c_str());

  lxe_ = std::make_unique<LxeProcess>(LxeProcess::Config{
      .binary = tmp_ + "/bin/lxe",
      .socket = tmp_ + "/lxe.sock",
      .db = tmp_ + "/lxe.db",
      .lxd_socket = lxd_.options().socket_path,
      .prefix = options_.prefix,
      .log_dir = tmp_,
      .mark = std::to_string(getpid()),
      .extra_args = options_.storage_pool.empty() ? std::vector<std::string>{}
                                                  : std::vector<std::string>{"--storage-pool", options_.storage_pool},
  });
  lxe_->start(options_.lxe_log_level);
  echo_ = std::make_unique<EchoServer>(tmp_ + "/echo.sock");
  const auto version = Cri(lxe_->channel()).version();
  report_.lxe_version = version.runtime_version();
  echo_->service().set_version(version);
  note("lxe %s serving (pid %d); echo server on %s", report_.lxe_version.c_str(), lxe_->pid(),
       echo_->socket().c_str());
}

// The sections in their order: at 0 containers, then the lifecycle and concurrency sections on the
// empty node, then the running population (recovery, the hot path, stats), then the created
// containers.
void Run::sections() {
  Node n = node();
  hot_path(n, "0", report_);
  report_.footprint.push_back(footprint(n, "0", "fresh, after the hot path"));
  if (options_.phase("lifecycle")) report_.lifecycle = lifecycle(n);
  if (options_.phase("concurrency")) concurrency(n, report_);
  populate_running(n);
  const std::string running_label = std::to_string(n.containers());
  if (options_.phase("recovery")) {
    report_.recovery = recovery(n);
    restart_fresh(n, "after the recovery test (the recovered lxe logs at debug level)");
  }
  if (plan_.measure_running_size) {
    hot_path(n, running_label, report_);
    report_.footprint.push_back(footprint(n, running_label, "fresh restart, after the hot path"));
  }
  if (options_.phase("stats")) stats(n);
  // Without created containers the full size is the running size: measured already, unless the
  // mode skips that size.
  if (plan_.created_per_pod > 0 || !plan_.measure_running_size) {
    populate_created(n);
    const std::string full_label = std::to_string(n.containers());
    const int created = plan_.created_per_pod * static_cast<int>(pods_.size());
    report_.footprint.push_back(
        footprint(n, full_label, "the one that created the last " + std::to_string(created)));
    restart_fresh(n, "to measure a fresh process at " + full_label + " containers");
    hot_path(n, full_label, report_);
    report_.footprint.push_back(footprint(n, full_label, "fresh restart, after the hot path"));
  }
  report_.notes.push_back("containers: " + std::to_string(plan_.pods * plan_.running_per_pod) + " started (" +
                          std::to_string(plan_.running_per_pod) + " per pod, the recovery set) and " +
                          std::to_string(plan_.pods * plan_.created_per_pod) +
                          " created but not started; every pod's namespaces are held (pinned by lxe: the pods have kubelet's namespace modes)");
}

// 6. Stats, with at least --stats-containers running containers: pods of one are added for it if
// fewer run, and removed again after it.
void Run::stats(Node& n) {
  const auto added = populate_stats(n, plan_.stats_containers);
  stats_calls(n, report_);
  hot_path_polled(n, report_);
  remove_pods(n, added);
}

// --hold: keep lxe serving the full population a while (Ctrl-C ends it), to profile lxe.
void Run::hold() {
  if (options_.hold_s <= 0 || !lxe_ || !lxe_->running()) return;
  note("holding for %d s before cleaning up (Ctrl-C ends it): lxe pid %d, socket %s, log %s", options_.hold_s,
       lxe_->pid(), lxe_->config().socket.c_str(), lxe_->log_path().c_str());
  for (int i = 0; i < options_.hold_s * 10 && !interrupts_.requested(); ++i) std::this_thread::sleep_for(100ms);
}

// Every pod through lxe, then whatever LXD still has under the prefix, then the scratch directory.
void Run::cleanup() {
  note("cleaning up");
  if (lxe_ && lxe_->running()) {
    try {
      const auto pods = Cri(lxe_->channel()).list_pods();
      const auto errors = parallel_for(
          pods.items_size(), std::max(plan_.workers, 8),
          [&](size_t i, size_t) {
            Cri(make_channel(lxe_->config().socket)).remove_pod(pods.items(static_cast<int>(i)).id());
          },
          nullptr);
      for (const auto& e : errors) note("  RemovePodSandbox %s", e.c_str());
      note("  removed %d pod(s) through lxe", pods.items_size() - static_cast<int>(errors.size()));
    } catch (const std::exception& e) {
      note("  removing pods through lxe: %s", e.what());
    }
  }
  if (lxe_) lxe_->stop(SIGTERM);
  try {
    const int left = sweep(lxd_, options_.prefix);
    if (left > 0) note("  deleted %d LXD object(s) left under %s", left, options_.prefix.c_str());
  } catch (const std::exception& e) {
    note("  sweeping LXD: %s (run: lxe-bench --sweep-only --prefix %s)", e.what(), options_.prefix.c_str());
  }
  echo_.reset();
  if (tmp_.empty()) return;
  if (options_.keep_tmp) {
    note("  kept %s", tmp_.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

int Run::run() {
  int rc = 0;
  try {
    setup();
    sections();
  } catch (const Interrupted&) {
    report_.failure = "interrupted";
    rc = 130;
  } catch (const std::exception& e) {
    report_.failure = e.what();
    note("FAILED: %s", e.what());
    if (lxe_) note("lxe's log ends with:\n%s", lxe_->log_tail(2000).c_str());
    rc = 1;
  }
  report_.load_end = loadavg();
  hold();
  cleanup();
  struct utsname u {};
  uname(&u);
  report_.quick = plan_.quick;
  report_.started = utc_now();
  report_.machine = std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores (`nproc`), " + cpu_model() + ", " +
                    mem_total() + " RAM, Linux " + u.release;
  report_.image = options_.image;
  report_.header_notes = options_.notes;
  report_.lifecycle_iterations = plan_.lifecycle_iterations;
  if (!options_.peer_socket.empty()) report_.peer_name = options_.peer_name;
  report_.lifecycle_warmups = plan_.lifecycle_warmups;
  const std::string md = render_report(report_);
  std::cout << md << std::flush;
  if (!options_.out.empty()) std::ofstream(options_.out) << md;
  return rc;
}

}  // namespace

int run_bench(const Options& options, const Interrupts& interrupts) {
  try {
    Run run(options, interrupts);
    return run.run();
  } catch (const std::exception& e) {
    std::cerr << "lxe-bench: " << e.what() << "\n";
    return 1;
  }
}

int sweep_only(const Options& options) {
  try {
    const lxd::Client lxd(lxd::ClientOptions{.socket_path = find_lxd_socket(options.lxd_socket)});
    if (options.prefix_given) {
      const int n = sweep(lxd, options.prefix);
      if (n > 0) std::cerr << "lxe-bench: deleted " << n << " LXD object(s) under " << options.prefix << "\n";
      return 0;
    }
    const auto r = sweep_stale(lxd);
    std::cerr << "lxe-bench: deleted " << r.deleted << " LXD object(s) and " << r.dirs
              << " scratch director(ies) of dead runs; " << r.failed << " failure(s); " << r.unmarked
              << " unmarked lxebench- object(s) left alone\n";
    return r.failed > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "lxe-bench: sweep: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace lxe::bench
