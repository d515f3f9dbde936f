-- Builds in order of their first snapshot, with counts and the mean heap total of their snapshots.
-- Parameters: none.
-- Columns: position, build, first_taken_at, last_taken_at (RFC 3339 UTC), snapshots, runs, mean_total (bytes),
--   max_total (bytes).
SELECT
    o.position,
    o.build,
    rfc3339(o.first_taken_at) AS first_taken_at,
    rfc3339(o.last_taken_at) AS last_taken_at,
    o.snapshot_count AS snapshots,
    o.run_count AS runs,
    (SELECT avg(s.total) FROM snapshot AS s WHERE s.build_id = o.build_id AND s.kind = 'heap') AS mean_total,
    (SELECT max(s.total) FROM snapshot AS s WHERE s.build_id = o.build_id AND s.kind = 'heap') AS max_total
FROM build_order AS o
ORDER BY o.position
