#include "workload.h"

#include <filesystem>
#include <fstream>

#include "host.h"

namespace lxe::bench {

namespace fs = std::filesystem;

cri::PodSandboxConfig Workload::pod(const std::string& name) const {
  cri::PodSandboxConfig c;
  auto* m = c.mutable_metadata();
  m->set_name(name);
  m->set_namespace_("bench");
  m->set_uid(random_hex(8) + "-" + random_hex(4) + "-" + random_hex(4) + "-" + random_hex(4) + "-" + random_hex(12));
  m->set_attempt(0);
  c.set_log_directory(root_ + "/logs/bench_" + name + "_" + m->uid());
  // What kubelet puts there, so that the messages have their usual size.
  auto& labels = *c.mutable_labels();
  labels["io.kubernetes.pod.name"] = name;
  labels["io.kubernetes.pod.namespace"] = "bench";
  labels["io.kubernetes.pod.uid"] = m->uid();
  labels["app"] = "bench";
  auto& annotations = *c.mutable_annotations();
  annotations["kubernetes.io/config.seen"] = "2026-01-01T00:00:00.000000000Z";
  annotations["kubernetes.io/config.source"] = "api";
  // kubelet's namespace modes for a pod without shareProcessNamespace: the pod's network and IPC,
  // a PID namespace per container.
  auto* modes = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  modes->set_network(cri::POD);
  modes->set_pid(cri::CONTAINER);
  modes->set_ipc(cri::POD);
  return c;
}

cri::ContainerConfig Workload::container(const std::string& name, const cri::PodSandboxConfig& pod) const {
  cri::ContainerConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_attempt(0);
  c.mutable_image()->set_image(image_);
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
  *c.mutable_linux()->mutable_security_context()->mutable_namespace_options() =
      pod.linux().security_context().namespace_options();
  auto* resources = c.mutable_linux()->mutable_resources();
  resources->set_cpu_period(100000);
  resources->set_cpu_shares(2);
  resources->set_oom_score_adj(1000);
  // The mounts kubelet gives every container (the pod's /etc/hosts, the termination log, the
  // service account token), with host files laid out as kubelet lays them out.
  const std::string pod_dir = root_ + "/pods/" + pod.metadata().uid();
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
  // Where kubelet mounts it: in the busybox image (as in most images) /var/run is a symlink to
  // /run, which lxe resolves in the container's rootfs before the first start (LXC refuses to
  // mount through a symlink).
  add_mount("/var/run/secrets/kubernetes.io/serviceaccount", token, true);
  return c;
}

}  // namespace lxe::bench
