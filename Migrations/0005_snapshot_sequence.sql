-- The order of one process's dumps, and what makes a stored file a duplicate.
-- sequence: the order number in the dump's file name: jemalloc's dump sequence (the SEQ of
-- prefix.PID.SEQ.{f,i,m,u}N.heap, counted over every dump of the process), else the file name's counter
-- (prefix.N.heap); NULL when the name has none. File modification times are lost by a plain copy; the name is not.
ALTER TABLE snapshot ADD COLUMN sequence INTEGER;

-- A file is a duplicate only for the same build, run and time (a CI retry): identical bytes at another time are
-- another observation (a process in steady state writes identical dumps), and so are identical bytes of another
-- build or run.
DROP INDEX snapshot_source;
CREATE UNIQUE INDEX snapshot_source ON snapshot (source_digest, build_id, run_id, taken_at);

-- Public view: the time that places each snapshot in order. Within a run, snapshots follow their sequence (then
-- time, then id); the run's recorded times are handed out in that order, so runs still interleave by time.
-- When every sequence is NULL, or sequence and time agree, order_time is taken_at.
-- Columns: snapshot_id, run_id, order_time (epoch ms).
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
