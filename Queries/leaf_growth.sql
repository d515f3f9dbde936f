-- Growth per leaf function across builds in plain SQL, with profhist's statistics functions: the slope per
-- build, the Mann-Kendall trend p-value and the most significant level shift of each leaf's per-run values
-- (a leaf absent from a run counts as 0 there). An example to adapt; 'profhist top --group leaf' adds FDR
-- control, magnitude floors and dating of trends.
-- Parameters: :limit (rows; NULL for all), :branch (a branch name: the builds of its history; NULL: the store's
--   default branch).
-- Columns: leaf, builds, slope (bytes per build), trend_p, change (JSON: x = position of the first build after
--   the shift, before, after, p, changes).
WITH run_point AS (
    SELECT DISTINCT o.position, s.run_id
    FROM snapshot AS s
    JOIN branch_history AS o
        ON o.build_id = s.build_id AND o.branch = coalesce(:branch, (SELECT value FROM setting WHERE name = 'default_branch'))
    WHERE s.kind = 'heap'
),
per_run AS (
    SELECT o.position, s.run_id, st.leaf_frame_id,
        sum(sa.inuse_space) * 1.0 / (SELECT count(*) FROM snapshot AS x WHERE x.run_id = s.run_id) AS bytes
    FROM sample AS sa
    JOIN snapshot AS s ON s.id = sa.snapshot_id
    JOIN branch_history AS o
        ON o.build_id = s.build_id AND o.branch = coalesce(:branch, (SELECT value FROM setting WHERE name = 'default_branch'))
    JOIN stack AS st ON st.id = sa.stack_id
    WHERE s.kind = 'heap'
    GROUP BY o.position, s.run_id, st.leaf_frame_id
),
leaf AS (SELECT DISTINCT leaf_frame_id FROM per_run),
filled AS (
    SELECT rp.position, rp.run_id, leaf.leaf_frame_id, coalesce(p.bytes, 0) AS bytes
    FROM run_point AS rp
    CROSS JOIN leaf
    LEFT JOIN per_run AS p
        ON p.position = rp.position AND p.run_id = rp.run_id AND p.leaf_frame_id = leaf.leaf_frame_id
)
SELECT
    name.value AS leaf,
    count(DISTINCT filled.position) AS builds,
    ls_slope(filled.position, filled.bytes) AS slope,
    trend_p(filled.position, filled.bytes) AS trend_p,
    change_point(filled.position, filled.bytes) AS change
FROM filled
JOIN frame AS f ON f.id = filled.leaf_frame_id
JOIN string AS name ON name.id = f.name_id
GROUP BY filled.leaf_frame_id
ORDER BY slope DESC
LIMIT coalesce(:limit, -1)
