-- One snapshot's value of one metric per stack, in stack order (a range scan of the sample primary key).
-- Parameters: :snapshot (a snapshot id), :metric ('inuse_space', 'inuse_objects', 'alloc_space' or
--   'alloc_objects').
-- Columns: stack_id, value.
SELECT sa.stack_id, CASE :metric WHEN 'inuse_objects' THEN sa.inuse_objects ELSE sa.inuse_space END AS value
FROM sample AS sa
WHERE sa.snapshot_id = :snapshot AND :metric IN ('inuse_space', 'inuse_objects')
UNION ALL
SELECT a.stack_id, CASE :metric WHEN 'alloc_objects' THEN a.alloc_objects ELSE a.alloc_space END
FROM sample_alloc AS a
WHERE a.snapshot_id = :snapshot AND :metric IN ('alloc_space', 'alloc_objects')
