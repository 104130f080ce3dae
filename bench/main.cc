// lxe-bench: measures a freshly started lxe against the real LXD and against the physical limits
// of this machine, and prints a markdown report. See docs/benchmarks.md.
//
//   lxe-bench [--quick] [--lxe PATH] [--lxd-socket PATH] [--prefix lxebench-XXXXXX] [--out FILE]
//   lxe-bench --sweep-only [--prefix lxebench-XXXXXX]
//
// Everything it makes in LXD is named <prefix>-...: lxe's objects (lxe runs with
// --lxd-name-prefix <prefix>) and the ones it makes itself for the raw-LXD comparison. Each carries
// user.lxe.test-pid=<PID of this lxe-bench>. At the end, and on failure or SIGINT/SIGTERM, it
// removes every pod through lxe and then deletes whatever LXD still has under the prefix. At the
// start it deletes the objects of earlier runs whose lxe-bench is gone (lxebench-<6 hex>-... with
// a dead PID in the mark). Nothing else in LXD is touched.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "echo_server.h"
#include "lxd/client.h"
#include "lxe_process.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/naming.h"
#include "runtime/v1/api.grpc.pb.h"
#include "stats.h"

namespace lxe::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---------------------------------------------------------------- interrupts

std::atomic<bool> g_interrupted{false};

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted by a signal") {}
};

void check_interrupt() {
  if (g_interrupted.load()) throw Interrupted();
}

// SIGINT/SIGTERM/SIGHUP are blocked in every thread (the mask is set before any thread exists)
// and taken here: the first asks the bench to stop and clean up, a second one exits at once.
std::string g_prefix_for_messages;

void signal_thread(sigset_t set) {
  int count = 0;
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (++count == 1) {
      std::fprintf(stderr, "\n[bench] %s: stopping; cleaning up (a second signal exits without cleaning up)\n",
                   strsignal(sig));
      g_interrupted = true;
    } else {
      std::fprintf(stderr,
                   "\n[bench] %s again: exiting now. Remove what is left with:\n  lxe-bench --sweep-only --prefix %s\n",
                   strsignal(sig), g_prefix_for_messages.c_str());
      _exit(130);
    }
  }
}

// ---------------------------------------------------------------- small helpers

const Clock::time_point g_start = Clock::now();

template <typename... Args>
void note(const char* format, Args... args) {
  std::fprintf(stderr, "[bench %6.1fs] ", ms_since(g_start) / 1000.0);
  if constexpr (sizeof...(Args) == 0) {
    std::fputs(format, stderr);
  } else {
    std::fprintf(stderr, format, args...);
  }
  std::fputc('\n', stderr);
}

