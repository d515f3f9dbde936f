-- The snapshots a ranking looks at, with the build, run and time that place them on the series.
-- Parameters: :kind ('heap' or 'tasks'), :branch (a branch name: its history, see the branch_history view; NULL:
--   the store's default branch), :from_position and :to_position (build positions in that history, NULL for open
--   ends), :since and :until (epoch ms, NULL for open ends), :run (a run name or NULL), :labels (a JSON array of
--   'key=value' texts that must all be present, or NULL), :builds (a JSON array of build names, or NULL for all),
--   :snapshot (one snapshot id, or NULL).
-- Columns: snapshot_id, build_id, build, position, run_id, run, taken_at (epoch ms), order_time (epoch ms: the time
--   that places the snapshot, see the snapshot_order view), total, total_objects, sample_period,
--   labels (k=v joined by ','; '%', ',' and '=' in keys and values as %25, %2C, %3D).
-- Order: build position, then order_time: within a run, jemalloc's dump sequence from the file name.
SELECT
    s.id AS snapshot_id,
    s.build_id,
    o.build,
    o.position,
    s.run_id,
    r.name AS run,
    s.taken_at,
    so.order_time,
    s.total,
    s.total_objects,
    s.sample_period,
    (
        -- '%', ',' and '=' inside a key or value are percent-encoded, so 'k=a%2Cx%3Dy' (one label) differs from
        -- 'k=a,x=y' (two).
        SELECT group_concat(replace(replace(replace(k.value, '%', '%25'), ',', '%2C'), '=', '%3D') || '=' || replace(replace(replace(v.value, '%', '%25'), ',', '%2C'), '=', '%3D'), ',')
        FROM snapshot_label AS l
        JOIN string AS k ON k.id = l.key_id
        JOIN string AS v ON v.id = l.value_id
        WHERE l.snapshot_id = s.id
    ) AS labels
FROM snapshot AS s
JOIN branch_history AS o
    ON o.build_id = s.build_id
    AND o.branch = coalesce(:branch, (SELECT value FROM setting WHERE name = 'default_branch'))
JOIN run AS r ON r.id = s.run_id
JOIN snapshot_order AS so ON so.snapshot_id = s.id
WHERE s.kind = :kind
    AND (:from_position IS NULL OR o.position >= :from_position)
    AND (:to_position IS NULL OR o.position <= :to_position)
    AND (:since IS NULL OR s.taken_at >= :since)
    AND (:until IS NULL OR s.taken_at <= :until)
    AND (:run IS NULL OR r.name = :run)
    AND (:builds IS NULL OR o.build IN (SELECT value FROM json_each(:builds)))
    AND (:snapshot IS NULL OR s.id = :snapshot)
    AND (
        :labels IS NULL
        OR NOT EXISTS (
            SELECT 1 FROM json_each(:labels) AS wanted
            WHERE NOT EXISTS (
                SELECT 1 FROM snapshot_label AS l
                JOIN string AS k ON k.id = l.key_id
                JOIN string AS v ON v.id = l.value_id
                WHERE l.snapshot_id = s.id AND k.value || '=' || v.value = wanted.value
            )
        )
    )
ORDER BY o.position, so.order_time, s.id
