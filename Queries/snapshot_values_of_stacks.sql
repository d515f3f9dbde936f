-- One snapshot's value of one metric for some stacks, in stack order (one primary-key seek per stack; heap rows
-- are keyed snapshot_id << 28 | stack_id): what `top` reads for a few stacks of many, where snapshot_values.sql
-- would scan every row of the snapshot.
-- Parameters: :snapshot (a snapshot id), :stacks (a JSON array of stack ids), :metric (as in snapshot_values.sql).
-- Columns: stack_id, value.
SELECT sa.stack_id, CASE :metric WHEN 'inuse_objects' THEN sa.inuse_objects ELSE sa.inuse_space END AS value
FROM sample AS sa
WHERE sa.key IN (SELECT (:snapshot << 28) | value FROM json_each(:stacks))
    AND :metric IN ('inuse_space', 'inuse_objects')
UNION ALL
SELECT a.stack_id, CASE :metric WHEN 'alloc_objects' THEN a.alloc_objects ELSE a.alloc_space END
FROM sample_alloc AS a
WHERE a.snapshot_id = :snapshot
    AND a.stack_id IN (SELECT value FROM json_each(:stacks))
    AND :metric IN ('alloc_space', 'alloc_objects')
UNION ALL
SELECT t.stack_id,
    CASE :metric
        WHEN 'live_tasks' THEN t.live_tasks
        WHEN 'idle_tasks' THEN t.idle_tasks
        WHEN 'running_tasks' THEN t.running_tasks
        WHEN 'scheduled_tasks' THEN t.scheduled_tasks
        WHEN 'completed_tasks' THEN t.completed_tasks
        WHEN 'polls' THEN t.polls
        WHEN 'busy_ns' THEN t.busy_ns
        WHEN 'scheduled_ns' THEN t.scheduled_ns
        WHEN 'wakes' THEN t.wakes
        WHEN 'self_wakes' THEN t.self_wakes
        ELSE t.lost_wakers
    END
FROM task_sample AS t
WHERE t.snapshot_id = :snapshot
    AND t.stack_id IN (SELECT value FROM json_each(:stacks))
    AND :metric IN (
        'live_tasks', 'idle_tasks', 'running_tasks', 'scheduled_tasks', 'completed_tasks', 'polls', 'busy_ns',
        'scheduled_ns', 'wakes', 'self_wakes', 'lost_wakers'
    )