std::string random_hex(int digits) {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard lock(mutex);
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[rng() & 0xf]);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string loadavg() {
  std::istringstream in(read_file("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " / " + b + " / " + c;
}

std::string cpu_model() {
  std::istringstream in(read_file("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return trim(line.substr(line.find(':') + 1));
  return "unknown";
}

std::string mem_total() {
  std::istringstream in(read_file("/proc/meminfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("MemTotal:", 0) == 0) return num(std::stod(line.substr(9)) / 1024.0 / 1024.0, 1) + " GiB";
  return "?";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

std::string kib(int64_t bytes) { return num(static_cast<double>(bytes) / 1024.0, 0) + " KiB"; }
std::string mib_of_kb(int64_t kb) { return num(static_cast<double>(kb) / 1024.0, 1) + " MiB"; }

// Runs fn(i) for i in [0, n) on `threads` threads. Exceptions are collected, one line per item; no
// new item is taken after an interrupt unless `uninterruptible`.
std::vector<std::string> parallel_for(size_t n, size_t threads, const std::function<void(size_t)>& fn,
                                      bool uninterruptible = false) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<std::thread> pool;
  for (size_t t = 0; t < std::min(threads, n); ++t) {
    pool.emplace_back([&] {
      while (true) {
        if (!uninterruptible && g_interrupted.load()) return;
        const size_t i = next++;
        if (i >= n) return;
        try {
          fn(i);
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          errors.push_back("#" + std::to_string(i) + ": " + e.what());
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return errors;
}

void throw_if_errors(const std::vector<std::string>& errors, const std::string& what) {
  check_interrupt();
  if (errors.empty()) return;
  std::string text = what + ": " + std::to_string(errors.size()) + " failure(s): " + errors.front();
  throw std::runtime_error(text);
}

// ---------------------------------------------------------------- CRI client

namespace cri = ::runtime::v1;

std::string describe(const grpc::Status& status) {
  static const char* const kNames[] = {"OK",        "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",   "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                       "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",      "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int code = static_cast<int>(status.error_code());
  const std::string name = code >= 0 && code <= 16 ? kNames[code] : std::to_string(code);
  return status.error_message().empty() ? name : name + ": " + status.error_message();
}

struct CallError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void context_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds d) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

constexpr auto kLifecycleDeadline = std::chrono::seconds(180);
constexpr auto kReadDeadline = std::chrono::seconds(10);

class Cri {
 public:
  explicit Cri(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)), stub_(cri::RuntimeService::NewStub(channel_)) {}

  cri::RuntimeService::Stub& stub() { return *stub_; }

  template <typename Req, typename Resp, typename Fn>
  Resp call(const char* what, Fn fn, const Req& request, std::chrono::milliseconds deadline) {
    grpc::ClientContext ctx;
    context_deadline(ctx, deadline);
    Resp response;
    const grpc::Status status = (stub_.get()->*fn)(&ctx, request, &response);
    if (!status.ok()) throw CallError(std::string(what) + ": " + describe(status));
    return response;
  }

  std::string run_pod(const cri::PodSandboxConfig& config) {
    cri::RunPodSandboxRequest r;
    *r.mutable_config() = config;
    return call<cri::RunPodSandboxRequest, cri::RunPodSandboxResponse>(
               "RunPodSandbox", &cri::RuntimeService::Stub::RunPodSandbox, r, kLifecycleDeadline)
        .pod_sandbox_id();
  }
  std::string create(const std::string& pod_id, const cri::ContainerConfig& config,
                     const cri::PodSandboxConfig& pod_config) {
    cri::CreateContainerRequest r;
    r.set_pod_sandbox_id(pod_id);
    *r.mutable_config() = config;
    *r.mutable_sandbox_config() = pod_config;
    return call<cri::CreateContainerRequest, cri::CreateContainerResponse>(
               "CreateContainer", &cri::RuntimeService::Stub::CreateContainer, r, kLifecycleDeadline)
        .container_id();
  }
  void start(const std::string& id) {
    cri::StartContainerRequest r;
    r.set_container_id(id);
    call<cri::StartContainerRequest, cri::StartContainerResponse>(
        "StartContainer", &cri::RuntimeService::Stub::StartContainer, r, kLifecycleDeadline);
  }
  void stop(const std::string& id, int64_t timeout) {
    cri::StopContainerRequest r;
    r.set_container_id(id);
    r.set_timeout(timeout);
    call<cri::StopContainerRequest, cri::StopContainerResponse>(
        "StopContainer", &cri::RuntimeService::Stub::StopContainer, r, kLifecycleDeadline);
  }
  void remove(const std::string& id) {
    cri::RemoveContainerRequest r;
    r.set_container_id(id);
    call<cri::RemoveContainerRequest, cri::RemoveContainerResponse>(
        "RemoveContainer", &cri::RuntimeService::Stub::RemoveContainer, r, kLifecycleDeadline);
  }
  void remove_pod(const std::string& id) {
    cri::RemovePodSandboxRequest r;
    r.set_pod_sandbox_id(id);
    call<cri::RemovePodSandboxRequest, cri::RemovePodSandboxResponse>(
        "RemovePodSandbox", &cri::RuntimeService::Stub::RemovePodSandbox, r, kLifecycleDeadline);
  }
  cri::ListPodSandboxResponse list_pods() {
    return call<cri::ListPodSandboxRequest, cri::ListPodSandboxResponse>(
        "ListPodSandbox", &cri::RuntimeService::Stub::ListPodSandbox, cri::ListPodSandboxRequest(), kReadDeadline);
  }
  cri::ListContainersResponse list_containers() {
    return call<cri::ListContainersRequest, cri::ListContainersResponse>(
        "ListContainers", &cri::RuntimeService::Stub::ListContainers, cri::ListContainersRequest(), kReadDeadline);
  }
  nlohmann::json container_info(const std::string& id) {
    cri::ContainerStatusRequest r;
    r.set_container_id(id);
    r.set_verbose(true);
    const auto resp = call<cri::ContainerStatusRequest, cri::ContainerStatusResponse>(
        "ContainerStatus", &cri::RuntimeService::Stub::ContainerStatus, r, kReadDeadline);
    const auto it = resp.info().find("info");
    return it == resp.info().end() ? nlohmann::json::object() : nlohmann::json::parse(it->second);
  }
  nlohmann::json pod_info(const std::string& id) {
    cri::PodSandboxStatusRequest r;
    r.set_pod_sandbox_id(id);
    r.set_verbose(true);
    const auto resp = call<cri::PodSandboxStatusRequest, cri::PodSandboxStatusResponse>(
        "PodSandboxStatus", &cri::RuntimeService::Stub::PodSandboxStatus, r, kReadDeadline);
    const auto it = resp.info().find("info");
    return it == resp.info().end() ? nlohmann::json::object() : nlohmann::json::parse(it->second);
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<cri::RuntimeService::Stub> stub_;
};

// ---------------------------------------------------------------- LXD helpers

bool has_prefix(const std::string& name, const std::string& prefix) { return name.rfind(prefix + "-", 0) == 0; }

bool valid_bench_prefix(const std::string& prefix) {
  return std::regex_match(prefix, std::regex("lxebench-[0-9a-f]{6}"));
}

std::vector<std::string> instances_with_prefix(const lxd::Client& lxd, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& instance : lxd.list_instances())
    if (has_prefix(instance.name, prefix)) names.push_back(instance.name);
  return names;
}

// Who made an LXD object named lxebench-...: every object of a run carries
// user.lxe.test-pid=<PID of its lxe-bench> (lxe sets it through LXE_TEST_MARK, the raw-LXD side
// through its own mapping options), so a later run can tell the leftovers of a killed run.
constexpr const char* kMarkKey = "user.lxe.test-pid";
const std::regex& bench_name_re() {
  static const std::regex re("lxebench-[0-9a-f]{6}-.*");
  return re;
}

enum class Owner { Unmarked, Ours, Dead, Alive, Foreign };

// Whether `pid` is a live lxe-bench (a PID reused by another program counts as dead).
bool bench_process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm == "lxe-bench";
}

Owner owner_of(const lxd::Config& config) {
  const auto it = config.find(kMarkKey);
  if (it == config.end()) return Owner::Unmarked;
  if (it->second.empty() || it->second.find_first_not_of("0123456789") != std::string::npos || it->second.size() > 9)
    return Owner::Foreign;
  const pid_t pid = static_cast<pid_t>(std::stol(it->second));
  if (pid == getpid()) return Owner::Ours;
  return bench_process_alive(pid) ? Owner::Alive : Owner::Dead;
}

// Force-stops and deletes `instances`, then deletes `profiles`. Returns how many it deleted;
// `failed` counts the objects it could not delete.
int delete_objects(const lxd::Client& lxd, const std::vector<std::string>& instances,
                   const std::vector<std::string>& profiles, int* failed = nullptr) {
  std::atomic<int> deleted{0}, failures{0};
  parallel_for(
      instances.size(), 8,
      [&](size_t i) {
        try {
          lxd.stop_instance(instances[i], lxd::StopMode::Force);
        } catch (const lxd::Error&) {
        }
        try {
          lxd.delete_instance(instances[i]);
          ++deleted;
        } catch (const lxd::Error& e) {
          if (e.kind() != lxd::ErrorKind::NotFound) {
            note("sweep: deleting instance %s: %s", instances[i].c_str(), e.what());
            ++failures;
          }
        }
      },
      true);
  for (const auto& name : profiles) {
    try {
      lxd.delete_profile(name);
      ++deleted;
    } catch (const lxd::Error& e) {
      if (e.kind() != lxd::ErrorKind::NotFound) {
        note("sweep: deleting profile %s: %s", name.c_str(), e.what());
        ++failures;
      }
    }
  }
  if (failed) *failed = failures.load();
  return deleted.load();
}

// Deletes every instance, then every profile, named <prefix>-..., unless it is marked as made by
// another lxe-bench that is still running. Objects of other prefixes are never touched. Returns
// how many objects it deleted.
int sweep(const lxd::Client& lxd, const std::string& prefix) {
  if (!valid_bench_prefix(prefix)) throw std::runtime_error("refusing to sweep prefix '" + prefix + "'");
  std::vector<std::string> instances, profiles;
  int alive = 0;
  for (const auto& instance : lxd.list_instances()) {
    if (!has_prefix(instance.name, prefix)) continue;
    const Owner o = owner_of(instance.config);
    if (o == Owner::Alive || o == Owner::Foreign) ++alive;
    else instances.push_back(instance.name);
  }
  for (const auto& profile : lxd.list_profiles()) {
    if (!has_prefix(profile.name, prefix)) continue;
    const Owner o = owner_of(profile.config);
    if (o == Owner::Alive || o == Owner::Foreign) ++alive;
    else profiles.push_back(profile.name);
  }
  if (alive > 0) note("sweep: %d object(s) under %s belong to a running lxe-bench: left alone", alive, prefix.c_str());
  return delete_objects(lxd, instances, profiles);
}

// The leftovers of killed runs: objects named lxebench-<6 hex>-... whose mark names a process that
// is not a live lxe-bench, and then the scratch directories (/tmp/lxe-bench-*) of such runs.
// Unmarked lxebench- objects (made by no version of this program that marks) are counted and left
// alone: `lxe-bench --sweep-only --prefix lxebench-XXXXXX` removes them.
struct StaleSweep {
  int deleted = 0, failed = 0, unmarked = 0, dirs = 0;
};

StaleSweep sweep_stale(const lxd::Client& lxd) {
  StaleSweep out;
  std::vector<std::string> instances, profiles;
  for (const auto& instance : lxd.list_instances()) {
    if (!std::regex_match(instance.name, bench_name_re())) continue;
    const Owner o = owner_of(instance.config);
    if (o == Owner::Dead) instances.push_back(instance.name);
    if (o == Owner::Unmarked) ++out.unmarked;
  }
  for (const auto& profile : lxd.list_profiles()) {
    if (!std::regex_match(profile.name, bench_name_re())) continue;
    const Owner o = owner_of(profile.config);
    if (o == Owner::Dead) profiles.push_back(profile.name);
    if (o == Owner::Unmarked) ++out.unmarked;
  }
  out.deleted = delete_objects(lxd, instances, profiles, &out.failed);
  if (out.failed > 0) return out;  // their state directories may still be in use
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("lxe-bench-", 0) != 0 || !entry.is_directory()) continue;
    std::ifstream in(entry.path() / "bench.pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid == getpid() || bench_process_alive(pid)) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (!rm) ++out.dirs;
  }
  return out;
}

// Init PIDs (from LXD's /state, 100-170 ms each, 8 at a time) of `names`; 0 for an instance that
// is not running or not there, -1 when LXD did not tell. (A list with recursion=2 asks LXD for every state at once, and at
// 200 running instances it did not answer within 30 s on a loaded 2-core machine.)
std::map<std::string, int64_t> init_pids(const lxd::Client& lxd, const std::vector<std::string>& names) {
  std::map<std::string, int64_t> pids;
  std::mutex mutex;
  parallel_for(
      names.size(), 8,
      [&](size_t i) {
        int64_t pid = 0;
        try {
          pid = lxd.get_instance_state(names[i]).pid;
        } catch (const lxd::Error& e) {
          if (e.kind() != lxd::ErrorKind::NotFound) {
            note("/state of %s: %s", names[i].c_str(), e.what());
            pid = -1;
          }
        }
        std::lock_guard lock(mutex);
        pids[names[i]] = pid;
      },
      true);
  return pids;
}

// The LXD socket: the given one, or the first of the usual two that exists. Waits up to 60 s for
// one to appear (LXD may be restarting).
std::string find_lxd_socket(const std::string& given) {
  const auto deadline = Clock::now() + 60s;
  while (true) {
    if (!given.empty() && fs::exists(given)) return given;
    if (given.empty())
      for (const char* c : {"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket"})
        if (fs::exists(c)) return c;
    if (Clock::now() > deadline)
      throw std::runtime_error(given.empty() ? "no LXD socket found; give --lxd-socket" : "no LXD socket at " + given);
    std::this_thread::sleep_for(500ms);
  }
}

// ---------------------------------------------------------------- options

struct Options {
  bool quick = false;
  bool sweep_only = false;
  bool prefix_given = false;
  bool keep_tmp = false;
  int hold_s = 0;  // --hold: before cleaning up, keep everything this long (to profile lxe)
  std::string lxe;  // default: next to this binary
  std::string lxd_socket;
  std::string prefix;
  std::string out;
  std::string image = "busybox";
  std::string lxe_log_level = "info";  // of the measured lxe (debug: to see where its time goes)
  std::vector<int> clients;  // concurrency levels
  std::set<std::string> skip;  // phases not to run: lifecycle, concurrency, recovery
  std::vector<std::string> notes;  // --note: lines for the report's header (bench.sh: the commit)
  int pods = -1, running_per_pod = -1, created_per_pod = -1;  // -1: the mode's
  bool phase(const std::string& name) const { return !skip.count(name); }
};

std::string usage() {
  return "usage: lxe-bench [--quick] [--lxe PATH] [--lxd-socket PATH] [--prefix lxebench-XXXXXX]\n"
         "                 [--clients 1,8,32] [--image ALIAS] [--out FILE] [--keep-tmp]\n"
         "                 [--lxe-log-level LEVEL] [--skip lifecycle,concurrency,recovery]\n"
         "                 [--pods N] [--running-per-pod N] [--created-per-pod N] [--note TEXT]\n"
         "                 [--hold SECONDS]\n"
         "       lxe-bench --sweep-only [--prefix lxebench-XXXXXX]\n"
         "  --sweep-only alone deletes the LXD objects (and /tmp/lxe-bench-* directories) of earlier runs\n"
         "  whose lxe-bench is gone; with --prefix, everything under that prefix not held by a live run.\n";
}

Options parse_options(int argc, char** argv) {
  Options o;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") o.quick = true;
    else if (a == "--full") o.quick = false;
    else if (a == "--sweep-only") o.sweep_only = true;
    else if (a == "--keep-tmp") o.keep_tmp = true;
    else if (a == "--hold") o.hold_s = std::stoi(value(i));
    else if (a == "--lxe") o.lxe = value(i);
    else if (a == "--lxd-socket") o.lxd_socket = value(i);
    else if (a == "--prefix") {
      o.prefix = value(i);
      o.prefix_given = true;
    }
    else if (a == "--out") o.out = value(i);
    else if (a == "--image") o.image = value(i);
    else if (a == "--lxe-log-level") o.lxe_log_level = value(i);
    else if (a == "--note") o.notes.push_back(value(i));
    else if (a == "--pods") o.pods = std::stoi(value(i));
    else if (a == "--running-per-pod") o.running_per_pod = std::stoi(value(i));
    else if (a == "--created-per-pod") o.created_per_pod = std::stoi(value(i));
    else if (a == "--skip") {
      std::stringstream in(value(i));
      std::string part;
      while (std::getline(in, part, ',')) {
        if (part != "lifecycle" && part != "concurrency" && part != "recovery")
          throw std::invalid_argument("--skip takes lifecycle, concurrency and recovery");
        o.skip.insert(part);
      }
    }
    else if (a == "--clients") {
      std::stringstream in(value(i));
      std::string part;
      while (std::getline(in, part, ',')) o.clients.push_back(std::stoi(part));
    } else if (a == "-h" || a == "--help") {
      std::cout << usage();
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + a);
    }
  }
  if (o.prefix.empty()) o.prefix = "lxebench-" + random_hex(6);
  if (!valid_bench_prefix(o.prefix)) throw std::invalid_argument("--prefix must be lxebench-<6 hex digits>");
  if (o.clients.empty()) o.clients = o.quick ? std::vector<int>{1, 4} : std::vector<int>{1, 8, 32};
  if (o.lxe.empty()) o.lxe = (fs::read_symlink("/proc/self/exe").parent_path() / "lxe").string();
  return o;
}

// What each mode does.
struct Plan {
  int hot_iterations;         // calls per target and size (in 5 rounds)
  double hot_budget_s;        // ... or at most this long per target and size
  int lifecycle_iterations;   // measured lxe and raw lifecycles each (plus one warm-up of each)
  double idle_window_s;       // lxe's idle CPU is measured over this
  int pods;                   // pods of the populated sizes
  int running_per_pod;        // started containers per pod (the recovery set)
  int created_per_pod;        // more containers per pod, created and not started
  bool measure_running_size;  // hot path and footprint at pods*running_per_pod too
  int workers;                // parallel clients for populating and cleaning up
  int lifecycle_warmups;       // unmeasured lifecycles of each kind first
  int lifecycles_per_client(int clients) const {
    return quick ? 1 : std::max(1, 16 / clients);
  }
  bool quick;
};

Plan plan_for(bool quick) {
  if (quick) return Plan{500, 1.0, 1, 1.0, 5, 2, 2, false, 5, 0, true};
  return Plan{5000, 6.0, 10, 5.0, 100, 1, 9, true, 8, 1, false};
}

// ---------------------------------------------------------------- requests

struct PodInfo {
  std::string id;
  cri::PodSandboxConfig config;
  std::vector<std::string> running;  // container IDs, started
  std::vector<std::string> created;  // container IDs, created only
};

// ---------------------------------------------------------------- the bench

class Bench {
 public:
  Bench(Options options)
      : opt_(std::move(options)),
        plan_(plan_for(opt_.quick)),
        lxd_(lxd::ClientOptions{.socket_path = find_lxd_socket(opt_.lxd_socket)}) {
    if (opt_.pods >= 0) plan_.pods = opt_.pods;
    if (opt_.running_per_pod >= 0) plan_.running_per_pod = opt_.running_per_pod;
    if (opt_.created_per_pod >= 0) plan_.created_per_pod = opt_.created_per_pod;
  }

  int run();

 private:
  // phases
  void setup();
  void hot_path(const std::string& label);
  void footprint(const std::string& label, const std::string& what);
  void lifecycle();
  void concurrency();
  void populate_running();
  void populate_created();
  void recovery();
  void restart_fresh(const std::string& why);
  void wait_lxe_idle(const std::string& what);
  void cleanup();
  std::string report() const;

  // requests
  cri::PodSandboxConfig pod_config(const std::string& name) const;
  cri::ContainerConfig container_config(const std::string& name, const cri::PodSandboxConfig& pod,
                                        const std::string& image) const;
  int containers_now() const;
  std::string population() const;

  Options opt_;
  Plan plan_;
  lxd::Client lxd_;
  std::string tmp_;
  std::string lxe_binary_;  // the copy the run uses
  bool lxe_logs_adoption_ = false;  // it logs "adoption: N sandbox(es) and M container(s) queued"
  std::unique_ptr<LxeProcess> lxe_;
  std::unique_ptr<EchoServer> echo_;
  std::vector<PodInfo> pods_;
  std::string lxd_version_, lxe_version_;
  std::string load_start_, load_end_;

  // report parts
  struct HotRow {
    std::string rpc;
    std::string size;
    std::string population;  // "100 running, 900 created"
    Samples lxe, shape;  // shape: the echo process answering lxe's reply
    double lxe_cpu_s = 0, shape_cpu_s = 0;  // CPU time of the whole process during the calls
    double echo_in_p50 = 0, echo_out_p50 = 0;
    double lxe_cpu_us() const { return lxe_cpu_s * 1e6 / static_cast<double>(std::max<size_t>(1, lxe.size())); }
    double shape_cpu_us() const { return shape_cpu_s * 1e6 / static_cast<double>(std::max<size_t>(1, shape.size())); }
  };
  std::vector<HotRow> hot_rows_;
  struct EchoRow {
    Samples in, out;  // Version: in this process, in a process of its own
    double out_cpu_s = 0;
  };
  std::map<std::string, EchoRow> echo_rows_;  // by size
  struct LifeRow {
    std::string call, raw_steps;
    Samples lxe, raw;
    Samples lxe_in_lxd;    // lxe's LXD requests during the call (ms, from its debug log)
    Samples lxe_own;       // the call minus those: lxe, gRPC and the store
    Samples lxe_requests;  // how many LXD requests lxe made for the call
  };
  std::vector<LifeRow> life_rows_;
  struct ConcRow {
    int clients = 0, lifecycles = 0, errors = 0;
    double wall_s = 0;
    Samples lifecycle_ms;
    std::map<std::string, Samples> calls_ms;
    std::vector<std::string> error_texts;
  };
  std::vector<ConcRow> conc_rows_;
  struct RecoveryRow {
    int running = 0, holders = 0;
    double kill_to_serving_ms = 0, kill_to_list_ms = 0, kill_to_adopted_ms = 0, spawn_to_serving_ms = 0;
    int restarted_containers = 0, restarted_holders = 0;
    int generation_mismatch = 0, last_errors = 0;
    int pid_unknown = 0;  // instances whose /state LXD did not give
    std::string note, startup, adoption;
  };
  std::optional<RecoveryRow> recovery_;
  struct FootRow {
    std::string label, what;
    int containers = 0, pods = 0;
    Memory mem;
    int64_t db = 0, wal = 0, shm = 0;
    double idle_cpu_pct = 0;
  };
  std::vector<FootRow> foot_rows_;
  std::vector<std::string> notes_;
  std::string failure_;
};

cri::PodSandboxConfig Bench::pod_config(const std::string& name) const {
  cri::PodSandboxConfig c;
  auto* m = c.mutable_metadata();
  m->set_name(name);
  m->set_namespace_("bench");
  m->set_uid(random_hex(8) + "-" + random_hex(4) + "-" + random_hex(4) + "-" + random_hex(4) + "-" + random_hex(12));
  m->set_attempt(0);
  c.set_log_directory(tmp_ + "/logs/bench_" + name + "_" + m->uid());
  // What kubelet puts there, so that the messages have their usual size.
  auto& labels = *c.mutable_labels();
  labels["io.kubernetes.pod.name"] = name;
  labels["io.kubernetes.pod.namespace"] = "bench";
  labels["io.kubernetes.pod.uid"] = m->uid();
  labels["app"] = "bench";
  auto& annotations = *c.mutable_annotations();
  annotations["kubernetes.io/config.seen"] = "2026-01-01T00:00:00.000000000Z";
  annotations["kubernetes.io/config.source"] = "api";
  return c;
}

cri::ContainerConfig Bench::container_config(const std::string& name, const cri::PodSandboxConfig& pod,
                                             const std::string& image) const {
  cri::ContainerConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_attempt(0);
  c.mutable_image()->set_image(image);
  c.add_command("sleep");
  c.add_args("3600");
  c.set_log_path(name + "/0.log");
  auto& labels = *c.mutable_labels();
  labels["io.kubernetes.container.name"] = name;
  labels["io.kubernetes.pod.name"] = pod.metadata().name();
  labels["io.kubernetes.pod.namespace"] = pod.metadata().namespace_();
  labels["io.kubernetes.pod.uid"] = pod.metadata().uid();
  auto& annotations = *c.mutable_annotations();
  annotations["io.kubernetes.container.hash"] = "5f3c2a1b";
  annotations["io.kubernetes.container.restartCount"] = "0";
  annotations["io.kubernetes.container.terminationMessagePath"] = "/dev/termination-log";
  annotations["io.kubernetes.container.terminationMessagePolicy"] = "File";
  annotations["io.kubernetes.pod.terminationGracePeriod"] = "30";
  // The resources kubelet sets for a container without requests or limits (BestEffort).
  auto* resources = c.mutable_linux()->mutable_resources();
  resources->set_cpu_period(100000);
  resources->set_cpu_shares(2);
  resources->set_oom_score_adj(1000);
  // The mounts kubelet gives every container (the pod's /etc/hosts, the termination log, the
  // service account token), with host files laid out as kubelet lays them out.
  const std::string pod_dir = tmp_ + "/pods/" + pod.metadata().uid();
  const std::string hosts = pod_dir + "/etc-hosts";
  const std::string termination = pod_dir + "/containers/" + name + "/" + random_hex(8);
  const std::string token = pod_dir + "/volumes/kubernetes.io~projected/kube-api-access-" + random_hex(5);
  fs::create_directories(fs::path(termination).parent_path());
  fs::create_directories(token);
  if (!fs::exists(hosts)) std::ofstream(hosts) << "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
  std::ofstream(termination).flush();
  std::ofstream(token + "/namespace") << pod.metadata().namespace_();
  std::ofstream(token + "/token") << random_hex(64);
  auto add_mount = [&](const std::string& in_container, const std::string& on_host, bool readonly) {
    auto* m = c.add_mounts();
    m->set_container_path(in_container);
    m->set_host_path(on_host);
    m->set_readonly(readonly);
  };
  add_mount("/etc/hosts", hosts, false);
  add_mount("/dev/termination-log", termination, false);
  // Kubelet mounts the token at /var/run/secrets/...; in the busybox image (as in most images)
  // /var/run is a symlink to /run, and LXC refuses to mount through a symlink ("Too many levels of
  // symbolic links"): the start fails. The same mount at /run/... works.
  add_mount("/run/secrets/kubernetes.io/serviceaccount", token, true);
  return c;
}

// How the containers are made up now: "100 running, 900 created (not started)".
std::string Bench::population() const {
  int running = 0, created = 0;
  for (const auto& p : pods_) {
    running += static_cast<int>(p.running.size());
    created += static_cast<int>(p.created.size());
  }
  if (running + created == 0) return "none";
  std::string out = std::to_string(running) + " running";
  if (created > 0) out += ", " + std::to_string(created) + " created (not started)";
  return out + ", in " + std::to_string(pods_.size()) + " pods";
}

int Bench::containers_now() const {
  int n = 0;
  for (const auto& p : pods_) n += static_cast<int>(p.running.size() + p.created.size());
  return n;
}

// ---------------------------------------------------------------- setup

void Bench::setup() {
  load_start_ = loadavg();
  {
    const auto stale = sweep_stale(lxd_);
    if (stale.deleted + stale.dirs > 0)
      note("deleted %d LXD object(s) and %d scratch director(ies) left by killed runs", stale.deleted, stale.dirs);
    if (stale.failed > 0) note("could not delete %d object(s) left by killed runs", stale.failed);
    if (stale.unmarked > 0)
      note("%d unmarked lxebench- object(s) in LXD (left alone; lxe-bench --sweep-only --prefix ... removes them)",
           stale.unmarked);
  }
  char tmpl[] = "/tmp/lxe-bench-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  tmp_ = tmpl;
  std::ofstream(tmp_ + "/bench.pid") << getpid() << "\n";
  ::chmod(tmp_.c_str(), 0755);  // the containers' root reaches its log and state directories
  fs::create_directories(tmp_ + "/logs");
  ::chmod((tmp_ + "/logs").c_str(), 0755);

  if (!fs::exists(opt_.lxe)) throw std::runtime_error("no lxe binary at " + opt_.lxe + " (give --lxe)");
  // The run uses copies of lxe and lxe-init, so that a rebuild during the run (lxe is restarted
  // several times) cannot change what is measured halfway.
  {
    const fs::path from = fs::path(opt_.lxe).parent_path();
    fs::create_directories(tmp_ + "/bin");
    fs::copy_file(opt_.lxe, tmp_ + "/bin/lxe");
    fs::copy_file(from / "lxe-init", tmp_ + "/bin/lxe-init");
    lxe_binary_ = tmp_ + "/bin/lxe";
    lxe_logs_adoption_ = read_file(lxe_binary_).find("adoption: {} sandbox") != std::string::npos;
  }
  const auto info = lxd_.server_info();
  lxd_version_ = info.server_version;
  try {
    lxd_.get_image_alias(opt_.image);
  } catch (const lxd::Error& e) {
    throw std::runtime_error("the image alias '" + opt_.image + "' is missing in LXD (scripts/make-busybox-image.sh): " +
                             e.what());
  }
  note("LXD %s; prefix %s; scratch directory %s", lxd_version_.c_str(), opt_.prefix.c_str(), tmp_.c_str());

  lxe_ = std::make_unique<LxeProcess>(LxeProcess::Config{
      .binary = lxe_binary_,
      .socket = tmp_ + "/lxe.sock",
      .db = tmp_ + "/lxe.db",
      .lxd_socket = lxd_.options().socket_path,
      .prefix = opt_.prefix,
      .log_dir = tmp_,
      .mark = std::to_string(getpid()),
  });
  lxe_->start(opt_.lxe_log_level);
  echo_ = std::make_unique<EchoServer>(tmp_ + "/echo.sock");
  Cri c(lxe_->channel());
  const auto version = c.call<cri::VersionRequest, cri::VersionResponse>(
      "Version", &cri::RuntimeService::Stub::Version, cri::VersionRequest(), kReadDeadline);
  lxe_version_ = version.runtime_version();
  echo_->service().set_version(version);
  note("lxe %s serving (pid %d); echo server on %s", lxe_version_.c_str(), lxe_->pid(), echo_->socket().c_str());
}

// ---------------------------------------------------------------- 1. hot path

void Bench::hot_path(const std::string& label) {
  note("hot path at %s containers", label.c_str());
  Cri lxe(lxe_->channel());

  cri::VersionRequest version_req;
  version_req.set_version("0.1.0");
  cri::StatusRequest status_req;
  cri::ListPodSandboxRequest list_pods_req;
  cri::ListContainersRequest list_containers_req;
  cri::PodSandboxStatusRequest pod_status_req;
  cri::ContainerStatusRequest container_status_req;

  // lxe's replies at this size, for the same-shape echo.
  const std::string replies = tmp_ + "/replies-" + label;
  fs::create_directories(replies);
  auto save = [&](const std::string& file, const google::protobuf::Message& m) {
    std::ofstream out(replies + "/" + file, std::ios::binary);
    out << m.SerializeAsString();
  };
  save("version.pb", lxe.call<cri::VersionRequest, cri::VersionResponse>(
                         "Version", &cri::RuntimeService::Stub::Version, version_req, kReadDeadline));
  save("status.pb", lxe.call<cri::StatusRequest, cri::StatusResponse>("Status", &cri::RuntimeService::Stub::Status,
                                                                       status_req, kReadDeadline));
  save("list_pods.pb", lxe.list_pods());
  save("list_containers.pb", lxe.list_containers());
  const bool have_objects = !pods_.empty() && !(pods_[pods_.size() / 2].running.empty() &&
                                                pods_[pods_.size() / 2].created.empty());
  if (have_objects) {
    const auto& pod = pods_[pods_.size() / 2];
    pod_status_req.set_pod_sandbox_id(pod.id);
    container_status_req.set_container_id(!pod.running.empty() ? pod.running.front() : pod.created.front());
    save("pod_status.pb", lxe.call<cri::PodSandboxStatusRequest, cri::PodSandboxStatusResponse>(
                              "PodSandboxStatus", &cri::RuntimeService::Stub::PodSandboxStatus, pod_status_req,
                              kReadDeadline));
    save("container_status.pb", lxe.call<cri::ContainerStatusRequest, cri::ContainerStatusResponse>(
                                    "ContainerStatus", &cri::RuntimeService::Stub::ContainerStatus,
                                    container_status_req, kReadDeadline));
  }
  EchoProcess echo_process(fs::read_symlink("/proc/self/exe").string(), tmp_ + "/echo-" + label + ".sock", replies);
  Cri echo_in(make_channel(echo_->socket()));
  Cri echo_out(make_channel(echo_process.socket()));

  using Call = std::function<grpc::Status(cri::RuntimeService::Stub&, grpc::ClientContext*)>;
  struct Rpc {
    std::string name;
    Call call;
  };
  std::vector<Rpc> rpcs = {
      {"Version",
       [&](auto& s, auto* ctx) {
         cri::VersionResponse r;
         return s.Version(ctx, version_req, &r);
       }},
      {"Status",
       [&](auto& s, auto* ctx) {
         cri::StatusResponse r;
         return s.Status(ctx, status_req, &r);
       }},
      {"ListPodSandbox",
       [&](auto& s, auto* ctx) {
         cri::ListPodSandboxResponse r;
         return s.ListPodSandbox(ctx, list_pods_req, &r);
       }},
      {"ListContainers",
       [&](auto& s, auto* ctx) {
         cri::ListContainersResponse r;
         return s.ListContainers(ctx, list_containers_req, &r);
       }},
  };
  if (have_objects) {
    rpcs.push_back({"PodSandboxStatus", [&](auto& s, auto* ctx) {
                      cri::PodSandboxStatusResponse r;
                      return s.PodSandboxStatus(ctx, pod_status_req, &r);
                    }});
    rpcs.push_back({"ContainerStatus", [&](auto& s, auto* ctx) {
                      cri::ContainerStatusResponse r;
                      return s.ContainerStatus(ctx, container_status_req, &r);
                    }});
  }

  struct Target {
    Cri* client;
    const Call* call;
    Samples* samples;
    std::string what;
    pid_t pid;         // whose CPU time to count (-1: none)
    double* cpu_s;
  };
  EchoRow& echo = echo_rows_[label];
  double no_cpu = 0;
  std::vector<HotRow> rows(rpcs.size());
  std::vector<Target> targets;
  targets.push_back({&echo_in, &rpcs[0].call, &echo.in, "in-process echo Version", -1, &no_cpu});
  targets.push_back({&echo_out, &rpcs[0].call, &echo.out, "echo process Version", echo_process.pid(), &echo.out_cpu_s});
  for (size_t i = 0; i < rpcs.size(); ++i) {
    rows[i].rpc = rpcs[i].name;
    rows[i].size = label;
    rows[i].population = population();
    targets.push_back({&lxe, &rpcs[i].call, &rows[i].lxe, "lxe " + rpcs[i].name, lxe_->pid(), &rows[i].lxe_cpu_s});
    targets.push_back({&echo_out, &rpcs[i].call, &rows[i].shape, "echo process " + rpcs[i].name,
                       echo_process.pid(), &rows[i].shape_cpu_s});
  }

  // Interleaved rounds, so that a burst of load elsewhere on the machine hits every target alike.
  constexpr int kRounds = 5;
  const int per_round = plan_.hot_iterations / kRounds;
  const double budget_us = plan_.hot_budget_s * 1e6 / kRounds;
  for (int round = 0; round < kRounds; ++round) {
    for (auto& t : targets) {
      check_interrupt();
      if (round == 0) {  // warm-up: connection, allocator, caches
        for (int i = 0; i < 50; ++i) {
          grpc::ClientContext ctx;
          context_deadline(ctx, kReadDeadline);
          (*t.call)(t.client->stub(), &ctx);
        }
      }
      const double cpu0 = t.pid > 0 ? cpu_seconds(t.pid) : 0;
      const auto round_start = Clock::now();
      for (int i = 0; i < per_round; ++i) {
        grpc::ClientContext ctx;
        context_deadline(ctx, kReadDeadline);
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
  for (auto& row : rows) {
    row.echo_in_p50 = echo.in.median();
    row.echo_out_p50 = echo.out.median();
    hot_rows_.push_back(std::move(row));
  }
}

// ---------------------------------------------------------------- 5. footprint

void Bench::footprint(const std::string& label, const std::string& what) {
  FootRow row;
  row.label = label;
  row.what = what;
  row.containers = containers_now();
  row.pods = static_cast<int>(pods_.size());
  const double cpu0 = cpu_seconds(lxe_->pid());
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(plan_.idle_window_s));
  row.idle_cpu_pct = (cpu_seconds(lxe_->pid()) - cpu0) / (ms_since(t0) / 1000.0) * 100.0;
  row.mem = memory_of(lxe_->pid());
  const std::string db = lxe_->config().db;
  row.db = file_size(db);
  row.wal = file_size(db + "-wal");
  row.shm = file_size(db + "-shm");
  note("footprint at %s: VmRSS %s, VmHWM %s, store %s + wal %s, idle CPU %s%%", label.c_str(),
       mib_of_kb(row.mem.rss_kb).c_str(), mib_of_kb(row.mem.hwm_kb).c_str(), kib(row.db).c_str(),
       kib(row.wal).c_str(), num(row.idle_cpu_pct).c_str());
  foot_rows_.push_back(row);
}

// ---------------------------------------------------------------- lxe's debug log

namespace {

// The time of a log line of lxe ("2026-11-22T10:40:52.658+00:00 debug ..."), on the system clock.
std::optional<std::chrono::system_clock::time_point> log_time(const std::string& line) {
  int y, mo, d, h, mi, s, ms;
  char sign = 0;
  int consumed = 0;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%n", &y, &mo, &d, &h, &mi, &s, &ms, &sign,
                  &consumed) != 8)
    return std::nullopt;
  int oh = 0, om = 0;
  const char* rest = line.c_str() + consumed;
  if (std::sscanf(rest, "%2d:%2d", &oh, &om) != 2 && std::sscanf(rest, "%2d%2d", &oh, &om) != 2) return std::nullopt;
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  std::time_t tt = timegm(&t);
  const int offset = oh * 3600 + om * 60;
  tt += sign == '+' ? -offset : offset;
  return std::chrono::system_clock::from_time_t(tt) + std::chrono::milliseconds(ms);
}

// One LXD request lxe made, from its debug log ("... debug lxd GET /1.0/x -> 200 (1.9 ms)").
struct LxdRequest {
  std::chrono::system_clock::time_point end;
  double ms = 0;
  std::string method, path;
  // The health check (GET /1.0), the resync's list and the event stream run beside the calls.
  bool background() const {
    return path == "/1.0" || path.rfind("/1.0/instances?", 0) == 0 || path.rfind("/1.0/events", 0) == 0;
  }
};

std::vector<LxdRequest> lxd_requests_in_log(const std::string& log_path) {
  std::vector<LxdRequest> out;
  std::istringstream log(read_file(log_path));
  std::string line;
  static const std::regex re(R"( debug lxd (\S+) (\S+) -> \d+ \(([0-9.]+) ms\))");
  std::smatch m;
  while (std::getline(log, line)) {
    if (line.find(" debug lxd ") == std::string::npos || !std::regex_search(line, m, re)) continue;
    const auto t = log_time(line);
    if (!t) continue;
    out.push_back(LxdRequest{*t, std::stod(m[3].str()), m[1].str(), m[2].str()});
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- 2. lifecycle vs raw LXD

void Bench::lifecycle() {
  note("lifecycle: %d lxe and %d raw-LXD lifecycles, interleaved, after %d warm-up(s) of each",
       plan_.lifecycle_iterations, plan_.lifecycle_iterations, plan_.lifecycle_warmups);
  // lxe at debug level for this phase: its log of every LXD request it makes (with the time each
  // took) splits each CRI call into LXD's time and lxe's own, whatever LXD's variance.
  if (opt_.lxe_log_level != "debug") {
    lxe_->stop(SIGTERM);
    lxe_->start("debug");
  }
  struct CallWindow {
    std::string name;
    std::chrono::system_clock::time_point start, end;
    double ms;
  };
  std::vector<CallWindow> windows;
  Cri c(lxe_->channel());
  const std::vector<std::string> calls = {"RunPodSandbox", "CreateContainer", "StartContainer",
                                          "StopContainer", "RemoveContainer", "RemovePodSandbox"};
  std::map<std::string, Samples> lxe_ms, raw_ms;

  // The raw side builds exactly the LXD objects lxe builds, with lxe's own mapping code (same
  // profile, devices, raw.lxc, spec.json, host files), and makes the same LXD calls the reconciler
  // makes for a fresh object, without the store, the queue or gRPC.
  const reconcile::HostFiles files(tmp_ + "/raw");
  reconcile::make_dirs(files.root());
  files.install_init_binary(tmp_ + "/bin/lxe-init");
  reconcile::MappingOptions mapping;
  mapping.extra_config[kMarkKey] = std::to_string(getpid());

  Samples lxe_total, raw_total;
  for (int i = 0; i < plan_.lifecycle_warmups + plan_.lifecycle_iterations; ++i) {
    const bool warmup = i < plan_.lifecycle_warmups;
    double lxe_sum = 0, raw_sum = 0;
    // lxe
    {
      check_interrupt();
      const auto pod = pod_config("l" + std::to_string(i));
      const auto ctr = container_config("c", pod, opt_.image);
      auto timed = [&](const std::string& name, const std::function<void()>& fn) {
        const auto sys_start = std::chrono::system_clock::now();
        const auto start = Clock::now();
        fn();
        const double ms = ms_since(start);
        lxe_sum += ms;
        if (!warmup) {
          lxe_ms[name].add(ms);
          windows.push_back({name, sys_start, std::chrono::system_clock::now(), ms});
        }
      };
      std::string pod_id, id;
      timed("RunPodSandbox", [&] { pod_id = c.run_pod(pod); });
      try {
        timed("CreateContainer", [&] { id = c.create(pod_id, ctr, pod); });
        timed("StartContainer", [&] { c.start(id); });
        timed("StopContainer", [&] { c.stop(id, 0); });
        timed("RemoveContainer", [&] { c.remove(id); });
      } catch (...) {
        try {
          c.remove_pod(pod_id);
        } catch (...) {
        }
        throw;
      }
      timed("RemovePodSandbox", [&] { c.remove_pod(pod_id); });
    }
    // raw LXD
    {
      check_interrupt();
      const auto pod = pod_config("r" + std::to_string(i));
      const auto ctr = container_config("c", pod, opt_.image);
      store::SandboxRecord s;
      s.id = reconcile::new_id();
      s.name = pod.metadata().name();
      s.namespace_ = pod.metadata().namespace_();
      s.uid = pod.metadata().uid();
      s.lxd_name = reconcile::sandbox_lxd_name(opt_.prefix, s.name, s.id);
      s.config_json = reconcile::to_json(pod);
      store::ContainerRecord k;
      k.id = reconcile::new_id();
      k.sandbox_id = s.id;
      k.name = ctr.metadata().name();
      k.lxd_name = reconcile::container_lxd_name(opt_.prefix, s.name, k.name, k.id);
      k.image = ctr.image().image();
      k.config_json = reconcile::to_json(ctr);
      k.log_path = pod.log_directory() + "/" + ctr.log_path();

      auto timed = [&](const std::string& name, const std::function<void()>& fn) {
        const auto start = Clock::now();
        fn();
        const double ms = ms_since(start);
        raw_sum += ms;
        if (!warmup) raw_ms[name].add(ms);
      };
      timed("RunPodSandbox", [&] {
        lxd_.create_profile(reconcile::sandbox_profile(s, pod, files, mapping));
        lxd_.get_image_alias(mapping.pause_image_alias);
        lxd_.create_instance(reconcile::infra_instance(s, pod, files, mapping));
        lxd_.start_instance(s.lxd_name);
        s.infra_pid = lxd_.get_instance_state(s.lxd_name).pid;
      });
      timed("CreateContainer", [&] {
        k.image_ref = lxd_.get_image_alias(k.image).target;
        const std::string dir = files.container_dir(k.id);
        reconcile::make_dirs(dir);
        reconcile::write_file_atomic(dir + "/spec.json", reconcile::init_spec(k, ctr, s, pod).dump(2), 0644);
        reconcile::make_dirs(fs::path(k.log_path).parent_path().string());
        reconcile::write_file_atomic(k.log_path, "", 0640);
        lxd_.create_instance(reconcile::container_instance(k, ctr, s, pod, files, mapping));
        const auto [uid, gid] = reconcile::root_host_ids(lxd_.get_instance(k.lxd_name));
        reconcile::change_owner(dir, uid, gid);
        reconcile::change_owner(k.log_path, uid, gid);
      });
      timed("StartContainer", [&] { lxd_.start_instance(k.lxd_name); });
      timed("StopContainer", [&] { lxd_.stop_instance(k.lxd_name, lxd::StopMode::Force); });
      timed("RemoveContainer", [&] {
        lxd_.delete_instance(k.lxd_name);
        files.remove_container_dir(k.id);
      });
      timed("RemovePodSandbox", [&] {
        lxd_.stop_instance(s.lxd_name, lxd::StopMode::Force);
        lxd_.delete_instance(s.lxd_name);
        lxd_.delete_profile(s.lxd_name);
        files.remove_sandbox_dir(s.id);
      });
    }
    if (!warmup) {
      lxe_total.add(lxe_sum);
      raw_total.add(raw_sum);
    }
  }
  const std::map<std::string, std::string> raw_steps = {
      {"RunPodSandbox", "create profile, GET pause alias, create holder, start, GET /state (init PID)"},
      {"CreateContainer", "GET image alias, spec.json + log file, create instance, GET instance (idmap), chown"},
      {"StartContainer", "start"},
      {"StopContainer", "stop (force)"},
      {"RemoveContainer", "delete instance"},
      {"RemovePodSandbox", "stop holder (force), delete holder, delete profile"},
  };
  // lxe's LXD requests inside each call's window (ms resolution in the log: 1 ms of slack). The
  // reconciler's workers may overlap requests (an LXD event re-queues an object beside the call's
  // own work): LXD's share is the union of the requests' intervals, not their sum.
  const auto requests = lxd_requests_in_log(lxe_->log_path());
  auto split = [&](const CallWindow& win, double& in_lxd, int& count) {
    using Ms = std::chrono::duration<double, std::milli>;
    std::vector<std::pair<double, double>> spans;  // ms since the window's start
    for (const auto& r : requests) {
      if (r.background() || r.end + 1ms < win.start || r.end > win.end + 1ms) continue;
      const double end = std::min(Ms(r.end - win.start).count(), win.ms);
      spans.push_back({std::max(0.0, end - r.ms), end});
      ++count;
    }
    std::sort(spans.begin(), spans.end());
    double covered = 0, cur_start = -1, cur_end = -1;
    for (const auto& [a, b] : spans) {
      if (a > cur_end) {
        if (cur_end > cur_start) covered += cur_end - cur_start;
        cur_start = a;
        cur_end = b;
      } else {
        cur_end = std::max(cur_end, b);
      }
    }
    if (cur_end > cur_start) covered += cur_end - cur_start;
    in_lxd = covered;
  };
  std::map<std::string, Samples> own_ms, lxd_ms, lxd_count;
  Samples own_total, lxd_total, count_total;
  for (size_t w = 0; w + calls.size() <= windows.size(); w += calls.size()) {
    double own = 0, in_lxd_sum = 0, n_sum = 0;
    for (size_t k = 0; k < calls.size(); ++k) {
      const auto& win = windows[w + k];
      double in_lxd = 0;
      int n = 0;
      split(win, in_lxd, n);
      own_ms[win.name].add(win.ms - in_lxd);
      lxd_ms[win.name].add(in_lxd);
      lxd_count[win.name].add(n);
      own += win.ms - in_lxd;
      in_lxd_sum += in_lxd;
      n_sum += n;
    }
    own_total.add(own);
    lxd_total.add(in_lxd_sum);
    count_total.add(n_sum);
  }
  for (const auto& name : calls)
    life_rows_.push_back(
        LifeRow{name, raw_steps.at(name), lxe_ms[name], raw_ms[name], lxd_ms[name], own_ms[name], lxd_count[name]});
  life_rows_.push_back(LifeRow{"whole lifecycle (sum of the six)", "all of the above", lxe_total, raw_total, lxd_total,
                               own_total, count_total});
  if (opt_.lxe_log_level != "debug") {
    lxe_->stop(SIGTERM);
    lxe_->start(opt_.lxe_log_level);
  }
}

// ---------------------------------------------------------------- 3. concurrency

void Bench::concurrency() {
  std::atomic<int> pod_counter{0};
  for (const int n : opt_.clients) {
    check_interrupt();
    const int per_client = plan_.lifecycles_per_client(n);
    note("concurrency: %d client(s) x %d pod lifecycle(s)", n, per_client);
    ConcRow row;
    row.clients = n;
    std::mutex mutex;
    std::latch ready(n);
    std::vector<std::thread> threads;
    Clock::time_point start;
    std::atomic<bool> go{false};
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([&, t] {
        Cri c(make_channel(lxe_->config().socket));
        {
          // Connect before the clock starts.
          grpc::ClientContext ctx;
          context_deadline(ctx, kReadDeadline);
          cri::VersionResponse r;
          c.stub().Version(&ctx, cri::VersionRequest(), &r);
        }
        ready.count_down();
        while (!go.load()) std::this_thread::yield();
        for (int j = 0; j < per_client && !g_interrupted.load(); ++j) {
          const auto pod = pod_config("k" + std::to_string(pod_counter++));
          const auto ctr = container_config("c", pod, opt_.image);
          std::map<std::string, double> calls;
          auto timed = [&](const std::string& name, const std::function<void()>& fn) {
            const auto s = Clock::now();
            fn();
            calls[name] = ms_since(s);
          };
          const auto life_start = Clock::now();
          std::string pod_id, id;
          try {
            timed("RunPodSandbox", [&] { pod_id = c.run_pod(pod); });
            timed("CreateContainer", [&] { id = c.create(pod_id, ctr, pod); });
            timed("StartContainer", [&] { c.start(id); });
            timed("StopContainer", [&] { c.stop(id, 0); });
            timed("RemoveContainer", [&] { c.remove(id); });
            timed("RemovePodSandbox", [&] { c.remove_pod(pod_id); });
            const double life = ms_since(life_start);
            std::lock_guard lock(mutex);
            row.lifecycle_ms.add(life);
            for (const auto& [k, v] : calls) row.calls_ms[k].add(v);
            ++row.lifecycles;
          } catch (const std::exception& e) {
            {
              std::lock_guard lock(mutex);
              ++row.errors;
              row.error_texts.push_back(pod.metadata().name() + ": " + e.what());
            }
            if (!pod_id.empty()) {
              try {
                c.remove_pod(pod_id);
              } catch (...) {
              }
            }
          }
        }
      });
    }
    ready.wait();
    start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    row.wall_s = ms_since(start) / 1000.0;
    note("  %d lifecycles in %.1f s, %d error(s)", row.lifecycles, row.wall_s, row.errors);
    for (const auto& e : row.error_texts) note("  error: %s", e.c_str());
    conc_rows_.push_back(std::move(row));
  }
  check_interrupt();
}

// ---------------------------------------------------------------- populating

void Bench::populate_running() {
  note("populating: %d pods with %d started container(s) each", plan_.pods, plan_.running_per_pod);
  std::vector<PodInfo> made(plan_.pods);
  const auto start = Clock::now();
  const auto errors = parallel_for(plan_.pods, plan_.workers, [&](size_t i) {
    Cri c(make_channel(lxe_->config().socket));
    PodInfo& p = made[i];
    p.config = pod_config("p" + std::to_string(i));
    p.id = c.run_pod(p.config);
    for (int j = 0; j < plan_.running_per_pod; ++j) {
      const std::string id = c.create(p.id, container_config("c" + std::to_string(j), p.config, opt_.image), p.config);
      c.start(id);
      p.running.push_back(id);
    }
  });
  for (auto& p : made)
    if (!p.id.empty()) pods_.push_back(std::move(p));
  throw_if_errors(errors, "populating pods");
  note("  done in %.1f s", ms_since(start) / 1000.0);
}

void Bench::populate_created() {
  note("populating: %d more container(s) per pod, created and not started", plan_.created_per_pod);
  const auto start = Clock::now();
  std::vector<std::vector<std::string>> made(pods_.size());
  const size_t per_pod = plan_.created_per_pod;
  // One item per container, so that the work spreads evenly.
  const auto errors = parallel_for(pods_.size() * per_pod, plan_.workers, [&](size_t i) {
    thread_local std::unique_ptr<Cri> c;
    if (!c) c = std::make_unique<Cri>(make_channel(lxe_->config().socket));
    const size_t pod = i / per_pod, j = i % per_pod;
    const auto& p = pods_[pod];
    const std::string name = "c" + std::to_string(plan_.running_per_pod + j);
    const std::string id = c->create(p.id, container_config(name, p.config, opt_.image), p.config);
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    made[pod].push_back(id);
  });
  for (size_t i = 0; i < pods_.size(); ++i)
    pods_[i].created.insert(pods_[i].created.end(), made[i].begin(), made[i].end());
  throw_if_errors(errors, "creating containers");
  note("  done in %.1f s", ms_since(start) / 1000.0);
}

void Bench::restart_fresh(const std::string& why) {
  note("restarting lxe (SIGTERM) %s", why.c_str());
  lxe_->stop(SIGTERM);
  lxe_->start(opt_.lxe_log_level);
  wait_lxe_idle("its start-up adoption pass");
}

// Lets lxe's background work (the adoption pass of a fresh start) finish before anything is
// measured: an lxe that logs "adoption: ... queued" has looked at LXD once that line is there (the
// look may be slow LXD calls, during which lxe itself is idle); then waits until lxe used under
// 10% of a core over a whole second. At most 120 s for the line, 60 s for the rest.
void Bench::wait_lxe_idle(const std::string& what) {
  const auto start = Clock::now();
  if (lxe_logs_adoption_) {
    while (true) {
      check_interrupt();
      const std::string log = read_file(lxe_->log_path());
      const auto at = log.find(" adoption: ");
      if (at != std::string::npos && log.find(" queued", at) != std::string::npos) break;
      if (ms_since(start) > 120000) {
        notes_.push_back("lxe did not log its adoption within 120 s after a restart (" + what + "); measured anyway");
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    note("  lxe adopted after %.1f s", ms_since(start) / 1000.0);
  }
  const auto idle_start = Clock::now();
  double cpu = cpu_seconds(lxe_->pid());
  while (ms_since(idle_start) < 60000) {
    check_interrupt();
    std::this_thread::sleep_for(1s);
    const double now = cpu_seconds(lxe_->pid());
    if (now - cpu < 0.1) {
      note("  lxe idle after %.1f s (%s)", ms_since(start) / 1000.0, what.c_str());
      return;
    }
    cpu = now;
  }
  notes_.push_back("lxe did not become idle within 60 s after a restart (" + what + "); measured anyway");
}

// ---------------------------------------------------------------- 4. recovery


void Bench::recovery() {
  RecoveryRow row;
  std::set<std::string> expected;
  for (const auto& p : pods_)
    for (const auto& id : p.running) expected.insert(id);
  row.running = static_cast<int>(expected.size());
  row.holders = static_cast<int>(pods_.size());
  note("recovery: kill -9 of lxe with %d running containers in %d pods", row.running, row.holders);

  const auto names = instances_with_prefix(lxd_, opt_.prefix);
  std::set<std::string> container_names;
  {
    Cri c(lxe_->channel());
    for (const auto& id : expected) container_names.insert(c.container_info(id).value("lxdInstance", ""));
  }
  const auto before = init_pids(lxd_, names);
  check_interrupt();

  auto list_correct = [&](const cri::ListContainersResponse& r) {
    std::set<std::string> running;
    for (const auto& c : r.containers())
      if (c.state() == cri::CONTAINER_RUNNING) running.insert(c.id());
    return running == expected && static_cast<size_t>(r.containers_size()) == expected.size();
  };
  {
    Cri c(lxe_->channel());
    if (!list_correct(c.list_containers())) throw std::runtime_error("recovery: ListContainers is not as expected before the kill");
  }

  const auto kill_sys = std::chrono::system_clock::now();
  const auto kill_at = Clock::now();
  lxe_->stop(SIGKILL);
  const auto spawn_at = Clock::now();
  const auto spawn_sys = std::chrono::system_clock::now();
  lxe_->spawn("debug");  // debug: lxe logs every LXD request, which tells when adoption is done
  bool served = false;
  while (ms_since(kill_at) < 60000) {
    check_interrupt();
    if (!lxe_->running()) throw std::runtime_error("lxe died after the restart: " + lxe_->log_tail());
    if (!accepts_connections(lxe_->config().socket)) {
      std::this_thread::sleep_for(200us);
      continue;
    }
    Cri c(make_channel(lxe_->config().socket));
    grpc::ClientContext ctx;
    context_deadline(ctx, 2s);
    cri::ListContainersResponse r;
    const auto status = c.stub().ListContainers(&ctx, cri::ListContainersRequest(), &r);
    if (status.ok() && !served) {
      served = true;
      row.kill_to_serving_ms = ms_since(kill_at);
      row.spawn_to_serving_ms = ms_since(spawn_at);
    }
    if (status.ok() && list_correct(r)) {
      row.kill_to_list_ms = ms_since(kill_at);
      break;
    }
    std::this_thread::sleep_for(500us);
  }
  if (row.kill_to_list_ms == 0) throw std::runtime_error("recovery: ListContainers was not correct within 60 s");

  // Adoption, from the restarted lxe's debug log (each LXD request is logged when it has returned):
  // lxe has looked at every LXD object of ours (each instance, each pod's profile) and acted on
  // what it saw. An lxe that logs "adoption: ... queued" looks at everything with list calls and
  // then queues every record; the queue's work shows as per-object requests. An older lxe GETs
  // each object. Complete = the "queued" line (or, without it, every object read once), and then
  // the last per-object request of the burst that follows (none for 1 s, or the first resync).
  std::set<std::string> objects;  // "/1.0/instances/<name>", "/1.0/profiles/<name>"
  for (const auto& n : names) objects.insert("/1.0/instances/" + n);
  for (const auto& p : lxd_.list_profiles())
    if (has_prefix(p.name, opt_.prefix)) objects.insert("/1.0/profiles/" + p.name);
  using SysTime = std::chrono::system_clock::time_point;
  auto object_of = [&](const std::string& path) -> std::string {
    for (const char* kind : {"/1.0/instances/", "/1.0/profiles/"}) {
      if (path.rfind(kind, 0) != 0) continue;
      const auto end = path.find_first_of("/?", std::string(kind).size());
      const std::string object = path.substr(0, end);
      return objects.count(object) ? object : "";
    }
    return "";
  };
  std::optional<SysTime> queued_at, last_object_request;
  std::map<std::string, SysTime> first_read;
  std::vector<std::string> list_calls;
  const auto adoption_deadline = Clock::now() + 180s;
  while (true) {
    check_interrupt();
    if (Clock::now() > adoption_deadline) {
      row.note = "adoption not seen complete within 180 s (" + std::to_string(first_read.size()) + "/" +
                 std::to_string(objects.size()) + " objects read one by one" +
                 (queued_at ? ", after the \"queued\" line" : ", no \"queued\" line") + ")";
      break;
    }
    queued_at.reset();
    last_object_request.reset();
    first_read.clear();
    list_calls.clear();
    std::istringstream log(read_file(lxe_->log_path()));
    std::string line;
    static const std::regex request_re(R"( debug lxd (\S+) (\S+) -> \d+ \(([0-9.]+) ms\))");
    std::smatch m;
    while (std::getline(log, line)) {
      const auto t = log_time(line);
      if (!t) continue;
      if (!queued_at && line.find(" adoption: ") != std::string::npos && line.find(" queued") != std::string::npos) {
        queued_at = t;
        continue;
      }
      if (line.find(" debug lxd ") == std::string::npos || !std::regex_search(line, m, request_re)) continue;
      const std::string path = m[2].str();
      if (!queued_at && (path.rfind("/1.0/instances?", 0) == 0 || path.rfind("/1.0/profiles?", 0) == 0))
        list_calls.push_back(m[1].str() + " " + path.substr(0, path.find('?') + 12) + "… " + m[3].str() + " ms");
      const std::string object = object_of(path);
      if (object.empty()) continue;
      first_read.emplace(object, *t);
      last_object_request = t;
    }
    const auto now = std::chrono::system_clock::now();
    const bool looked = queued_at || first_read.size() >= objects.size();
    std::optional<SysTime> latest = queued_at;
    if (last_object_request && (!latest || *last_object_request > *latest)) latest = last_object_request;
    const bool quiet = latest && now - *latest > 1s;
    if (looked && quiet) break;
    std::this_thread::sleep_for(10ms);
  }
  {
    std::optional<SysTime> done = queued_at;
    if (!done && first_read.size() >= objects.size())
      for (const auto& [o, t] : first_read) done = done ? std::max(*done, t) : t;
    if (done && last_object_request && *last_object_request > *done) done = last_object_request;
    if (done) row.kill_to_adopted_ms = std::chrono::duration<double, std::milli>(*done - kill_sys).count();
    if (queued_at) {
      row.adoption = "lxe looked at LXD with list calls before queueing every record";
      if (!list_calls.empty()) {
        row.adoption += " (";
        for (size_t i = 0; i < list_calls.size(); ++i) row.adoption += (i ? "; " : "") + list_calls[i];
        row.adoption += ")";
      }
      row.adoption += ", then read " + std::to_string(first_read.size()) + " of its " + std::to_string(objects.size()) +
                      " objects one by one";
    } else {
      row.adoption = "lxe read each of its " + std::to_string(objects.size()) + " objects one by one";
    }
  }

  // Where the start-up time went, from lxe's own log: its first line (the store is open), and the
  // line it writes once the gRPC server listens.
  {
    std::istringstream log(read_file(lxe_->log_path()));
    std::string line;
    std::optional<std::chrono::system_clock::time_point> first, serving;
    while (std::getline(log, line)) {
      const auto t = log_time(line);
      if (!t) continue;
      if (!first) first = t;
      if (line.find(" serving CRI ") != std::string::npos) {
        serving = t;
        break;
      }
    }
    using Ms = std::chrono::duration<double, std::milli>;
    if (first && serving)
      row.startup = "spawn → lxe's first log line (store open) " + num(Ms(*first - spawn_sys).count(), 0) +
                    " ms → gRPC server listening " + num(Ms(*serving - spawn_sys).count(), 0) + " ms";
  }

  // Records: every generation observed, no error.
  {
    Cri c(lxe_->channel());
    for (const auto& id : expected) {
      const auto info = c.container_info(id);
      if (info.value("generation", -1) != info.value("observedGeneration", -2)) ++row.generation_mismatch;
      if (!info.value("lastError", std::string()).empty()) ++row.last_errors;
    }
    for (const auto& p : pods_) {
      const auto info = c.pod_info(p.id);
      if (info.value("generation", -1) != info.value("observedGeneration", -2)) ++row.generation_mismatch;
      if (!info.value("lastError", std::string()).empty()) ++row.last_errors;
    }
  }
  const auto after = init_pids(lxd_, names);
  for (const auto& name : names) {
    if (before.at(name) < 0 || after.at(name) < 0) {
      ++row.pid_unknown;
      continue;
    }
    const bool same = before.at(name) != 0 && before.at(name) == after.at(name);
    if (same) continue;
    if (container_names.count(name)) ++row.restarted_containers;
    else ++row.restarted_holders;
  }
  note("  serving after %.0f ms, ListContainers correct after %.0f ms, adopted after %.0f ms; restarted: %d "
       "container(s), %d holder(s)",
       row.kill_to_serving_ms, row.kill_to_list_ms, row.kill_to_adopted_ms, row.restarted_containers,
       row.restarted_holders);
  recovery_ = row;
}

// ---------------------------------------------------------------- clean-up

void Bench::cleanup() {
  note("cleaning up");
  if (lxe_ && lxe_->running()) {
    try {
      Cri c(lxe_->channel());
      const auto pods = c.list_pods();
      const auto errors = parallel_for(
          pods.items_size(), std::max(plan_.workers, 8),
          [&](size_t i) {
            Cri own(make_channel(lxe_->config().socket));
            own.remove_pod(pods.items(static_cast<int>(i)).id());
          },
          true);
      for (const auto& e : errors) note("  RemovePodSandbox %s", e.c_str());
      note("  removed %d pod(s) through lxe", pods.items_size() - static_cast<int>(errors.size()));
    } catch (const std::exception& e) {
      note("  removing pods through lxe: %s", e.what());
    }
  }
  if (lxe_) lxe_->stop(SIGTERM);
  try {
    const int left = sweep(lxd_, opt_.prefix);
    if (left > 0) note("  deleted %d LXD object(s) left under %s", left, opt_.prefix.c_str());
  } catch (const std::exception& e) {
    note("  sweeping LXD: %s (run: lxe-bench --sweep-only --prefix %s)", e.what(), opt_.prefix.c_str());
  }
  echo_.reset();
  if (!tmp_.empty()) {
    if (opt_.keep_tmp) {
      note("  kept %s", tmp_.c_str());
    } else {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }
}

// ---------------------------------------------------------------- report

std::string Bench::report() const {
  std::ostringstream md;
  struct utsname u {};
  uname(&u);
  md << "## lxe-bench " << (plan_.quick ? "--quick" : "(full)") << ", " << utc_now() << "\n\n";
  md << "- machine: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores (`nproc`), " << cpu_model() << ", " << mem_total()
     << " RAM, Linux " << u.release << "\n";
  md << "- load average (1/5/15 min) at start: " << load_start_ << "; at end: " << load_end_ << "\n";
  md << "- LXD " << lxd_version_ << ", lxe " << lxe_version_ << ", image `" << opt_.image << "`\n";
  for (const auto& n : opt_.notes) md << "- " << n << "\n";
  if (!failure_.empty()) md << "- **the run did not finish**: " << failure_ << "\n";
  for (const auto& n : notes_) md << "- " << n << "\n";
  md << "\n";

  if (!hot_rows_.empty()) {
    md << "### 1. Hot path (µs; one client, sequential unary calls over a unix socket)\n\n";
    md << "echo = the bare gRPC unary round trip: a gRPC server in this same binary (lxe's RuntimeService "
          "with trivial handlers), run as a process of its own like lxe, on a unix socket of its own, "
          "answering Version with lxe's own reply. Same-shape echo = that process answering the very reply "
          "lxe gave for that RPC at that size: what gRPC and protobuf alone cost for a message of that size. "
          "All targets are measured in interleaved rounds (5), so that load elsewhere on the machine hits "
          "each alike. CPU per call = utime + stime of the whole server process during the calls, divided "
          "by the calls (10 ms ticks: a coarse figure).\n\n";
    {
      std::vector<std::string> seen;
      md << "Containers at each size: ";
      for (const auto& r : hot_rows_) {
        if (std::find(seen.begin(), seen.end(), r.size) != seen.end()) continue;
        md << (seen.empty() ? "" : "; ") << "**" << r.size << "** = " << r.population;
        seen.push_back(r.size);
      }
      md << ". Every pod's namespace holder runs. PodSandboxStatus and ContainerStatus ask for one pod "
            "and one container in the middle of the list; at 0 there is nothing to ask for.\n\n";
    }
    md << "| RPC | containers | lxe p50 | lxe p99 | echo p50 | **lxe ÷ echo** (p50) | same-shape echo p50 / p99 | "
          "lxe ÷ same-shape | lxe CPU/call | same-shape CPU/call | calls |\n";
    md << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : hot_rows_) {
      md << "| " << r.rpc << " | " << r.size << " | " << num(r.lxe.median(), 0) << " | " << num(r.lxe.pct(99), 0)
         << " | " << num(r.echo_out_p50, 0) << " | " << ratio(r.lxe.median(), r.echo_out_p50) << " | "
         << num(r.shape.median(), 0) << " / " << num(r.shape.pct(99), 0) << " | "
         << ratio(r.lxe.median(), r.shape.median()) << " | " << num(r.lxe_cpu_us(), 0) << " | "
         << num(r.shape_cpu_us(), 0) << " | " << r.lxe.size() << " |\n";
    }
    md << "\nThe echoes alone (Version), also with the server inside the bench process (client and server in "
          "one process, still over the unix socket):\n\n| containers | echo (own process) p50 / p99 | "
          "in-process p50 / p99 | own process CPU/call | calls |\n|---:|---:|---:|---:|---:|\n";
    for (const auto& [size, e] : echo_rows_)
      md << "| " << size << " | " << num(e.out.median(), 0) << " / " << num(e.out.pct(99), 0) << " | "
         << num(e.in.median(), 0) << " / " << num(e.in.pct(99), 0) << " | "
         << num(e.out_cpu_s * 1e6 / static_cast<double>(std::max<size_t>(1, e.out.size())), 0) << " | "
         << e.in.size() << " |\n";
    md << "\n";
  }

  if (!life_rows_.empty()) {
    md << "### 2. Lifecycle: lxe vs the same LXD calls made directly (ms, median of "
       << plan_.lifecycle_iterations << " each, interleaved, after " << plan_.lifecycle_warmups
       << " warm-up(s))\n\n";
    md << "The raw side builds the very LXD objects lxe builds (lxe's own mapping code: profile, devices, "
          "raw.lxc, spec.json, host files) and makes the LXD calls lxe's reconciler makes for a new object, "
          "without the store, the queue or gRPC. Single calls are pipelined differently (lxe answers "
          "StopContainer later than the raw stop returns, so LXD has finished tidying up before "
          "RemoveContainer): compare the whole lifecycle too.\n\n";
    md << "| call | lxe | raw LXD | lxe ÷ raw | lxe − raw | lxe: in its LXD requests | lxe: own time (call − "
          "LXD requests) | own ÷ raw | lxe's LXD requests | raw LXD steps |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for (const auto& r : life_rows_)
      md << "| " << r.call << " | " << num(r.lxe.median()) << " | " << num(r.raw.median()) << " | "
         << ratio(r.lxe.median(), r.raw.median()) << " | " << num(r.lxe.median() - r.raw.median()) << " | "
         << num(r.lxe_in_lxd.median()) << " | " << num(r.lxe_own.median()) << " | "
         << num(r.lxe_own.median() / r.raw.median() * 100, 1) << "% | " << num(r.lxe_requests.median(), 0) << " | "
         << r.raw_steps << " |\n";
    md << "\n";
  }

  if (!conc_rows_.empty()) {
    md << "### 3. Concurrency: N clients, each running whole pod lifecycles (RunPodSandbox, CreateContainer, "
          "StartContainer, StopContainer, RemoveContainer, RemovePodSandbox)\n\n";
    md << "| clients | lifecycles | errors | wall (s) | lifecycles/s | lifecycle p50 (s) | lifecycle p99 (s) | "
          "slowest call p99 (ms) |\n|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for (const auto& r : conc_rows_) {
      std::string slowest = "–";
      double worst = -1;
      for (const auto& [k, v] : r.calls_ms)
        if (v.pct(99) > worst) {
          worst = v.pct(99);
          slowest = k + " " + num(worst, 0);
        }
      md << "| " << r.clients << " | " << r.lifecycles << " | " << r.errors << " | " << num(r.wall_s) << " | "
         << num(r.lifecycles / r.wall_s, 2) << " | " << num(r.lifecycle_ms.median() / 1000.0, 2) << " | "
         << num(r.lifecycle_ms.pct(99) / 1000.0, 2) << " | " << slowest << " |\n";
    }
    md << "\nPer call, p50 / p99 (ms):\n\n| clients |";
    const std::vector<std::string> calls = {"RunPodSandbox", "CreateContainer", "StartContainer",
                                            "StopContainer", "RemoveContainer", "RemovePodSandbox"};
    for (const auto& c : calls) md << " " << c << " |";
    md << "\n|---:|";
    for (size_t i = 0; i < calls.size(); ++i) md << "---:|";
    md << "\n";
    for (const auto& r : conc_rows_) {
      md << "| " << r.clients << " |";
      for (const auto& c : calls) {
        const auto it = r.calls_ms.find(c);
        md << " " << (it == r.calls_ms.end() ? "–" : num(it->second.median(), 0) + " / " + num(it->second.pct(99), 0))
           << " |";
      }
      md << "\n";
    }
    for (const auto& r : conc_rows_)
      for (const auto& e : r.error_texts) md << "\n- error (" << r.clients << " clients): " << e;
    md << "\n";
  }

  if (recovery_) {
    const auto& r = *recovery_;
    md << "### 4. Recovery after `kill -9` of lxe (" << r.running << " running containers in " << r.holders
       << " pods)\n\n";
    md << "| kill → serving | kill → ListContainers correct | spawn → serving | kill → adoption complete | "
          "containers restarted | holders restarted | records with generation ≠ observed | records with "
          "lastError |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    md << "| " << num(r.kill_to_serving_ms, 0) << " ms | " << num(r.kill_to_list_ms, 0) << " ms | "
       << num(r.spawn_to_serving_ms, 0) << " ms | " << num(r.kill_to_adopted_ms, 0) << " ms | "
       << r.restarted_containers << " | " << r.restarted_holders << " | " << r.generation_mismatch << " | "
       << r.last_errors << " |\n\n";
    md << "Adoption complete = the restarted lxe has looked at every one of its LXD objects (instances and "
          "profiles) and done what it saw needed, read from its debug log: " << r.adoption << ". Restarts are "
          "counted from the init PIDs in LXD's `/state` before the kill and after adoption.";
    if (!r.note.empty()) md << " " << r.note;
    if (r.pid_unknown > 0) md << " LXD did not give the /state of " << r.pid_unknown << " instance(s): not counted.";
    if (!r.startup.empty()) md << " Start-up: " << r.startup << ".";
    md << "\n\n";
  }

  if (!foot_rows_.empty()) {
    md << "### 5. Footprint\n\nVmRSS = RssAnon (heap, stacks) + RssFile (mapped binary and shared libraries, "
          "shared with other processes) + RssShmem. VmHWM is the peak VmRSS since the process started.\n\n";
    md << "| containers | pods | lxe process | VmRSS | RssAnon | RssFile | VmHWM (peak) | store db | -wal | -shm | "
          "db + wal | idle CPU |\n|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : foot_rows_)
      md << "| " << r.label << " | " << r.pods << " | " << r.what << " | " << mib_of_kb(r.mem.rss_kb) << " | "
         << mib_of_kb(r.mem.anon_kb) << " | " << mib_of_kb(r.mem.file_kb) << " | " << mib_of_kb(r.mem.hwm_kb) << " | " << kib(r.db) << " | " << kib(r.wal) << " | " << kib(r.shm) << " | "
         << kib(r.db + r.wal) << " | " << num(r.idle_cpu_pct) << "% |\n";
    md << "\n";
  }

  // Targets (reported, not asserted).
  md << "### Targets (from issue 6)\n\n| target | measured | met |\n|---|---|---|\n";
  auto yes = [](bool b) { return b ? "yes" : "**no**"; };
  std::vector<std::string> sizes;
  for (const auto& r : hot_rows_)
    if (std::find(sizes.begin(), sizes.end(), r.size) == sizes.end()) sizes.push_back(r.size);
  for (const auto& size : sizes) {
    double worst = 0;
    std::string list;
    for (const auto& r : hot_rows_) {
      if (r.size != size) continue;
      const double x = r.lxe.median() / r.echo_out_p50;
      worst = std::max(worst, x);
      list += (list.empty() ? "" : ", ") + r.rpc + " " + num(x, 2) + "×";
    }
    md << "| hot-path p50 ≤ 1.3× the bare gRPC echo, " << size << " containers | " << list << " | " << yes(worst <= 1.3)
       << " |\n";
  }
  const HotRow* list_row = nullptr;
  for (const auto& r : hot_rows_)
    if (r.rpc == "ListContainers" && (!list_row || std::stoi(r.size) >= std::stoi(list_row->size))) list_row = &r;
  if (list_row)
    md << "| ListContainers p99 ≤ 5 ms at 1000 containers | " << num(list_row->lxe.pct(99) / 1000.0, 2) << " ms at "
       << list_row->size << " | " << yes(list_row->lxe.pct(99) <= 5000)
       << (list_row->size != "1000" ? " (not at 1000: quick mode)" : "") << " |\n";
  for (const auto& r : life_rows_) {
    const double over = (r.lxe.median() / r.raw.median() - 1) * 100;
    const double own = r.lxe_own.median() / r.raw.median() * 100;
    md << "| " << r.call << ": ≤ 10% over raw LXD | median " << num(r.lxe.median()) << " vs " << num(r.raw.median())
       << " ms: " << (over >= 0 ? "+" : "") << num(over, 0) << "% (lxe's own time: " << num(own, 1) << "% of raw) | "
       << yes(over <= 10) << " |\n";
  }
  for (const auto& r : conc_rows_)
    md << "| 0 errors with " << r.clients << " client(s) | " << r.errors << " errors in "
       << r.lifecycles + r.errors << " lifecycles | " << yes(r.errors == 0) << " |\n";
  if (recovery_) {
    md << "| serving (ListContainers correct) ≤ 1 s after kill -9 | " << num(recovery_->kill_to_list_ms, 0)
       << " ms | " << yes(recovery_->kill_to_list_ms <= 1000) << " |\n";
    md << "| 0 restarts after kill -9 (init PIDs) | " << recovery_->restarted_containers << " containers, "
       << recovery_->restarted_holders << " holders restarted of " << recovery_->running << " + "
       << recovery_->holders << " | " << yes(recovery_->restarted_containers + recovery_->restarted_holders == 0)
       << " |\n";
  }
  // RSS: the peak (VmHWM) of lxe, against 25 MB taken as 25,000,000 bytes.
  for (const auto& r : foot_rows_) {
    const bool at_100 = r.pods >= 100;
    if (!at_100 && &r != &foot_rows_.back()) continue;
    const double mb = static_cast<double>(r.mem.hwm_kb) * 1024.0 / 1e6;
    md << "| peak RSS ≤ 25 MB with 100 pods | VmHWM " << num(mb, 1) << " MB (" << mib_of_kb(r.mem.hwm_kb) << "; VmRSS "
       << mib_of_kb(r.mem.rss_kb) << ") with " << r.pods << " pods, " << r.containers << " containers, " << r.what
       << " | " << yes(mb <= 25.0) << (at_100 ? "" : " (fewer pods: quick mode)") << " |\n";
  }
  md << "\n";
  return md.str();
}

// ---------------------------------------------------------------- the run

int Bench::run() {
  int rc = 0;
  try {
    setup();
    hot_path("0");
    footprint("0", "fresh, after the hot path");
    if (opt_.phase("lifecycle")) lifecycle();
    if (opt_.phase("concurrency")) concurrency();
    populate_running();
    const std::string running_label = std::to_string(containers_now());
    if (opt_.phase("recovery")) {
      recovery();
      restart_fresh("after the recovery test (the recovered lxe logs at debug level)");
    }
    if (plan_.measure_running_size) {
      hot_path(running_label);
      footprint(running_label, "fresh restart, after the hot path");
    }
    populate_created();
    const std::string full_label = std::to_string(containers_now());
    footprint(full_label, "the one that created the last " +
                              std::to_string(plan_.created_per_pod * static_cast<int>(pods_.size())));
    restart_fresh("to measure a fresh process at " + full_label + " containers");
    hot_path(full_label);
    footprint(full_label, "fresh restart, after the hot path");
    notes_.push_back("containers: " + std::to_string(plan_.pods * plan_.running_per_pod) + " started (" +
                     std::to_string(plan_.running_per_pod) + " per pod, the recovery set) and " +
                     std::to_string(plan_.pods * plan_.created_per_pod) +
                     " created but not started; every pod's namespace holder runs");
  } catch (const Interrupted&) {
    failure_ = "interrupted";
    rc = 130;
  } catch (const std::exception& e) {
    failure_ = e.what();
    note("FAILED: %s", e.what());
    if (lxe_) note("lxe's log ends with:\n%s", lxe_->log_tail(2000).c_str());
    rc = 1;
  }
  load_end_ = loadavg();
  if (opt_.hold_s > 0 && lxe_ && lxe_->running()) {
    note("holding for %d s before cleaning up (Ctrl-C ends it): lxe pid %d, socket %s, log %s", opt_.hold_s,
         lxe_->pid(), lxe_->config().socket.c_str(), lxe_->log_path().c_str());
    for (int i = 0; i < opt_.hold_s * 10 && !g_interrupted.load(); ++i) std::this_thread::sleep_for(100ms);
  }
  cleanup();
  const std::string md = report();
  std::cout << md << std::flush;
  if (!opt_.out.empty()) {
    std::ofstream out(opt_.out);
    out << md;
  }
  return rc;
}

}  // namespace
}  // namespace lxe::bench

int main(int argc, char** argv) {
  using namespace lxe::bench;
  // The echo process the hot path measures (see echo_server.h): this binary, run by itself.
  if (argc >= 3 && std::string(argv[1]) == "--serve-echo") {
    const std::string replies = argc >= 5 && std::string(argv[3]) == "--echo-replies" ? argv[4] : "";
    return serve_echo_main(argv[2], replies);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::warn);

  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "lxe-bench: " << e.what() << "\n" << usage();
    return 2;
  }
  g_prefix_for_messages = options.prefix;
  std::thread(signal_thread, set).detach();

  if (options.sweep_only) {
    try {
      lxe::lxd::Client lxd(lxe::lxd::ClientOptions{.socket_path = find_lxd_socket(options.lxd_socket)});
      if (options.prefix_given) {
        const int n = sweep(lxd, options.prefix);
        if (n > 0) std::cerr << "lxe-bench: deleted " << n << " LXD object(s) under " << options.prefix << "\n";
      } else {
        const auto r = sweep_stale(lxd);
        std::cerr << "lxe-bench: deleted " << r.deleted << " LXD object(s) and " << r.dirs
                  << " scratch director(ies) of dead runs; " << r.failed << " failure(s); " << r.unmarked
                  << " unmarked lxebench- object(s) left alone\n";
        if (r.failed > 0) return 1;
      }
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "lxe-bench: sweep: " << e.what() << "\n";
      return 1;
    }
  }
  try {
    Bench bench(options);
    return bench.run();
  } catch (const std::exception& e) {
    std::cerr << "lxe-bench: " << e.what() << "\n";
    return 1;
  }
}
