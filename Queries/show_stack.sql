-- One stack's frames from the root to the innermost, with the plumbing level of each frame.
-- Parameters: :stack (a stack id).
-- Columns: depth, callsite_id, frame (function name), plumbing (0 ordinary, 1 allocation machinery, 2 allocator).
WITH RECURSIVE chain (callsite_id, parent_id, frame_id, depth) AS (
    SELECT c.id, c.parent_id, c.frame_id, c.depth FROM callsite AS c WHERE c.id = :stack
    UNION ALL
    SELECT c.id, c.parent_id, c.frame_id, c.depth FROM callsite AS c JOIN chain ON c.id = chain.parent_id
)
SELECT chain.depth, chain.callsite_id, name.value AS frame, f.is_plumbing AS plumbing
FROM chain
JOIN frame AS f ON f.id = chain.frame_id
JOIN string AS name ON name.id = f.name_id
ORDER BY chain.depth
