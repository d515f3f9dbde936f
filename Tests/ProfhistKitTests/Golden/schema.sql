CREATE INDEX build_branch ON build (branch_id);

CREATE UNIQUE INDEX callsite_parent_frame ON callsite (ifnull(parent_id, 0), frame_id);

CREATE INDEX snapshot_build ON snapshot (build_id, taken_at);

CREATE UNIQUE INDEX snapshot_source ON snapshot (source_digest, build_id, run_id, taken_at);

CREATE INDEX snapshot_taken_at ON snapshot (taken_at);

CREATE TABLE allocator_wrapper (
    pattern TEXT PRIMARY KEY,
    origin TEXT NOT NULL CHECK (origin IN ('default', 'user')),
    removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1))
) WITHOUT ROWID;

CREATE TABLE binary (
    id INTEGER PRIMARY KEY,
    build_key TEXT NOT NULL,
    symbolizer TEXT NOT NULL,
    file_name TEXT NOT NULL,
    UNIQUE (build_key, symbolizer)
);

CREATE TABLE binary_symbol (
    binary_id INTEGER NOT NULL REFERENCES binary (id) ON DELETE CASCADE,
    address INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    frame_id INTEGER NOT NULL REFERENCES frame (id),
    file_id INTEGER REFERENCES string (id),
    line INTEGER,
    PRIMARY KEY (binary_id, address, depth)
) WITHOUT ROWID;

CREATE TABLE branch (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    start_branch_id INTEGER REFERENCES branch (id),
    start_build_id INTEGER,
    start_order INTEGER,
    CHECK (start_branch_id IS NULL OR start_branch_id < id)
);

CREATE TABLE build (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
, branch_id INTEGER REFERENCES branch (id), order_key INTEGER);

CREATE TABLE callsite (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES callsite (id),
    frame_id INTEGER NOT NULL REFERENCES frame (id),
    depth INTEGER NOT NULL
);

CREATE TABLE frame (
    id INTEGER PRIMARY KEY,
    name_id INTEGER NOT NULL UNIQUE REFERENCES string (id),
    is_plumbing INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE location_set (
    id INTEGER PRIMARY KEY,
    frames BLOB NOT NULL UNIQUE
);

CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    build_id INTEGER NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (build_id, name)
);

CREATE TABLE "sample" (
    key INTEGER PRIMARY KEY,
    inuse_objects INTEGER NOT NULL,
    inuse_space INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL GENERATED ALWAYS AS (key >> 28) VIRTUAL REFERENCES snapshot (id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL GENERATED ALWAYS AS (key & 268435455) VIRTUAL
);

CREATE TABLE sample_alloc (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL,
    alloc_objects INTEGER NOT NULL,
    alloc_space INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, stack_id)
) WITHOUT ROWID;

CREATE TABLE setting (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE snapshot (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('heap', 'tasks')),
    build_id INTEGER NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    taken_at INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    source_path TEXT NOT NULL,
    source_digest TEXT NOT NULL,
    source_bytes INTEGER NOT NULL,
    format TEXT NOT NULL,
    sample_period INTEGER NOT NULL DEFAULT 0,
    total REAL NOT NULL DEFAULT 0,
    total_objects REAL NOT NULL DEFAULT 0,
    header_bytes REAL,
    header_objects REAL,
    stack_count INTEGER NOT NULL DEFAULT 0
, sequence INTEGER);

CREATE TABLE snapshot_label (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL REFERENCES string (id),
    value_id INTEGER NOT NULL REFERENCES string (id),
    PRIMARY KEY (snapshot_id, key_id)
) WITHOUT ROWID;

CREATE TABLE snapshot_mapping (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    mapping_path TEXT NOT NULL,
    binary_id INTEGER REFERENCES binary (id),
    local_path TEXT,
    PRIMARY KEY (snapshot_id, mapping_path)
) WITHOUT ROWID;

CREATE TABLE stack (
    id INTEGER PRIMARY KEY REFERENCES callsite (id),
    path_digest INTEGER NOT NULL UNIQUE,
    leaf_frame_id INTEGER NOT NULL REFERENCES frame (id)
);

CREATE TABLE stack_location (
    stack_id INTEGER NOT NULL REFERENCES stack (id),
    build_id INTEGER NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    location_set_id INTEGER NOT NULL REFERENCES location_set (id),
    PRIMARY KEY (stack_id, build_id)
) WITHOUT ROWID;

CREATE TABLE string (
    id INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);

CREATE TABLE task_sample (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL,
    live_tasks INTEGER NOT NULL,
    idle_tasks INTEGER NOT NULL DEFAULT 0,
    running_tasks INTEGER NOT NULL DEFAULT 0,
    scheduled_tasks INTEGER NOT NULL DEFAULT 0,
    completed_tasks INTEGER NOT NULL DEFAULT 0,
    polls INTEGER NOT NULL DEFAULT 0,
    busy_ns INTEGER NOT NULL DEFAULT 0,
    scheduled_ns INTEGER NOT NULL DEFAULT 0,
    wakes INTEGER NOT NULL DEFAULT 0,
    self_wakes INTEGER NOT NULL DEFAULT 0,
    lost_wakers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (snapshot_id, stack_id)
) WITHOUT ROWID;

