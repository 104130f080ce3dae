#include "ctl/commands.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "common/defaults.h"
#include "common/time.h"
#include "common/version.h"
#include "ctl/drift.h"
#include "ctl/render.h"
#include "ctl/views.h"
#include "lxd/client.h"
#include "model/naming.h"
#include "stats/cgroup_stats.h"
#include "store/migrations.h"

namespace lxe::ctl {
namespace {

using store::ContainerRecord;
using store::ReconcileEvent;
using store::SandboxRecord;

// A failure with its exit code, raised anywhere below run() and reported there as one line.
struct Failure {
  int code;
  std::string message;
};

constexpr int kEventPage = 1000;
constexpr size_t kRecentEvents = 10;

struct Context {
  const Invocation& inv;
  Io io;
  bool color;
  int64_t now;
};

std::unique_ptr<store::Store> open_store(const Context& ctx) {
  try {
    return open_store_readonly(ctx.inv.global.db_path);
  } catch (const store::StoreError& e) {
    throw Failure{kExitStoreUnusable, e.what()};
  } catch (const std::exception& e) {
    throw Failure{kExitStoreUnusable, "cannot open the store at " + ctx.inv.global.db_path + ": " + e.what()};
  }
}

// Runs a read of the store, turning its failures into exit code 4.
template <typename Fn>
auto reading(Fn&& fn) {
  try {
    return fn();
  } catch (const store::StoreError& e) {
    throw Failure{kExitStoreUnusable, std::string("reading the store: ") + e.what()};
  }
}

// Both lists from one snapshot of the database: a read transaction (no write lock, in WAL mode it
// never blocks lxe).
struct Records {
  std::vector<SandboxRecord> sandboxes;
  std::vector<ContainerRecord> containers;
};

Records read_records(store::Store& store) {
  return reading([&] {
    store::Store::Transaction snapshot(store);
    Records r{store.list_sandboxes(), store.list_containers()};
    return r;  // the transaction ends (rolls back: nothing was written) here
  });
}

// Every event matching `query` (paged), or only the last `tail` of them.
std::vector<ReconcileEvent> read_events(store::Store& store, store::EventQuery query, size_t tail) {
  std::deque<ReconcileEvent> kept;
  query.limit = kEventPage;
  while (true) {
    const auto page = reading([&] { return store.list_events(query); });
    for (const auto& e : page) {
      kept.push_back(e);
      if (tail > 0 && kept.size() > tail) kept.pop_front();
    }
    if (page.size() < static_cast<size_t>(kEventPage)) break;
    query.after_seq = page.back().seq;
  }
  return {kept.begin(), kept.end()};
}

void write_document(const Context& ctx, const nlohmann::json& doc) {
  if (ctx.inv.output == OutputFormat::Yaml)
    ctx.io.out << to_yaml(doc);
  else
    ctx.io.out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

lxd::Client lxd_client(const Context& ctx) {
  std::string socket = ctx.inv.global.lxd_socket.empty() ? find_lxd_socket() : ctx.inv.global.lxd_socket;
  if (socket.empty())
    throw Failure{kExitLxdUnavailable,
                  "LXD unreachable: no LXD socket found at /var/snap/lxd/common/lxd/unix.socket or "
                  "/var/lib/lxd/unix.socket (give --lxd-socket)"};
  lxd::ClientOptions options;
  options.socket_path = socket;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.request_timeout = std::chrono::milliseconds(15000);
  return lxd::Client(options);
}

template <typename Fn>
auto asking_lxd(const std::string& socket_hint, Fn&& fn) {
  try {
    return fn();
  } catch (const lxd::Error& e) {
    throw Failure{kExitLxdUnavailable,
                  std::string(e.unavailable() ? "LXD unreachable" : "LXD refused a read") + " (" + socket_hint +
                      "): " + e.what()};
  }
}

// ---- commands

int cmd_version(const Context& ctx) {
  if (ctx.inv.output == OutputFormat::Table) {
    ctx.io.out << "lxe-ctl " << kVersion << " (store schema " << store::latest_schema_version() << ")\n";
  } else {
    write_document(ctx, {{"version", kVersion}, {"storeSchema", store::latest_schema_version()}});
  }
  return kExitOk;
}

int cmd_sandboxes(const Context& ctx) {
  auto store = open_store(ctx);
  const Records r = read_records(*store);
  std::map<std::string, size_t> counts;
  for (const auto& c : r.containers) ++counts[c.sandbox_id];
  std::vector<SandboxRecord> shown;
  std::vector<size_t> shown_counts;
  for (const auto& s : r.sandboxes)
    if (matches(s, ctx.inv.filters)) {
      shown.push_back(s);
      shown_counts.push_back(counts[s.id]);
    }
  if (ctx.inv.output == OutputFormat::Table) {
    ctx.io.out << sandbox_table(shown, shown_counts, ctx.now).render(ctx.color);
  } else {
    nlohmann::json items = nlohmann::json::array();
    for (size_t i = 0; i < shown.size(); ++i) items.push_back(sandbox_json(shown[i], shown_counts[i]));
    write_document(ctx, {{"sandboxes", items}});
  }
  return kExitOk;
}

int cmd_containers(const Context& ctx) {
  auto store = open_store(ctx);
  const Records r = read_records(*store);
  std::map<std::string, const SandboxRecord*> pods;
  for (const auto& s : r.sandboxes) pods[s.id] = &s;
  std::vector<ContainerRecord> shown;
  std::vector<const SandboxRecord*> shown_pods;
  for (const auto& c : r.containers) {
    const auto it = pods.find(c.sandbox_id);
    const SandboxRecord* pod = it == pods.end() ? nullptr : it->second;
    if (!matches(c, pod, ctx.inv.filters)) continue;
    shown.push_back(c);
    shown_pods.push_back(pod);
  }
  if (ctx.inv.output == OutputFormat::Table) {
    ctx.io.out << container_table(shown, shown_pods, ctx.now).render(ctx.color);
  } else {
    nlohmann::json items = nlohmann::json::array();
    for (size_t i = 0; i < shown.size(); ++i) items.push_back(container_json(shown[i], shown_pods[i]));
    write_document(ctx, {{"containers", items}});
  }
  return kExitOk;
}

Target lookup(const std::string& wanted, const Records& r, const std::vector<Target>& history = {}) {
  const auto found = resolve_target(wanted, r.sandboxes, r.containers, history);
  if (const auto* error = std::get_if<LookupError>(&found)) throw Failure{kExitNotFound, error->message};
  return std::get<Target>(found);
}

std::optional<LxdLive> read_live(const Context& ctx, store::ObjectKind kind, const std::string& lxd_name) {
  if (!ctx.inv.show_lxd) return std::nullopt;
  const lxd::Client client = lxd_client(ctx);
  return asking_lxd(client.options().socket_path, [&] {
    LxdLive live;
    try {
      live.instance = client.get_instance(lxd_name);
    } catch (const lxd::Error& e) {
      if (e.kind() != lxd::ErrorKind::NotFound) throw;
    }
    if (kind == store::ObjectKind::Sandbox) {
      try {
        client.get_profile(lxd_name);
        live.profile_exists = true;
      } catch (const lxd::Error& e) {
        if (e.kind() != lxd::ErrorKind::NotFound) throw;
        live.profile_exists = false;
      }
    }
    return live;
  });
}

// The IDs of objects the event log knows, with their kind (removed objects are only there).
std::vector<Target> event_history(store::Store& store) {
  std::map<std::string, store::ObjectKind> seen;
  store::EventQuery query;
  for (const auto& e : read_events(store, query, 0)) seen.emplace(e.object_id, e.object_kind);
  std::vector<Target> out;
  for (const auto& [id, kind] : seen) out.push_back({kind, id});
  return out;
}

bool is_full_id(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

int cmd_show(const Context& ctx) {
  auto store = open_store(ctx);
  const Records r = read_records(*store);
  const auto found = resolve_target(ctx.inv.target, r.sandboxes, r.containers);
  if (const auto* error = std::get_if<LookupError>(&found)) {
    std::string message = error->message;
    // A removed object is only in the event log: say so, rather than just "not found".
    if (!error->ambiguous) {
      const auto history = event_history(*store);
      const auto removed = resolve_target(ctx.inv.target, {}, {}, history);
      if (const auto* t = std::get_if<Target>(&removed))
        message += "; the event log has " + std::string(to_string(t->kind)) + " " + t->id +
                   ", which was removed (see lxe-ctl events " + short_id(t->id) + ")";
    }
    throw Failure{kExitNotFound, message};
  }
  const Target target = std::get<Target>(found);
  store::EventQuery query;
  query.object_id = target.id;
  const auto recent = read_events(*store, query, kRecentEvents);
  const bool table = ctx.inv.output == OutputFormat::Table;
  if (target.kind == store::ObjectKind::Sandbox) {
    const SandboxRecord* s = nullptr;
    for (const auto& x : r.sandboxes)
      if (x.id == target.id) s = &x;
    std::vector<ContainerRecord> members;
    for (const auto& c : r.containers)
      if (c.sandbox_id == target.id) members.push_back(c);
    const auto live = read_live(ctx, target.kind, s->lxd_name);
    if (table)
      ctx.io.out << sandbox_detail_text(*s, members, recent, live, ctx.now, ctx.color);
    else
      write_document(ctx, sandbox_detail_json(*s, members, recent, live));
  } else {
    const ContainerRecord* c = nullptr;
    for (const auto& x : r.containers)
      if (x.id == target.id) c = &x;
    const SandboxRecord* pod = nullptr;
    for (const auto& s : r.sandboxes)
      if (s.id == c->sandbox_id) pod = &s;
    const auto live = read_live(ctx, target.kind, c->lxd_name);
    if (table)
      ctx.io.out << container_detail_text(*c, pod, recent, live, ctx.now, ctx.color);
    else
      write_document(ctx, container_detail_json(*c, pod, recent, live));
  }
  return kExitOk;
}

// Blocks SIGINT and SIGTERM for this thread while following, so that they are taken with
// sigtimedwait between two polls and end the command cleanly (exit 0).
class SignalWait {
 public:
  SignalWait() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalWait() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  // Waits up to `timeout`; true when a signal came.
  bool wait(std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>((timeout.count() % 1000) * 1000000)};
    while (true) {
      const int sig = sigtimedwait(&set_, nullptr, &ts);
      if (sig > 0) return true;
      if (errno == EINTR) continue;
      return false;  // EAGAIN: the timeout passed
    }
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
};

int cmd_events(const Context& ctx) {
  auto store = open_store(ctx);
  const auto& opts = ctx.inv.events;
  store::EventQuery query;
  query.since_ns = opts.since_ns;
  if (!opts.target.empty()) {
    // A full ID is taken as it is (even one with no event yet, to follow it); anything else is
    // looked up among the records (IDs and LXD names) and the event log's IDs.
    if (is_full_id(opts.target)) {
      query.object_id = opts.target;
    } else {
      const Records r = read_records(*store);
      query.object_id = lookup(opts.target, r, event_history(*store)).id;
    }
  }
  // Install the signal mask before the first read, so a signal during it is not lost.
  std::optional<SignalWait> signals;
  if (opts.follow) signals.emplace();

  const auto events = read_events(*store, query, static_cast<size_t>(opts.tail));
  const OutputFormat format = ctx.inv.output;
  if (!opts.follow) {
    if (format == OutputFormat::Table) {
      ctx.io.out << event_header(ctx.color);
      for (const auto& e : events) ctx.io.out << event_line(e, ctx.color);
    } else {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& e : events) items.push_back(event_json(e));
      write_document(ctx, {{"events", items}});
    }
    return kExitOk;
  }

  // Following: one line per event (JSON lines; YAML documents), flushed after every poll.
  auto print = [&](const ReconcileEvent& e) {
    if (format == OutputFormat::Table)
      ctx.io.out << event_line(e, ctx.color);
    else if (format == OutputFormat::Json)
      ctx.io.out << event_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else
      ctx.io.out << "---\n" << to_yaml(event_json(e));
  };
  if (format == OutputFormat::Table) ctx.io.out << event_header(ctx.color);
  int64_t last = 0;
  for (const auto& e : events) {
    print(e);
    last = e.seq;
  }
  if (events.empty()) {
    // Start after whatever the filters left out, not from the beginning of the log.
    store::EventQuery all;
    all.object_id = query.object_id;
    const auto every = read_events(*store, all, 1);
    if (!every.empty()) last = every.back().seq;
  }
  ctx.io.out.flush();
  query.since_ns = 0;
  while (!signals->wait(opts.poll_interval)) {
    query.after_seq = last;
    for (const auto& e : read_events(*store, query, 0)) {
      print(e);
      last = e.seq;
    }
    ctx.io.out.flush();
    if (!ctx.io.out) return kExitOk;  // the reader went away
  }
  return kExitOk;
}

int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Every row's cgroup, read now.
std::vector<CgroupRead> read_cgroups(const stats::CgroupReader& reader, const std::vector<ContainerTop>& rows) {
  std::vector<CgroupRead> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    CgroupRead r;
    r.sample = reader.read(row.container.lxd_name);
    r.at_ns = monotonic_ns();
    out.push_back(r);
  }
  return out;
}

int cmd_top(const Context& ctx) {
  const TopOptions& opts = ctx.inv.top;
  auto store = open_store(ctx);
  const Records r = read_records(*store);
  std::map<std::string, const SandboxRecord*> pods;
  for (const auto& s : r.sandboxes) pods[s.id] = &s;
  std::vector<ContainerTop> rows;
  bool named = false;
  for (const auto& c : r.containers) {
    if (!opts.target.empty() && c.id.rfind(opts.target, 0) != 0 && c.lxd_name != opts.target) continue;
    named = true;
    const auto it = pods.find(c.sandbox_id);
    const SandboxRecord* pod = it == pods.end() ? nullptr : it->second;
    if (matches(c, pod, ctx.inv.filters)) rows.push_back(ContainerTop{c, pod, {}});
  }
  if (!named && !opts.target.empty())
    throw Failure{kExitNotFound, "no container with ID '" + opts.target + "' in the store"};

  std::error_code ec;
  if (!std::filesystem::is_directory(opts.cgroup_root, ec))
    throw Failure{kExitUsage, "--cgroup-root: " + opts.cgroup_root + " is not a directory"};
  // The same files lxe's ContainerStats reads; LXD's /state would take 100 ms and more per container.
  const stats::CgroupReader reader(opts.cgroup_root);
  const auto first = read_cgroups(reader, rows);
  // Nothing runs: there is no rate to wait for.
  if (std::any_of(first.begin(), first.end(), [](const CgroupRead& c) { return c.sample.present; }))
    std::this_thread::sleep_for(opts.interval);
  const auto second = read_cgroups(reader, rows);
  for (size_t i = 0; i < rows.size(); ++i) rows[i].usage = usage_between(first[i], second[i]);

  const bool table = ctx.inv.output == OutputFormat::Table;
  if (opts.pods) {
    auto totals = pod_totals(rows, r.sandboxes);
    sort_top(totals, opts.sort);
    if (table) {
      ctx.io.out << pod_top_table(totals).render(ctx.color);
    } else {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& p : totals) items.push_back(pod_top_json(p));
      write_document(ctx, {{"pods", items}});
    }
    return kExitOk;
  }
  sort_top(rows, opts.sort);
  if (table) {
    ctx.io.out << top_table(rows).render(ctx.color);
  } else {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& row : rows) items.push_back(top_json(row));
    write_document(ctx, {{"containers", items}});
  }
  return kExitOk;
}

