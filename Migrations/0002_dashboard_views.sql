-- Views for dashboards that read the store directly (Grafana's SQLite data source, frser-sqlite-datasource;
-- any SQL client). Times are Unix epoch seconds in a column named `time`, as those data sources expect.
-- The views are part of profhist's contract: columns are added, never renamed or redefined.

-- One row per snapshot: its in-use total (bytes for heap, live tasks for tasks) over time.
CREATE VIEW v_snapshot_total AS
SELECT
    s.id AS snapshot_id,
    s.taken_at / 1000 AS time,
    s.kind,
    b.name AS build,
    r.name AS run,
    s.total,
    s.total_objects,
    s.stack_count AS stacks,
    (
        SELECT group_concat(k.value || '=' || v.value, ',')
        FROM snapshot_label AS l
        JOIN string AS k ON k.id = l.key_id
        JOIN string AS v ON v.id = l.value_id
        WHERE l.snapshot_id = s.id
    ) AS labels
FROM snapshot AS s
JOIN build AS b ON b.id = s.build_id
JOIN run AS r ON r.id = s.run_id;

-- One row per (heap snapshot, leaf function): the in-use bytes and objects of all stacks with that leaf.
CREATE VIEW v_leaf_value AS
SELECT
    sa.snapshot_id,
    s.taken_at / 1000 AS time,
    b.name AS build,
    name.value AS leaf,
    sum(sa.inuse_space) AS inuse_space,
    sum(sa.inuse_objects) AS inuse_objects
FROM sample AS sa
JOIN snapshot AS s ON s.id = sa.snapshot_id
JOIN build AS b ON b.id = s.build_id
JOIN stack AS st ON st.id = sa.stack_id
JOIN frame AS f ON f.id = st.leaf_frame_id
JOIN string AS name ON name.id = f.name_id
GROUP BY sa.snapshot_id, st.leaf_frame_id;

-- One row per (heap snapshot, stack): in-use bytes and objects with the stack's leaf.
CREATE VIEW v_stack_value AS
SELECT
    sa.snapshot_id,
    s.taken_at / 1000 AS time,
    b.name AS build,
    sa.stack_id,
    name.value AS leaf,
    sa.inuse_space,
    sa.inuse_objects
FROM sample AS sa
JOIN snapshot AS s ON s.id = sa.snapshot_id
JOIN build AS b ON b.id = s.build_id
JOIN stack AS st ON st.id = sa.stack_id
JOIN frame AS f ON f.id = st.leaf_frame_id
JOIN string AS name ON name.id = f.name_id;

-- One row per (build, kind) in build order: the mean and maximum total over the build's snapshots, at the
-- time of its first snapshot.
CREATE VIEW v_build_total AS
SELECT
    o.position,
    o.build,
    min(s.taken_at) / 1000 AS time,
    s.kind,
    avg(s.total) AS mean_total,
    max(s.total) AS max_total,
    count(*) AS snapshots,
    count(DISTINCT s.run_id) AS runs
FROM snapshot AS s
JOIN build_order AS o ON o.build_id = s.build_id
GROUP BY o.build_id, s.kind;
