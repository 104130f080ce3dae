-- lxe store, schema version 5: the images lxe pulled, and what a container keeps of its image.
--
-- images: one row an image lxe pulled (an OCI image from a registry, or an LXD image from a
-- remote). LXD holds the image itself; this row is its CRI identity. Images that were in LXD
-- before (imported by an operator) have no row, and lxe never deletes them.
--   id               CRI image ID: 'sha256:<config digest>' for an OCI image, 'sha256:<LXD
--                    fingerprint>' for an LXD image
--   lxd_fingerprint  the LXD image it was imported as (aliased by id in LXD)
--   source           'oci' or 'lxd'
--   repo_tags        JSON array of normalised references with a tag ('docker.io/library/busybox:1.36')
--   repo_digests     JSON array of 'name@sha256:<manifest digest>'
--   size             bytes, as kubelet's image garbage collection counts them
--   defaults         JSON: what the image says about its process (entrypoint, cmd, env, working
--                    dir, user, stop signal, ports, labels) and its users and groups by name; '{}'
--                    for LXD images, which run their own init
--   pulled_at        ns since the epoch
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

-- containers.image_id: the CRI image ID the container was created from ('' for containers of
-- images lxe did not pull, and for rows older than this version: their ID is 'sha256:' +
-- image_ref). containers.image_defaults: a copy of the image's defaults taken at CreateContainer
-- ('' for an LXD image: the container then runs the image's init unless it gives a command), so
-- that recreating the container later gives the same process whatever became of the image.
ALTER TABLE containers ADD COLUMN image_id TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN image_defaults TEXT NOT NULL DEFAULT '';
