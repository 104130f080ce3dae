-- lxe store, schema version 2: what kind of failure last_error is, next to it, so that nothing has
-- to guess the kind from the message ('' when there is no failure).
--   unavailable  LXD did not answer (socket gone, timeout)
--   busy         LXD was busy with another operation on the object for a moment (retried)
--   refused      LXD refused the request, or its operation failed
--   host         a step on the host (files, mounts, lxe's own data) failed

ALTER TABLE pod_sandboxes ADD COLUMN last_error_kind TEXT NOT NULL DEFAULT ''
  CHECK (last_error_kind IN ('', 'unavailable', 'busy', 'refused', 'host'));
ALTER TABLE containers ADD COLUMN last_error_kind TEXT NOT NULL DEFAULT ''
  CHECK (last_error_kind IN ('', 'unavailable', 'busy', 'refused', 'host'));

-- Failures recorded by schema version 1 carried their kind only in the text (the reconciler wrote
-- "LXD unavailable: " for LXD not answering; LXD says "is busy" for its transient refusals). This
-- reads them once, here, so that no code ever has to.
UPDATE pod_sandboxes SET last_error_kind = CASE
    WHEN last_error LIKE '%LXD unavailable: %' THEN 'unavailable'
    WHEN last_error LIKE '%is busy%' THEN 'busy'
    ELSE 'refused' END
  WHERE last_error <> '';
UPDATE containers SET last_error_kind = CASE
    WHEN last_error LIKE '%LXD unavailable: %' THEN 'unavailable'
    WHEN last_error LIKE '%is busy%' THEN 'busy'
    ELSE 'refused' END
  WHERE last_error <> '';
