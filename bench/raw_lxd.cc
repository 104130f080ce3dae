#include "raw_lxd.h"

#include <filesystem>

#include "model/naming.h"
#include "reconcile/cgroup_cleanup.h"
#include "reconcile/pinned_namespaces.h"
#include "reconcile/pod_namespaces.h"
#include "model/stored_config.h"

namespace lxe::bench {

namespace fs = std::filesystem;

RawLxd::RawLxd(const lxd::Client& lxd, std::string prefix, const std::string& root, const std::string& init_binary,
               lxd::Config marks, reconcile::Volumes::Probe volumes_probe)
    : lxd_(lxd),
      prefix_(std::move(prefix)),
      files_(root),
      volumes_(files_, volumes_probe ? std::move(volumes_probe) : reconcile::Volumes::host_probe(files_, lxd)) {
  reconcile::make_dirs(files_.root());
  files_.install_init_binary(init_binary);
  mapping_.extra_config = std::move(marks);
}

RawPod RawLxd::pod(const cri::PodSandboxConfig& config) const {
  // As RuntimeService::RunPodSandbox fills the record (the bench asks for the default handler).
  RawPod p{{}, config};
  auto& s = p.record;
  const auto& m = config.metadata();
  s.id = model::new_id();
  s.lxd_name = model::sandbox_lxd_name(prefix_, m.name(), s.id);
  s.name = m.name();
  s.namespace_ = m.namespace_();
  s.uid = m.uid();
  s.attempt = m.attempt();
  s.labels = {config.labels().begin(), config.labels().end()};
  s.annotations = {config.annotations().begin(), config.annotations().end()};
  s.config_json = model::to_json(config);
  s.desired_state = store::SandboxState::Ready;
  // The measured lxe runs with --network-plugin none and pins what it can.
  s.pod_namespaces = reconcile::pod_namespace_keeper(config, false, true);
  return p;
}

RawContainer RawLxd::container(const RawPod& pod, const cri::ContainerConfig& config) const {
  // As RuntimeService::CreateContainer fills the record.
  RawContainer c{{}, config};
  auto& k = c.record;
  k.id = model::new_id();
  k.sandbox_id = pod.record.id;
  k.name = config.metadata().name();
  k.attempt = config.metadata().attempt();
  k.lxd_name = model::container_lxd_name(prefix_, pod.record.name, k.name, k.id);
  k.image = config.image().image();
  k.labels = {config.labels().begin(), config.labels().end()};
  k.annotations = {config.annotations().begin(), config.annotations().end()};
  k.config_json = model::to_json(config);
  if (config.has_linux() && config.linux().has_resources())
    k.resources_json = model::to_json(config.linux().resources());
  if (!config.log_path().empty())
    k.log_path = (fs::path(pod.config.log_directory()) / config.log_path()).lexically_normal().string();
  k.desired_state = store::ContainerState::Created;
  return c;
}

lxd::ProfileSpec RawLxd::profile_spec(const RawPod& pod) const {
  return reconcile::sandbox_profile(pod.record, pod.config, files_, mapping_);
}

lxd::InstanceSpec RawLxd::holder_spec(const RawPod& pod) const {
  return reconcile::infra_instance(pod.record, pod.config, files_, mapping_);
}

lxd::InstanceSpec RawLxd::container_spec(const RawContainer& container, const RawPod& pod) const {
  return reconcile::container_instance(container.record, container.config, pod.record, pod.config, files_, mapping_,
                                       volumes_.layout(container.record.id, container.config));
}

const std::map<std::string, std::string>& RawLxd::steps() {
  static const std::map<std::string, std::string> steps = {
      {"RunPodSandbox",
       "create profile; then, pinned: make and pin the user, network and IPC namespaces (no LXD call); with a holder: "
       "GET pause alias, create holder, start, init PID (its cgroup)"},
      {"CreateContainer",
       "GET image alias, spec.json + log file, volumes' mount points, create instance, GET instance (idmap), chown"},
      {"StartContainer",
       "GET instance, GET storage pool, container paths resolved in the rootfs, idmapped mounts staged, PATCH "
       "mount devices, start"},
      {"StopContainer", "stop (force)"},
      {"RemoveContainer", "delete instance, unmount the staged volumes"},
      {"StopPodSandbox", "pinned: unpin; with a holder: stop holder (force)"},
      {"RemovePodSandbox", "delete profile; with a holder: delete holder first"},
  };
  return steps;
}

// The executor's CreateProfile, then PinNamespaces for a pod without a holder, or CreateInfra (its
// pause image is there: lxe imported it), StartInfra and RecordInfraPid.
void RawLxd::run_pod(RawPod& pod) const {
  if (const std::string dns = reconcile::resolv_conf(pod.config); !dns.empty()) {
    reconcile::make_dirs(files_.sandbox_dir(pod.record.id));
    reconcile::write_file_atomic(files_.sandbox_dir(pod.record.id) + "/resolv.conf", dns, 0644);
  }
  lxd_.create_profile(profile_spec(pod));
  if (pod.record.pod_namespaces == store::PodNamespaces::Pinned) {
    pod.record.pinned_netns =
        reconcile::pin_pod_namespaces(files_.pod_namespaces_dir(pod.record.id), mapping_.pod_idmap);
    return;
  }
  lxd_.get_image_alias(mapping_.pause_image_alias);
  lxd_.create_instance(holder_spec(pod));
  lxd_.start_instance(pod.record.lxd_name);
  // As the executor reads it: from the holder's cgroup, LXD's /state where that does not tell.
  const auto pid = reconcile::cgroup_init_pid(pod.record.lxd_name, mapping_.cgroup_root);
  pod.record.infra_pid = pid ? *pid : lxd_.get_instance_state(pod.record.lxd_name).pid;
}

// The facade's image lookup, then the executor's CreateInstance.
void RawLxd::create(RawContainer& container, const RawPod& pod) const {
  auto& k = container.record;
  k.image_ref = lxd_.get_image_alias(k.image).target;
  const std::string dir = files_.container_dir(k.id);
  reconcile::make_dirs(dir);
  files_.clear_run_records(k.id);
  if (!reconcile::runs_image_init(k, container.config))
    reconcile::write_file_atomic(dir + "/spec.json",
                                 reconcile::init_spec(k, container.config, pod.record, pod.config).dump(2), 0644);
  if (!k.log_path.empty()) {
    reconcile::make_dirs(fs::path(k.log_path).parent_path().string());
    if (!fs::exists(k.log_path)) reconcile::write_file_atomic(k.log_path, "", 0640);
  }
  volumes_.make_mount_points(k.id, container.config);
  lxd_.create_instance(container_spec(container, pod));
  const auto [uid, gid] = reconcile::root_host_ids(lxd_.get_instance(k.lxd_name));
  reconcile::change_owner(dir, uid, gid);
  if (!k.log_path.empty()) reconcile::change_owner(k.log_path, uid, gid);
}

// The executor's StageVolumes (a container with mounts) and StartInstance.
void RawLxd::start(const RawContainer& container) const {
  if (container.config.mounts_size() > 0)
    reconcile::stage_volumes(volumes_, lxd_, files_, container.record, container.config);
  files_.clear_run_records(container.record.id);
  lxd_.start_instance(container.record.lxd_name);
}

// StopContainer with timeout 0, as the bench asks: a forced stop.
void RawLxd::stop(const RawContainer& container) const {
  lxd_.stop_instance(container.record.lxd_name, lxd::StopMode::Force);
}

void RawLxd::remove(const RawContainer& container) const {
  lxd_.delete_instance(container.record.lxd_name);
  volumes_.remove(container.record.id);
  files_.remove_container_dir(container.record.id);
}

// The executor's UnpinNamespaces, or StopInfra (a forced stop of the holder).
void RawLxd::stop_pod(const RawPod& pod) const {
  if (pod.record.pod_namespaces == store::PodNamespaces::Pinned)
    reconcile::unpin_pod_namespaces(files_.pod_namespaces_dir(pod.record.id));
  else
    lxd_.stop_instance(pod.record.lxd_name, lxd::StopMode::Force);
}

// After stop_pod: DeleteInfra (with a holder), DeleteProfile, EraseRecord. (Unpinning again and
// stopping a stopped holder are no-ops, as after a StopPodSandbox.)
void RawLxd::remove_pod(const RawPod& pod) const {
  stop_pod(pod);
  if (pod.record.pod_namespaces != store::PodNamespaces::Pinned) lxd_.delete_instance(pod.record.lxd_name);
  lxd_.delete_profile(pod.record.lxd_name);
  files_.remove_sandbox_dir(pod.record.id);
}

}  // namespace lxe::bench