// One comparison: LXD first, then the store. A record is made before its LXD object and erased
// after it, so an object LXD lists is either known to the store read afterwards or already gone
// (which the second pass after --settle sorts out).
DriftReport diff_pass(const Context& ctx, const lxd::Client& client, store::Store& store) {
  LxdSnapshot lxd = asking_lxd(client.options().socket_path, [&] {
    std::string filter = std::string("config.") + model::kManagedKey + " eq true";
    return LxdSnapshot{client.list_instances(filter), client.list_profiles()};
  });
  const Records r = read_records(store);
  return find_drift(StoreSnapshot{r.sandboxes, r.containers}, lxd, ctx.inv.diff.lxd_name_prefix);
}

int cmd_diff(const Context& ctx) {
  auto store = open_store(ctx);
  const lxd::Client client = lxd_client(ctx);
  DriftReport report = diff_pass(ctx, client, *store);
  if (!report.items.empty() && ctx.inv.diff.settle.count() > 0) {
    std::this_thread::sleep_for(ctx.inv.diff.settle);
    report = persistent_drift(report, diff_pass(ctx, client, *store));
  }
  if (ctx.inv.output != OutputFormat::Table) {
    write_document(ctx, drift_json(report));
  } else {
    if (!report.items.empty()) {
      Table t({"DRIFT", "OBJECT", "ID", "NAME", "LXD NAME", "DETAIL"});
      for (const auto& i : report.items)
        t.add({{std::string(to_string(i.kind)), Color::Red},
               {i.object_kind},
               {i.id.empty() ? "-" : short_id(i.id)},
               {i.name.empty() ? "-" : i.name},
               {i.lxd_name},
               {i.detail}});
      ctx.io.out << t.render(ctx.color);
    }
    std::string summary = (report.items.empty() ? std::string("no drift")
                                                : std::to_string(report.items.size()) + " drift item(s)") +
                          ": compared " + std::to_string(report.sandboxes_compared) + " sandbox(es) and " +
                          std::to_string(report.containers_compared) + " container(s) with " +
                          std::to_string(report.lxd_instances) + " LXD instance(s) and " +
                          std::to_string(report.lxd_profiles) + " profile(s)";
    if (!report.skipped.empty())
      summary += "; " + std::to_string(report.skipped.size()) + " object(s) lxe is still reconciling were skipped";
    ctx.io.out << summary << "\n";
  }
  return report.items.empty() ? kExitOk : kExitDrift;
}

}  // namespace

