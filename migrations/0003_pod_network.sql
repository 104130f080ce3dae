-- lxe store, schema version 3: a pod's network, as lxe gave it at RunPodSandbox.
--   pod_network  how the pod is networked: '' (loopback only: no network plugin, and every pod
--                made before this version), 'bridge:<LXD network>' (lxe's own bridge and IPAM)
--   pod_ip       its address on that network with the prefix length, '10.233.0.5/16'; '' for none
-- Both are set once, when the pod is recorded, and never change: an address is the pod's for as
-- long as the pod is desired ready, across lxe and LXD restarts.
ALTER TABLE pod_sandboxes ADD COLUMN pod_network TEXT NOT NULL DEFAULT '';
ALTER TABLE pod_sandboxes ADD COLUMN pod_ip TEXT NOT NULL DEFAULT '';

-- The IPAM's guarantee, kept by the database too: no two pods desired ready hold one address on
-- one network. A stopped pod's address is free again (StopPodSandbox releases it).
CREATE UNIQUE INDEX pod_sandboxes_ready_ip ON pod_sandboxes (pod_network, pod_ip)
  WHERE pod_ip <> '' AND desired_state = 'ready';
