-- Branches: a build belongs to one branch, a line of builds. A branch other than the store's default has a start
-- point, the branch and build it forked from; its history is the start-point branch's history up to and including
-- that build, then its own builds. So a pull request is judged against what it will merge into, and never appears
-- in that branch's own history. Stores written before this migration have every build on the default branch, main.

-- Store-wide settings. default_branch: the branch that commands read when no --branch is given, and that ingest
-- writes to when neither --branch nor the CI's variables name one.
CREATE TABLE setting (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO setting (name, value) VALUES ('default_branch', 'main');

-- A line of builds. start_branch_id: the branch it forked from (NULL for a root branch, such as the default); always
-- an older branch, so start points never form a cycle. start_build_id: the fork build, a build of the start branch
-- (NULL when that branch had no build yet), and start_order: that build's order key within its branch when the
-- branch was first seen. Neither is a foreign key: the history stays cut at the same place after gc removes the
-- fork build.
CREATE TABLE branch (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    start_branch_id INTEGER REFERENCES branch (id),
    start_build_id INTEGER,
    start_order INTEGER,
    CHECK (start_branch_id IS NULL OR start_branch_id < id)
);
INSERT INTO branch (id, name) VALUES (1, 'main');

-- branch_id: the build's branch. order_key: the build's place within its branch when the user gave one at ingest
-- (--order-key: a commit number, or a commit time in epoch milliseconds), else NULL: builds are then ordered by the
-- time of their first snapshot.
ALTER TABLE build ADD COLUMN branch_id INTEGER REFERENCES branch (id);
ALTER TABLE build ADD COLUMN order_key INTEGER;
UPDATE build SET branch_id = 1;
CREATE INDEX build_branch ON build (branch_id);

-- Private: each build that has snapshots, with its branch and the key that orders it within the branch (its
-- order_key, else the time of its first snapshot; ties by id).
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

-- Public: the history of every branch, one row per (branch, build) in order: the builds of its start-point
-- branch up to the fork (recursively), then its own builds. On a store with one branch, position equals
-- build_order's. Columns: branch_id, branch, build_id, build, build_branch (the branch the build belongs to),
-- position (1-based place in the branch's history), first_taken_at, last_taken_at (epoch ms), snapshot_count,
-- run_count.
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
