-- The profhist store: builds, runs, snapshots, interned strings, frames and a call-site tree, and narrow
-- sample rows. Modelled on Perfetto's heap-profile tables (mapping -> frame -> callsite(parent, depth, frame)).
-- Times are Unix epoch milliseconds, UTC. Public tables and views carry a comment; private helpers start with _.

-- Every distinct text (function names, file names, label keys and values, module names) is stored once.
CREATE TABLE string (
    id INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);

-- A build: a name the user gives at ingest (a git SHA, a version). Builds are ordered by the time of their
-- first snapshot (see the build_order view), not by id.
CREATE TABLE build (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- A run: one execution of the program within a build. `name` is the user's --run, or derived from the dump
-- (jemalloc's file name carries the process id) so that dumps of one process group together.
CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    build_id INTEGER NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (build_id, name)
);

-- A function as it appears in a stack: demangled, Rust hashes stripped, or `module+0xOFFSET` when no symbol
-- was found. Identity across builds is by this name alone; lines and addresses live in stack_location.
-- is_plumbing: 2 = allocator entry or internals (jeprof cuts the stack there), 1 = allocation machinery
-- skipped when naming a leaf (Rust alloc::, C++ std::allocator, ...), 0 = ordinary code.
CREATE TABLE frame (
    id INTEGER PRIMARY KEY,
    name_id INTEGER NOT NULL UNIQUE REFERENCES string (id),
    is_plumbing INTEGER NOT NULL DEFAULT 0
);

-- The call-site tree: each row is a frame reached through a parent call site; a root has parent_id NULL.
-- A stack is identified by the call site of its leaf, so `stack_id` everywhere is a callsite id.
CREATE TABLE callsite (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES callsite (id),
    frame_id INTEGER NOT NULL REFERENCES frame (id),
    depth INTEGER NOT NULL
);
CREATE UNIQUE INDEX callsite_parent_frame ON callsite (ifnull(parent_id, 0), frame_id);

-- A stack that carries samples: its leaf call site, a 64-bit digest of its frame names (root to leaf) so an
-- ingest finds known stacks without walking the tree, and its leaf: the innermost frame that is not
-- allocator plumbing ("who allocated").
CREATE TABLE stack (
    id INTEGER PRIMARY KEY REFERENCES callsite (id),
    path_digest INTEGER NOT NULL UNIQUE,
    leaf_frame_id INTEGER NOT NULL REFERENCES frame (id)
);

-- Where the frames of a stack were, for display only (never part of identity): a blob of unsigned LEB128
-- varints, three per frame from the root: file string id (0: unknown), line (0: unknown), and 1 if the frame
-- was inlined into its caller, else 0. Interned: builds whose lines did not move share one row.
CREATE TABLE location_set (
    id INTEGER PRIMARY KEY,
    frames BLOB NOT NULL UNIQUE
);

-- The locations of a stack's frames in one build, written by the first snapshot of the build that has it.
CREATE TABLE stack_location (
    stack_id INTEGER NOT NULL REFERENCES stack (id),
    build_id INTEGER NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    location_set_id INTEGER NOT NULL REFERENCES location_set (id),
    PRIMARY KEY (stack_id, build_id)
) WITHOUT ROWID;

-- One ingested file. kind: 'heap' or 'tasks'. format: the input format detected ('jemalloc_heap_v2', ...).
-- sample_period: jemalloc's mean sampling interval R in bytes (2^lg_prof_sample), 0 when not sampled.
-- total / total_objects: in-use bytes and objects after unsampling, the sum of the snapshot's sample rows (heap), or
-- live tasks (tasks).
-- header_*: the dump's own process totals (t*: line), unsampled, kept to check the sum of stacks against.
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
);
CREATE INDEX snapshot_build ON snapshot (build_id, taken_at);
-- A file is stored once: a heap dump once in the store (profhist checks before inserting), a task snapshot
-- once per build and run (task snapshots hold no addresses, so two builds can produce identical files).
CREATE UNIQUE INDEX snapshot_source ON snapshot (source_digest, build_id, run_id);
CREATE INDEX snapshot_taken_at ON snapshot (taken_at);

-- Labels given at ingest (--label key=value).
CREATE TABLE snapshot_label (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL REFERENCES string (id),
    value_id INTEGER NOT NULL REFERENCES string (id),
    PRIMARY KEY (snapshot_id, key_id)
) WITHOUT ROWID;

-- In-use memory per (snapshot, stack), unsampled as jeprof does (each dump line adjusted on its own, then
-- summed per symbolized stack) and rounded to integers. jemalloc >= 5.3 writes pre-biased pairs whose raw
-- values mean nothing alone, and lines that symbolize to one stack are summed after adjustment, so the
-- adjusted values are the faithful ones; the source file is named by its digest for re-derivation.
-- Kept narrow: this table is most of the store.
CREATE TABLE sample (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL,
    inuse_objects INTEGER NOT NULL,
    inuse_space INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, stack_id)
) WITHOUT ROWID;

-- Cumulative allocations per (snapshot, stack), present only when the process ran with prof_accum:true.
CREATE TABLE sample_alloc (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL,
    alloc_objects INTEGER NOT NULL,
    alloc_space INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, stack_id)
) WITHOUT ROWID;

-- An ELF file that symbolized a snapshot, identified by its GNU build-id (hex) or, without one, by a digest of
-- its contents. symbolizer: 'llvm-symbolizer' (DWARF: inline chains, file:line) or 'elf' (symbol tables).
CREATE TABLE binary (
    id INTEGER PRIMARY KEY,
    build_key TEXT NOT NULL,
    symbolizer TEXT NOT NULL,
    file_name TEXT NOT NULL,
    UNIQUE (build_key, symbolizer)
);

-- Which binary each mapping of a snapshot was symbolized with (or NULL binary_id: no symbols found).
CREATE TABLE snapshot_mapping (
    snapshot_id INTEGER NOT NULL REFERENCES snapshot (id) ON DELETE CASCADE,
    mapping_path TEXT NOT NULL,
    binary_id INTEGER REFERENCES binary (id),
    local_path TEXT,
    PRIMARY KEY (snapshot_id, mapping_path)
) WITHOUT ROWID;

-- The symbol cache: what one address of one binary symbolized to. An address expands to an inline chain:
-- depth 0 is the outermost (the real function), higher depths are frames inlined into it.
CREATE TABLE binary_symbol (
    binary_id INTEGER NOT NULL REFERENCES binary (id) ON DELETE CASCADE,
    address INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    frame_id INTEGER NOT NULL REFERENCES frame (id),
    file_id INTEGER REFERENCES string (id),
    line INTEGER,
    PRIMARY KEY (binary_id, address, depth)
) WITHOUT ROWID;

-- Builds in order of their first snapshot, with epoch-second times for dashboards.
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
