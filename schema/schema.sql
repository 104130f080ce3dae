-- The current lxe store schema, for readers: the result of applying every file under migrations/
-- in order (a unit test checks that the two agree). Regenerate with scripts/dump-schema.sh.

CREATE TABLE pod_sandboxes (
  id                  TEXT    PRIMARY KEY,                 -- CRI pod sandbox ID (64 hex chars)
  name                TEXT    NOT NULL,                    -- metadata.name
  namespace           TEXT    NOT NULL,                    -- metadata.namespace
  uid                 TEXT    NOT NULL,                    -- metadata.uid
  attempt             INTEGER NOT NULL,                    -- metadata.attempt
  lxd_name            TEXT    NOT NULL UNIQUE,             -- name of the LXD objects lxe made for it
  runtime_handler     TEXT    NOT NULL DEFAULT '',
  labels_json         TEXT    NOT NULL DEFAULT '{}',
  annotations_json    TEXT    NOT NULL DEFAULT '{}',
  config_json         TEXT    NOT NULL,                    -- PodSandboxConfig as received
  infra_pid           INTEGER NOT NULL DEFAULT 0,          -- host PID holding the pod's namespaces
  created_at          INTEGER NOT NULL,
  desired_state       TEXT    NOT NULL
                      CHECK (desired_state IN ('ready', 'notready', 'removed')),
  observed_state      TEXT    NOT NULL DEFAULT 'unknown'
                      CHECK (observed_state IN ('unknown', 'absent', 'ready', 'notready')),
  generation          INTEGER NOT NULL DEFAULT 1,          -- bumped by every change of desired state
  observed_generation INTEGER NOT NULL DEFAULT 0,          -- the generation LXD was last brought to
  last_error          TEXT    NOT NULL DEFAULT '',         -- last reconcile failure, '' when none
  updated_at          INTEGER NOT NULL, last_error_kind TEXT NOT NULL DEFAULT ''
  CHECK (last_error_kind IN ('', 'unavailable', 'busy', 'refused', 'host')), pod_network TEXT NOT NULL DEFAULT '', pod_ip TEXT NOT NULL DEFAULT '', cni_network TEXT NOT NULL DEFAULT '', cni_state TEXT NOT NULL DEFAULT ''
  CHECK (cni_state IN ('', 'adding', 'added')), cni_result TEXT NOT NULL DEFAULT '', resources_json TEXT NOT NULL DEFAULT '{}', pod_namespaces TEXT NOT NULL DEFAULT 'holder'
  CHECK (pod_namespaces IN ('holder', 'pinned')), pinned_netns INTEGER NOT NULL DEFAULT 0,
  UNIQUE (namespace, name, uid, attempt)
);
CREATE TABLE containers (
  id                  TEXT    PRIMARY KEY,                 -- CRI container ID (64 hex chars)
  sandbox_id          TEXT    NOT NULL REFERENCES pod_sandboxes (id),
  name                TEXT    NOT NULL,                    -- metadata.name
  attempt             INTEGER NOT NULL,                    -- metadata.attempt
  lxd_name            TEXT    NOT NULL UNIQUE,             -- the LXD instance
  image               TEXT    NOT NULL,                    -- image as requested
  image_ref           TEXT    NOT NULL DEFAULT '',         -- resolved LXD image fingerprint
  labels_json         TEXT    NOT NULL DEFAULT '{}',
  annotations_json    TEXT    NOT NULL DEFAULT '{}',
  config_json         TEXT    NOT NULL,                    -- ContainerConfig as received
  resources_json      TEXT    NOT NULL DEFAULT '{}',       -- desired LinuxContainerResources
  log_path            TEXT    NOT NULL DEFAULT '',         -- absolute: log_directory + log_path
  stop_timeout        INTEGER NOT NULL DEFAULT 0,          -- seconds of grace the last StopContainer gave
  created_at          INTEGER NOT NULL,
  started_at          INTEGER NOT NULL DEFAULT 0,
  finished_at         INTEGER NOT NULL DEFAULT 0,
  exit_code           INTEGER NOT NULL DEFAULT 0,
  reason              TEXT    NOT NULL DEFAULT '',         -- Completed, Error, OOMKilled, ...
  message             TEXT    NOT NULL DEFAULT '',
  desired_state       TEXT    NOT NULL
                      CHECK (desired_state IN ('created', 'running', 'exited', 'removed')),
  observed_state      TEXT    NOT NULL DEFAULT 'unknown'
                      CHECK (observed_state IN ('unknown', 'absent', 'created', 'running', 'exited')),
  generation          INTEGER NOT NULL DEFAULT 1,
  observed_generation INTEGER NOT NULL DEFAULT 0,
  last_error          TEXT    NOT NULL DEFAULT '',
  updated_at          INTEGER NOT NULL, last_error_kind TEXT NOT NULL DEFAULT ''
  CHECK (last_error_kind IN ('', 'unavailable', 'busy', 'refused', 'host')), image_id TEXT NOT NULL DEFAULT '', image_defaults TEXT NOT NULL DEFAULT '', seccomp_profile TEXT NOT NULL DEFAULT '', process_user TEXT NOT NULL DEFAULT '',
  UNIQUE (sandbox_id, name, attempt)
);
CREATE INDEX containers_by_sandbox ON containers (sandbox_id);
CREATE TABLE reconcile_events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  object_kind TEXT    NOT NULL CHECK (object_kind IN ('sandbox', 'container')),
  object_id   TEXT    NOT NULL,
  generation  INTEGER NOT NULL,
  action      TEXT    NOT NULL,                            -- e.g. create-profile, start-instance, observe
  outcome     TEXT    NOT NULL CHECK (outcome IN ('ok', 'error', 'info')),
  detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX reconcile_events_by_object ON reconcile_events (object_id, seq);
CREATE TRIGGER reconcile_events_append_only BEFORE UPDATE ON reconcile_events
BEGIN
  SELECT RAISE(ABORT, 'reconcile_events is append-only');
END;
CREATE UNIQUE INDEX pod_sandboxes_ready_ip ON pod_sandboxes (pod_network, pod_ip)
  WHERE pod_ip <> '' AND desired_state = 'ready';
CREATE TABLE images (
  id               TEXT    PRIMARY KEY,
  lxd_fingerprint  TEXT    NOT NULL,
  source           TEXT    NOT NULL CHECK (source IN ('oci', 'lxd')),
  repo_tags        TEXT    NOT NULL DEFAULT '[]',
  repo_digests     TEXT    NOT NULL DEFAULT '[]',
  size             INTEGER NOT NULL DEFAULT 0,
  defaults         TEXT    NOT NULL DEFAULT '{}',
  pulled_at        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX images_by_fingerprint ON images (lxd_fingerprint);

PRAGMA user_version = 8;
