-- tokio task snapshots: per (snapshot, stack) counts of tasks. A task "stack" is its spawn location
-- (`file:line:col`, one frame), its await stack from a task dump (frames root to leaf), or `name=...;kind=...`
-- for a console recording, interned in the same call-site tree as heap stacks.
-- States follow tokio-console: completed (dropped; never live), running, scheduled, otherwise idle.
-- polls, busy_ns, scheduled_ns, wakes and self_wakes are sums over the live tasks; lost_wakers counts live
-- idle tasks with no waker left. The snapshot's total is its live task count.
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

-- One row per (task snapshot, group): live and idle tasks over time, for dashboards (epoch-second `time`).
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
