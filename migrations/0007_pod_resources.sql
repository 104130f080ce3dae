-- lxe store, schema version 7: a pod's own resources (in-place pod resize).
--
-- pod_sandboxes.resources_json: the pod-level LinuxContainerResources (protobuf JSON) of the last
-- UpdatePodSandboxResources, which lxe applies as a ceiling on each of the pod's containers
-- (docs/operating.md). '{}' is no ceiling: every pod starts so (RunPodSandbox's
-- LinuxPodSandboxConfig.resources is kubelet's sum of the limits its containers declare, not a
-- limit), and the sandboxes of an older lxe keep it.
ALTER TABLE pod_sandboxes ADD COLUMN resources_json TEXT NOT NULL DEFAULT '{}';
