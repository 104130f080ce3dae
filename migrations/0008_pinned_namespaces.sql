-- lxe store, schema version 8: pods whose namespaces lxe pins itself (no holder container).
--
-- pod_sandboxes.pod_namespaces: who keeps the pod's network and IPC namespaces (and the user
-- namespace that owns them), chosen when the pod is recorded and never changed: 'holder' (an LXD
-- container running lxe-init pause; infra_pid is its init) or 'pinned' (lxe made them and keeps
-- them by bind mounts under its state folder; docs/architecture.md). Sandboxes of an older lxe
-- have holders.
-- pod_sandboxes.pinned_netns: the inode of the pinned network namespace once it is made (0 before,
-- and for holder pods). A pin that is gone or names another namespace (a host reboot) tells the
-- reconciler that the pod's namespaces are lost.
ALTER TABLE pod_sandboxes ADD COLUMN pod_namespaces TEXT NOT NULL DEFAULT 'holder'
  CHECK (pod_namespaces IN ('holder', 'pinned'));
ALTER TABLE pod_sandboxes ADD COLUMN pinned_netns INTEGER NOT NULL DEFAULT 0;
