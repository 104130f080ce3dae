-- lxe store, schema version 4: what CNI mode (--network-plugin cni) keeps of a pod's network.
--   cni_network  the network configuration list the pod was set up with, as lxe loaded it from the
--                conf dir when the pod was recorded (JSON: name, cniVersion, plugins, file); DEL
--                uses it even after the conf dir changed. '' outside CNI mode
--   cni_state    how far ADD got: '' (not run, or undone by DEL), 'adding' (lxe was about to run
--                it; after a crash lxe runs DEL before it tries again), 'added' (done: never run
--                again for this pod, across lxe and LXD restarts)
--   cni_result   ADD's result (JSON), the prevResult of DEL; '' until ADD is done
-- pod_ip is set from the result's first address when ADD is done (the IPAM is the plugin's).
ALTER TABLE pod_sandboxes ADD COLUMN cni_network TEXT NOT NULL DEFAULT '';
ALTER TABLE pod_sandboxes ADD COLUMN cni_state TEXT NOT NULL DEFAULT ''
  CHECK (cni_state IN ('', 'adding', 'added'));
ALTER TABLE pod_sandboxes ADD COLUMN cni_result TEXT NOT NULL DEFAULT '';