std::unique_ptr<store::Store> open_store_readonly(const std::string& path) {
  return std::make_unique<store::Store>(path, store::Store::Mode::ReadOnly);
}

bool use_color(ColorMode mode, bool out_is_tty) {
  if (mode == ColorMode::Always) return true;
  if (mode == ColorMode::Never) return false;
  if (!out_is_tty) return false;
  if (const char* no = std::getenv("NO_COLOR"); no && *no) return false;
  if (const char* term = std::getenv("TERM"); term && std::string(term) == "dumb") return false;
  return true;
}

int run(const Invocation& inv, Io io) {
  const Context ctx{inv, io, use_color(inv.global.color, io.out_is_tty), now_ns()};
  try {
    switch (inv.command) {
      case Command::Help: io.out << help_text(inv.help_topic); return kExitOk;
      case Command::Version: return cmd_version(ctx);
      case Command::Sandboxes: return cmd_sandboxes(ctx);
      case Command::Containers: return cmd_containers(ctx);
      case Command::Show: return cmd_show(ctx);
      case Command::Events: return cmd_events(ctx);
      case Command::Diff: return cmd_diff(ctx);
      case Command::Top: return cmd_top(ctx);
    }
    return kExitInternal;
  } catch (const Failure& f) {
    io.out.flush();
    io.err << "lxe-ctl: error: " << f.message << "\n";
    return f.code;
  } catch (const std::exception& e) {
    io.out.flush();
    io.err << "lxe-ctl: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

}  // namespace lxe::ctl
