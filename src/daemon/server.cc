#include "daemon/server.h"

#include <grpcpp/grpcpp.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <variant>

#include "common/defaults.h"
#include "common/version.h"
#include "cri/call_interceptor.h"
#include "cri/image_service.h"
#include "cri/runtime_service.h"
#include "cri/streaming_runtime.h"
#include "daemon/lxd_remote_config.h"
#include "daemon/socket_lock.h"
#include "images/catalog.h"
#include "images/puller.h"
#include "stats/stats_sources.h"
#include "lxd/client.h"
#include "lxd/events.h"
#include "lxd/health.h"
#include "metrics/metrics.h"
#include "metrics/metrics_server.h"
#include "model/ipv4.h"
#include "reconcile/bridge_keeper.h"
#include "reconcile/host_files.h"
#include "reconcile/pod_namespaces.h"
#include "reconcile/reconciler.h"
#include "reconcile/volumes.h"
#include "store/registry.h"
#include "store/store.h"
#include "streaming/server.h"

namespace lxe::daemon {
namespace {

// A start-up failure: printed as one line, exit code 1.
struct StartupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// kubelet's own limit for CRI messages; a node with many containers lists more than gRPC's 4 MiB.
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;
constexpr auto kHealthInterval = std::chrono::seconds(2);
// How often the bridge is checked (and made again when it is gone) in bridge mode.
constexpr auto kBridgeCheckInterval = std::chrono::seconds(10);
constexpr auto kHealthRequestTimeout = std::chrono::seconds(3);
constexpr auto kShutdownGrace = std::chrono::seconds(5);

void configure_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("lxe");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

std::string resolve_lxd_socket(const Options& options) {
  std::string path = options.lxd_socket;
  if (path.empty() && !options.lxd_remote_config.empty()) {
    const auto from_config = lxd_socket_from_remote_config(options.lxd_remote_config);
    if (const auto* error = std::get_if<RemoteConfigError>(&from_config)) throw StartupError(error->message);
    path = std::get<std::string>(from_config);
  }
  if (path.empty()) {
    path = find_lxd_socket();
    if (path.empty())
      throw StartupError("no LXD socket at /var/snap/lxd/common/lxd/unix.socket or /var/lib/lxd/unix.socket: "
                         "is LXD installed and running? (or give --lxd-socket)");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw StartupError("LXD socket " + path + " does not exist: is LXD running? (check --lxd-socket)");
  if (!S_ISSOCK(st.st_mode)) throw StartupError("LXD socket " + path + " is not a unix socket");
  return path;
}

// lxe-init sits next to the lxe binary (build/bin/ in the build tree, the same directory when
// installed).
std::string init_binary_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw StartupError("cannot find lxe's own path: " + ec.message());
  return (self.parent_path() / "lxe-init").string();
}

std::string absolute_socket_path(const std::string& socket) {
  namespace fs = std::filesystem;
  const fs::path path = fs::absolute(socket);
  std::error_code ec;
  if (!fs::is_directory(path.parent_path(), ec))
    throw StartupError("cannot serve on " + path.string() + ": directory " + path.parent_path().string() +
                       " does not exist");
  return path.string();
}

// Signals are blocked in every thread (they inherit the mask) and taken synchronously by the main
// thread with sigwait, so no handler runs at an arbitrary point.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// The pod network the flags ask for. A subnet that overlaps one of the host's networks would make
// pods unreachable (or hide host peers): refused before anything starts.
reconcile::NetworkOptions network_options(const Options& options) {
  reconcile::NetworkOptions network;
  network.plugin = options.network_plugin == "bridge" ? reconcile::NetworkPlugin::Bridge
                   : options.network_plugin == "cni"  ? reconcile::NetworkPlugin::Cni
                                                      : reconcile::NetworkPlugin::None;
  network.cni.conf_dir = options.cni_conf_dir;
  network.cni.bin_dirs.clear();
  size_t start = 0;
  while (start <= options.cni_bin_dir.size()) {
    const size_t end = std::min(options.cni_bin_dir.find(':', start), options.cni_bin_dir.size());
    network.cni.bin_dirs.push_back(options.cni_bin_dir.substr(start, end - start));
    start = end + 1;
  }
  // Debian's containernetworking-plugins install there.
  if (std::find(network.cni.bin_dirs.begin(), network.cni.bin_dirs.end(), "/usr/lib/cni") == network.cni.bin_dirs.end())
    network.cni.bin_dirs.push_back("/usr/lib/cni");
  network.bridge_name = options.bridge_name;
  network.subnet = *model::parse_pod_subnet(options.bridge_subnet).subnet;  // checked by the flag
  network.nat = options.bridge_nat;
  network.host_netns = options.host_netns;
  if (network.plugin == reconcile::NetworkPlugin::Bridge) {
    if (const std::string overlap = reconcile::host_overlap(network.subnet, network.bridge_name); !overlap.empty())
      throw StartupError("--bridge-subnet " + network.subnet.to_string() + " overlaps a network of this host (" +
                         overlap + "); choose a subnet no host interface uses");
  }
  return network;
}

int serve(const Options& options, const sigset_t& shutdown_signals) {
  const reconcile::NetworkOptions network = network_options(options);
  const std::string lxd_socket = resolve_lxd_socket(options);
  const std::string socket = absolute_socket_path(options.socket);

  // The socket lock comes first: a second lxe must not even open (let alone migrate) the store.
  std::unique_ptr<SocketLock> socket_lock;
  try {
    socket_lock = std::make_unique<SocketLock>(socket);
  } catch (const std::runtime_error& e) {
    throw StartupError(e.what());
  }

  std::unique_ptr<store::Store> store;
  try {
    store = std::make_unique<store::Store>(options.db, store::Store::Mode::ReadWrite);
  } catch (const store::StoreError& e) {
    throw StartupError(e.what());
  }
  // Loading every record may find one that cannot be read: one error line, as for any start-up
  // failure, not an uncaught exception.
  std::unique_ptr<store::Registry> loaded;
  try {
    const int version = store->schema_version();
    loaded = std::make_unique<store::Registry>(*store);
    spdlog::info("store {} at schema version {}", store->path(), version);
  } catch (const store::StoreError& e) {
    throw StartupError("cannot load the store " + store->path() + ": " + e.what());
  }
  store::Registry& registry = *loaded;

  // Files shared with containers live next to the store; lxe-init comes from next to lxe.
  const reconcile::HostFiles files(std::filesystem::path(options.db).parent_path().string());
  try {
    files.install_init_binary(init_binary_path());
  } catch (const std::runtime_error& e) {
    throw StartupError(std::string(e.what()) + " (lxe-init must be installed next to lxe)");
  }

  // lxe's own metrics: the LXD client, the reconciler and the CRI interceptor feed the counters;
  // the gauges read the store and the reconciler at each scrape (state_of is set once both exist,
  // before the metrics server starts).
  std::function<metrics::StateSnapshot()> state_of;
  metrics::LxeMetrics lxe_metrics([&state_of] { return state_of ? state_of() : metrics::StateSnapshot{}; });

  const lxd::Client lxd_client(lxd::ClientOptions{.socket_path = lxd_socket, .observer = &lxe_metrics});
  const lxd::Client health_client(lxd::ClientOptions{
      .socket_path = lxd_socket,
      .connect_timeout = kHealthRequestTimeout,
      .request_timeout = kHealthRequestTimeout,
      .observer = &lxe_metrics,
  });
  lxd::HealthMonitor lxd_health(health_client, kHealthInterval);
  // A pool that is not there would fail every RunPodSandbox; say so now. LXD not answering yet is
  // no reason to stop (lxe waits for it like for anything else).
  if (!options.storage_pool.empty()) {
    try {
      const auto pool = health_client.get_storage_pool(options.storage_pool);
      spdlog::info("instances go on LXD storage pool {} ({})", options.storage_pool, pool.driver);
    } catch (const lxd::Error& e) {
      if (e.kind() == lxd::ErrorKind::NotFound)
        throw StartupError("LXD has no storage pool '" + options.storage_pool +
                           "' (--storage-pool): create it (scripts/setup.sh makes a btrfs pool named lxe) or name "
                           "another");
      spdlog::warn("cannot check storage pool {} yet: {}", options.storage_pool, e.what());
    }
  }

  reconcile::ReconcilerOptions reconciler_options;
  reconciler_options.mapping.host_netns = network.host_netns;
  reconciler_options.mapping.host_pidns = options.host_pidns;
  reconciler_options.mapping.storage_pool = options.storage_pool;
  reconciler_options.ready_instances_per_image = options.ready_instances;
  reconciler_options.lxd_name_prefix = options.lxd_name_prefix;
  reconciler_options.mapping.host_ipcns = options.host_ipcns;
  reconciler_options.mapping.cni = network.cni;
  reconciler_options.mapping.started_record_wait = std::chrono::seconds(2);
  if (network.plugin == reconcile::NetworkPlugin::Cni) {
    if (const auto loaded = reconcile::cni::load_network(network.cni); loaded.network)
      spdlog::info("CNI network {} from {}", loaded.network->name, loaded.network->file);
    else
      spdlog::warn("CNI: {} (NetworkReady stays false until there is one)", loaded.problem);
  }
  reconciler_options.mapping.lxd_dir = std::filesystem::path(lxd_socket).parent_path().string();
  if (auto problem = reconcile::host_netns_problem(network.host_netns); !problem.empty())
    spdlog::warn("host network pods will be refused: {} (see --host-netns)", problem);
  if (auto problem = reconcile::namespace_file_problem(options.host_pidns, CLONE_NEWPID); !problem.empty())
    spdlog::warn("host PID pods will be refused: {} (see --host-pidns)", problem);
  if (auto problem = reconcile::namespace_file_problem(options.host_ipcns, CLONE_NEWIPC); !problem.empty())
    spdlog::warn("host IPC pods will be refused: {} (see --host-ipcns)", problem);
  const CrashPoints crash_points = CrashPoints::from_environment();
  if (!crash_points.empty()) spdlog::warn("crash points armed (LXE_CRASH_AT): lxe will kill itself on purpose");
  reconciler_options.crash_points = crash_points;
  reconciler_options.observer = &lxe_metrics;
  // Test hook, off unless set: marks every LXD object with the test process that owns this lxe.
  if (const char* mark = std::getenv("LXE_TEST_MARK"); mark && *mark)
    reconciler_options.mapping.extra_config["user.lxe.test-pid"] = mark;
  // Whether host paths can be staged as idmapped mounts: decided once, at adoption or at the first
  // container with volumes (it asks LXD for its PID).
  const reconcile::Volumes volumes(files, reconcile::Volumes::host_probe(files, lxd_client));
  reconcile::Reconciler reconciler(registry, lxd_client, files, volumes, reconciler_options);
  reconciler.start();
  // Instance starts, stops and deletions reach the reconciler as they happen; its periodic resync
  // covers whatever the stream misses (while LXD restarts, say).
  lxd::EventStream lxd_events(
      lxd_socket, [&](const lxd::LifecycleEvent& e) { reconciler.on_lxd_event(e); },
      [&](bool connected) {
        lxe_metrics.on_event_stream_connection(connected);
        reconciler.on_lxd_events_connection(connected);
      });
  lxd_events.start();

  // Images lxe pulls are aliased "<prefix>/<image ID>" in LXD; orphans of a crash between an
  // import and its record go at startup, as do the work folders of pulls cut short.
  images::ImageCatalog image_catalog(*store, lxd_client, options.lxd_name_prefix);
  images::PullOptions pull_options;
  pull_options.tools.registries_conf = options.registries_conf;
  pull_options.work_root = std::filesystem::path(files.root()) / "pulls";
  pull_options.default_timeout = std::chrono::seconds(options.image_pull_timeout_s);
  if (const char* mark = std::getenv("LXE_TEST_MARK"); mark && *mark) pull_options.extra_properties["lxe.test-pid"] = mark;
  if (!options.lxd_remote_config.empty()) {
    auto remotes = lxd_remotes_from_config(options.lxd_remote_config);
    if (const auto* error = std::get_if<RemoteConfigError>(&remotes)) throw StartupError(error->message);
    pull_options.lxd_remotes = std::get<images::LxdRemotes>(std::move(remotes));
    for (const auto& [name, remote] : pull_options.lxd_remotes)
      spdlog::info("LXD image remote {}: {} ({}{})", name, remote.addr, remote.protocol,
                   remote.certificate.empty() ? "" : ", with its certificate");
  }
  images::Puller puller(image_catalog, lxd_client, pull_options);
  puller.remove_leftovers();
  if (const int swept = image_catalog.sweep_orphans(); swept > 0)
    spdlog::info("deleted {} LXD image(s) lxe imported but never recorded", swept);

  cri::RuntimeContext context{registry, reconciler, files, volumes, lxd_client, lxd_health, image_catalog};
  context.network = network;
  context.host_pidns = options.host_pidns;
  context.host_ipcns = options.host_ipcns;
  context.pin_pod_namespaces = options.pod_namespaces == "pinned";
  std::unique_ptr<reconcile::Bridge> bridge;
  std::unique_ptr<reconcile::BridgeKeeper> bridge_keeper;
  if (network.plugin == reconcile::NetworkPlugin::Bridge) {
    bridge = std::make_unique<reconcile::Bridge>(network, lxd_client, reconciler_options.mapping.extra_config);
    bridge_keeper = std::make_unique<reconcile::BridgeKeeper>(*bridge, kBridgeCheckInterval);
    // A bridge LXD has but that is not lxe's (another type, another subnet) is a mistake in the
    // flags: say so and stop. While LXD does not answer, the keeper tries again in the background.
    if (const auto checked = bridge_keeper->check(); checked.mismatch)
      throw StartupError("pod network: " + checked.problem);
    bridge_keeper->start();
    context.bridge = bridge_keeper.get();
  }
  context.lxd_name_prefix = options.lxd_name_prefix;
  context.crash_points = crash_points;
  // The streaming server's sessions talk to LXD on their own connections (exec websockets).
  cri::StreamingRuntime streaming_runtime(registry, lxd_client, files);
  std::unique_ptr<streaming::Server> streaming_server;
  try {
    streaming_server = std::make_unique<streaming::Server>(
        streaming::ServerOptions{.address = options.streaming_bindaddr,
                                 .port = static_cast<uint16_t>(options.streaming_port),
                                 .tls_cert = options.streaming_tls_cert,
                                 .tls_key = options.streaming_tls_key},
        streaming_runtime);
  } catch (const std::runtime_error& e) {
    throw StartupError(std::string(e.what()) + " (see --streaming-bindaddr, --streaming-port and --streaming-tls-*)");
  }
  streaming_server->start();
  context.streaming = streaming_server.get();
  const lxd::Client stats_lxd_client(lxd::ClientOptions{
      .socket_path = lxd_socket,
      .connect_timeout = kHealthRequestTimeout,
      .request_timeout = kHealthRequestTimeout,
      .observer = &lxe_metrics,
  });
  stats::StatsSources stats_sources;  // after its client: its thread stops before the client goes
  spdlog::info("container stats from cgroup {} ({})", "/sys/fs/cgroup",
               stats_sources.cgroups.unified() ? "v2, unified" : "v1");
  // Writable layers: measured on a thread of their own, never under a CRI call. Only a dir pool's
  // rootfs is the container's own storage; LXD is asked where it is on that thread, with short
  // timeouts so that a hung LXD does not hold up lxe's shutdown.
  stats::WritableLayerOptions writable_layer_options;
  writable_layer_options.refresh_interval = std::chrono::seconds(options.writable_layer_refresh_s);
  writable_layer_options.max_entries = static_cast<uint64_t>(options.writable_layer_max_entries);
  stats_sources.writable_layers = std::make_unique<stats::WritableLayerUsage>(
      [&stats_lxd_client](const std::string& instance) -> std::optional<std::string> {
        const auto rootfs =
            reconcile::locate_instance_rootfs(stats_lxd_client, stats_lxd_client.get_instance(instance));
        if (rootfs.pool_driver != "dir") return std::nullopt;
        return rootfs.path;
      },
      writable_layer_options);
  context.stats = &stats_sources;
  state_of = [&registry, &reconciler] {
    metrics::StateSnapshot snapshot;
    registry.for_each_sandbox(
        [&](const store::SandboxRecord& s) { ++snapshot.sandboxes_by_state[std::string(store::to_string(s.observed_state))]; });
    registry.for_each_container([&](const store::ContainerRecord& c) {
      ++snapshot.containers_by_state[std::string(store::to_string(c.observed_state))];
    });
    const auto health = reconciler.health();
    snapshot.queued = health.queued;
    snapshot.processing = health.processing;
    snapshot.failing = health.failing;
    snapshot.adopted = health.adopted;
    snapshot.adoption_seconds = health.adoption_took.count();
    snapshot.reconciler_ready = reconcile::readiness_of(health).ready;
    return snapshot;
  };
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (options.metrics_port >= 0) {
    try {
      metrics_server = std::make_unique<metrics::MetricsServer>(lxe_metrics, options.metrics_bindaddr,
                                                                static_cast<uint16_t>(options.metrics_port));
    } catch (const std::runtime_error& e) {
      throw StartupError(std::string(e.what()) + " (see --metrics-bindaddr and --metrics-port)");
    }
    spdlog::info("metrics on http://{}:{}/metrics", options.metrics_bindaddr.find(':') != std::string::npos
                                                         ? "[" + options.metrics_bindaddr + "]"
                                                         : options.metrics_bindaddr,
                 metrics_server->port());
  }
  cri::RuntimeService runtime_service(context);
  cri::ImageService image_service(context, puller);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&runtime_service);
  builder.RegisterService(&image_service);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<cri::CallInterceptorFactory>(
      [&lxe_metrics](std::string_view method, int code, std::chrono::duration<double> took) {
        lxe_metrics.on_cri_call(method, code, took);
      }));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) throw StartupError("cannot serve CRI on " + socket + " (see the log above)");
  // Only root and the socket's group (kubelet's) may talk to lxe.
  if (::chmod(socket.c_str(), 0660) != 0)
    spdlog::warn("cannot set mode 0660 on {}: {}", socket, std::strerror(errno));
  spdlog::info("lxe {} serving CRI {} on {} (LXD socket {})", kVersion, kCriApiVersion, socket, lxd_socket);

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  spdlog::info("{}: shutting down", strsignal(signal_number));
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  spdlog::debug("gRPC server shut down");
  server->Wait();
  streaming_server->stop();
  lxd_events.stop();
  reconciler.stop();
  return 0;
}

}  // namespace

int run_daemon(const Options& options) {
  configure_logging(options.log_level);
  const sigset_t shutdown_signals = block_shutdown_signals();
  try {
    return serve(options, shutdown_signals);
  } catch (const StartupError& e) {
    std::fprintf(stderr, "lxe: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace lxe::daemon