CREATE VIEW _build_key AS
SELECT
    b.id AS build_id,
    b.name AS build,
    b.branch_id,
    coalesce(b.order_key, min(s.taken_at)) AS sort_key,
    min(s.taken_at) AS first_taken_at,
    max(s.taken_at) AS last_taken_at,
    count(s.id) AS snapshot_count,
    count(DISTINCT s.run_id) AS run_count
FROM build AS b
JOIN snapshot AS s ON s.build_id = b.id
GROUP BY b.id;

CREATE VIEW branch_history AS
WITH RECURSIVE lineage (branch_id, ancestor_id, cut_order, cut_build_id, depth) AS (
    SELECT id, id, NULL, NULL, 0 FROM branch
    UNION ALL
    SELECT l.branch_id, a.start_branch_id, a.start_order, a.start_build_id, l.depth + 1
    FROM lineage AS l
    JOIN branch AS a ON a.id = l.ancestor_id
    WHERE a.start_branch_id IS NOT NULL
)
SELECT
    l.branch_id,
    br.name AS branch,
    k.build_id,
    k.build,
    own.name AS build_branch,
    row_number() OVER (PARTITION BY l.branch_id ORDER BY l.depth DESC, k.sort_key, k.build_id) AS position,
    k.first_taken_at,
    k.last_taken_at,
    k.snapshot_count,
    k.run_count
FROM lineage AS l
JOIN branch AS br ON br.id = l.branch_id
JOIN _build_key AS k ON k.branch_id = l.ancestor_id
JOIN branch AS own ON own.id = k.branch_id
WHERE l.depth = 0
    OR k.sort_key < l.cut_order
    OR (k.sort_key = l.cut_order AND k.build_id <= l.cut_build_id);

CREATE VIEW build_order AS
SELECT
    b.id AS build_id,
    b.name AS build,
    min(s.taken_at) AS first_taken_at,
    max(s.taken_at) AS last_taken_at,
    count(s.id) AS snapshot_count,
    count(DISTINCT s.run_id) AS run_count,
    row_number() OVER (ORDER BY min(s.taken_at), b.id) AS position
FROM build AS b
JOIN snapshot AS s ON s.build_id = b.id
GROUP BY b.id;

CREATE VIEW snapshot_order AS
WITH by_time AS (
    SELECT id, run_id, taken_at, row_number() OVER (PARTITION BY run_id ORDER BY taken_at, id) AS k
    FROM snapshot
),
by_sequence AS (
    SELECT id, run_id, row_number() OVER (PARTITION BY run_id ORDER BY sequence IS NULL, sequence, taken_at, id) AS k
    FROM snapshot
)
SELECT q.id AS snapshot_id, q.run_id, t.taken_at AS order_time
FROM by_sequence AS q
JOIN by_time AS t ON t.run_id = q.run_id AND t.k = q.k;

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

CREATE VIEW v_leaf_value AS
SELECT
    s.id AS snapshot_id,
    s.taken_at / 1000 AS time,
    b.name AS build,
    name.value AS leaf,
    sum(sa.inuse_space) AS inuse_space,
    sum(sa.inuse_objects) AS inuse_objects
FROM snapshot AS s
JOIN sample AS sa ON sa.key BETWEEN s.id << 28 AND (s.id << 28) | 268435455
JOIN build AS b ON b.id = s.build_id
JOIN stack AS st ON st.id = sa.stack_id
JOIN frame AS f ON f.id = st.leaf_frame_id
JOIN string AS name ON name.id = f.name_id
GROUP BY s.id, st.leaf_frame_id;

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

CREATE VIEW v_stack_value AS
SELECT
    s.id AS snapshot_id,
    s.taken_at / 1000 AS time,
    b.name AS build,
    sa.stack_id,
    name.value AS leaf,
    sa.inuse_space,
    sa.inuse_objects
FROM snapshot AS s
JOIN sample AS sa ON sa.key BETWEEN s.id << 28 AND (s.id << 28) | 268435455
JOIN build AS b ON b.id = s.build_id
JOIN stack AS st ON st.id = sa.stack_id
JOIN frame AS f ON f.id = st.leaf_frame_id
JOIN string AS name ON name.id = f.name_id;

CREATE VIEW v_task_value AS
SELECT
    t.snapshot_id,
    s.taken_at / 1000 AS time,
    b.name AS build,
    t.stack_id,
    name.value AS leaf,
    t.live_tasks,
    t.idle_tasks,
    t.running_tasks,
    t.scheduled_tasks,
    t.lost_wakers
FROM task_sample AS t
JOIN snapshot AS s ON s.id = t.snapshot_id
JOIN build AS b ON b.id = s.build_id
JOIN stack AS st ON st.id = t.stack_id
JOIN frame AS f ON f.id = st.leaf_frame_id
JOIN string AS name ON name.id = f.name_id;
