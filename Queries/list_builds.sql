-- The builds of a branch's history in order (its start point's builds up to the fork, then its own; each branch's
-- builds in order of their order key or first snapshot), with counts and the mean and maximum total of their
-- snapshots of one kind (in-use bytes for heap, live tasks for tasks).
-- Parameters: :kind ('heap' or 'tasks'; NULL: heap totals, builds of any kind listed), :branch (a branch name; NULL:
--   the store's default branch).
-- Columns: position, build, first_taken_at, last_taken_at (RFC 3339 UTC), snapshots, runs, mean_total, max_total,
--   branch (the branch the build belongs to).
SELECT
    o.position,
    o.build,
    rfc3339(o.first_taken_at) AS first_taken_at,
    rfc3339(o.last_taken_at) AS last_taken_at,
    o.snapshot_count AS snapshots,
    o.run_count AS runs,
    (SELECT avg(s.total) FROM snapshot AS s WHERE s.build_id = o.build_id AND s.kind = coalesce(:kind, 'heap')) AS mean_total,
    (SELECT max(s.total) FROM snapshot AS s WHERE s.build_id = o.build_id AND s.kind = coalesce(:kind, 'heap')) AS max_total,
    o.build_branch AS branch
FROM branch_history AS o
WHERE o.branch = coalesce(:branch, (SELECT value FROM setting WHERE name = 'default_branch'))
    AND (:kind IS NULL OR EXISTS (SELECT 1 FROM snapshot AS s WHERE s.build_id = o.build_id AND s.kind = :kind))
ORDER BY o.position
