-- Heap sample rows keyed by one integer, snapshot_id << 28 | stack_id, as the table's rowid.
--
-- The sample table is most of a store: 16k rows per snapshot of a mid-sized service. As a WITHOUT ROWID table
-- keyed by (snapshot_id, stack_id) a row took 16.6 to 16.9 bytes beyond 128 snapshots: the record header named
-- four columns, and SQLite leaves about 12% of each page empty when it appends to an index b-tree (it balances
-- the last pages evenly). A rowid table stores the key outside the record and fills pages when rows are
-- appended in key order, which ingest does (one snapshot at a time, stacks in id order): 15.4 bytes at 1,000
-- snapshots of the benchmark history, and reads of one snapshot stay one range scan of the primary key.
--
-- snapshot_id and stack_id stay columns (virtual: computed from the key, not stored), so `SELECT snapshot_id,
-- stack_id, inuse_space FROM sample` reads as before. A filter on them scans the table, though: to read
-- snapshots by id use the key range, `key BETWEEN id << 28 AND (id << 28) | 268435455`, as the views below do.
-- stack ids are call-site ids and must stay below 2^28 (268 million call sites; a call site row alone takes about
-- 15 bytes, so a store reaches that at 4 GB of call-site tree); snapshot ids stay below 2^35. 28 bits keep the key's
-- varint at 5 bytes for the first 127 snapshots and at 6 bytes up to snapshot 16,383 (with 32 bits it grew to 7
-- bytes from snapshot 1,024 on).
-- Refuse (a NOT NULL failure rolls the migration back) a store whose stack ids do not fit in 28 bits.
CREATE TEMP TABLE _0004_stack_ids_fit (ok INTEGER NOT NULL);
INSERT INTO _0004_stack_ids_fit SELECT CASE WHEN ifnull(max(stack_id), 0) < 268435456 THEN 1 END FROM sample;
DROP TABLE _0004_stack_ids_fit;

DROP VIEW v_leaf_value;
DROP VIEW v_stack_value;

CREATE TABLE sample_by_key (
    key INTEGER PRIMARY KEY,
    inuse_objects INTEGER NOT NULL,
    inuse_space INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL GENERATED ALWAYS AS (key >> 28) VIRTUAL REFERENCES snapshot (id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL GENERATED ALWAYS AS (key & 268435455) VIRTUAL
);
INSERT INTO sample_by_key (key, inuse_objects, inuse_space)
SELECT (snapshot_id << 28) | stack_id, inuse_objects, inuse_space
FROM sample
ORDER BY snapshot_id, stack_id;
DROP TABLE sample;
ALTER TABLE sample_by_key RENAME TO sample;

-- One row per (heap snapshot, leaf function): the in-use bytes and objects of all stacks with that leaf.
-- (As in 0002; the sample rows of each snapshot are found by their key range.)
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

-- One row per (heap snapshot, stack): in-use bytes and objects with the stack's leaf.
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
