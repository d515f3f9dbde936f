-- Snapshots in time order (within a run, in the order of the dump sequence in the file names: see snapshot_order), with build, run, labels and totals.
-- Parameters: :kind ('heap', 'tasks' or NULL for all), :build (a build name or NULL for all), :branch (a branch name:
--   the snapshots of its history's builds; NULL: the store's default branch, or any branch when :build is given).
-- Columns: id, kind, build, run, taken_at (RFC 3339 UTC), total (in-use bytes for heap, live tasks for tasks),
--   total_objects, stacks, format, sample_period, labels (k=v joined by ','; '%', ',' and '=' in keys and values as %25, %2C, %3D), source.
SELECT
    s.id,
    s.kind,
    b.name AS build,
    r.name AS run,
    rfc3339(s.taken_at) AS taken_at,
    s.total,
    s.total_objects,
    s.stack_count AS stacks,
    s.format,
    s.sample_period,
    (
        -- '%', ',' and '=' inside a key or value are percent-encoded, so 'k=a%2Cx%3Dy' (one label) differs from
        -- 'k=a,x=y' (two).
        SELECT group_concat(replace(replace(replace(k.value, '%', '%25'), ',', '%2C'), '=', '%3D') || '=' || replace(replace(replace(v.value, '%', '%25'), ',', '%2C'), '=', '%3D'), ',')
        FROM snapshot_label AS l
        JOIN string AS k ON k.id = l.key_id
        JOIN string AS v ON v.id = l.value_id
        WHERE l.snapshot_id = s.id
    ) AS labels,
    s.source_path AS source
FROM snapshot AS s
JOIN build AS b ON b.id = s.build_id
JOIN run AS r ON r.id = s.run_id
JOIN snapshot_order AS so ON so.snapshot_id = s.id
WHERE (:kind IS NULL OR s.kind = :kind)
    AND (:build IS NULL OR b.name = :build)
    AND (
        (:build IS NOT NULL AND :branch IS NULL)
        OR s.build_id IN (
            SELECT h.build_id FROM branch_history AS h
            WHERE h.branch = coalesce(:branch, (SELECT value FROM setting WHERE name = 'default_branch'))
        )
    )
ORDER BY so.order_time, s.id
