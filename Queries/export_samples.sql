-- Every sample as one row per (snapshot, stack, metric): the long format dashboards read.
-- Parameters: :kind ('heap', 'tasks' or NULL), :build (a build name or NULL), :snapshot (an id or NULL).
-- Columns: snapshot_id, kind, build, run, taken_at (epoch ms), stack_id, leaf, metric, value.
--   metric is inuse_space (bytes) or inuse_objects, plus alloc_space and alloc_objects for dumps taken with
--   prof_accum:true. The folded stack is added by profhist from stack_id.
SELECT
    s.id AS snapshot_id,
    s.kind,
    b.name AS build,
    r.name AS run,
    s.taken_at,
    m.stack_id,
    leaf.value AS leaf,
    m.metric,
    m.value
FROM snapshot AS s
JOIN build AS b ON b.id = s.build_id
JOIN run AS r ON r.id = s.run_id
JOIN (
    SELECT snapshot_id, stack_id, 'inuse_space' AS metric, inuse_space AS value, 0 AS metric_order FROM sample
    UNION ALL
    SELECT snapshot_id, stack_id, 'inuse_objects', inuse_objects, 1 FROM sample
    UNION ALL
    SELECT snapshot_id, stack_id, 'alloc_space', alloc_space, 2 FROM sample_alloc
    UNION ALL
    SELECT snapshot_id, stack_id, 'alloc_objects', alloc_objects, 3 FROM sample_alloc
) AS m ON m.snapshot_id = s.id
JOIN stack AS st ON st.id = m.stack_id
JOIN frame AS lf ON lf.id = st.leaf_frame_id
JOIN string AS leaf ON leaf.id = lf.name_id
WHERE (:kind IS NULL OR s.kind = :kind)
    AND (:build IS NULL OR b.name = :build)
    AND (:snapshot IS NULL OR s.id = :snapshot)
ORDER BY s.taken_at, s.id, m.stack_id, m.metric_order
