-- Mean in-use bytes per leaf function and build (the mean over each build's heap snapshots), largest first.
-- Parameters: :limit (rows; NULL for all), :branch (a branch name: the builds of its history; NULL: the store's
--   default branch).
-- Columns: build, position (the build's place in time), leaf, mean_inuse_space (bytes), snapshots.
WITH per_snapshot AS (
    SELECT s.build_id, sa.snapshot_id, st.leaf_frame_id, sum(sa.inuse_space) AS bytes
    FROM sample AS sa
    JOIN snapshot AS s ON s.id = sa.snapshot_id
    JOIN stack AS st ON st.id = sa.stack_id
    WHERE s.kind = 'heap'
    GROUP BY sa.snapshot_id, st.leaf_frame_id
),
build_size AS (
    SELECT build_id, count(*) AS snapshots FROM snapshot WHERE kind = 'heap' GROUP BY build_id
)
SELECT
    o.build,
    o.position,
    name.value AS leaf,
    sum(p.bytes) * 1.0 / bs.snapshots AS mean_inuse_space,
    bs.snapshots
FROM per_snapshot AS p
JOIN branch_history AS o
    ON o.build_id = p.build_id AND o.branch = coalesce(:branch, (SELECT value FROM setting WHERE name = 'default_branch'))
JOIN build_size AS bs ON bs.build_id = p.build_id
JOIN frame AS f ON f.id = p.leaf_frame_id
JOIN string AS name ON name.id = f.name_id
GROUP BY p.build_id, p.leaf_frame_id
ORDER BY o.position, mean_inuse_space DESC
LIMIT coalesce(:limit, -1)
