-- lxe store, schema version 6: what a container keeps of its process security.
--
-- containers.seccomp_profile: the Localhost seccomp profile the container was created with (JSON,
-- as lxe read and checked it from the node's file at CreateContainer; '' when it has none), so
-- that later edits of the file do not change a created container.
-- containers.process_user: the identity lxe-init gave the container's process when it started, from
-- started.json: '{"uid":N,"gid":N,"groups":[N,...]}' ('' until it ran, and for containers that run
-- their image's own init). ContainerStatus reports it as user.linux.
ALTER TABLE containers ADD COLUMN seccomp_profile TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN process_user TEXT NOT NULL DEFAULT '';
