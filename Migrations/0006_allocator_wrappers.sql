-- Allocator wrappers declared for this store (`profhist wrappers add PATTERN`): a program's own functions that
-- allocate on behalf of their caller (redis's zmalloc, sqlite3Malloc, CPython's PyMem_Malloc, ...). A frame whose
-- name matches one is allocation machinery (frame.is_plumbing 1), skipped when naming a stack's leaf; the stored
-- stacks keep every frame, so declaring a wrapper changes leaves, never stack identity.
-- pattern: a shell glob over frame names (`*`, `?`, `[...]`, case-sensitive). origin: 'default' (profhist's
-- shipped list, written here) or 'user'. removed: 1 for a default the user removed (kept so it stays removed).
CREATE TABLE allocator_wrapper (
    pattern TEXT PRIMARY KEY,
    origin TEXT NOT NULL CHECK (origin IN ('default', 'user')),
    removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1))
) WITHOUT ROWID;

-- The shipped list, each checked against stacks of the real program (see README, "Real programs").
INSERT INTO allocator_wrapper (pattern, origin) VALUES
    -- redis-server (src/zmalloc.c)
    ('zmalloc*', 'default'),
    ('ztrymalloc*', 'default'),
    ('zcalloc*', 'default'),
    ('ztrycalloc*', 'default'),
    ('zrealloc*', 'default'),
    ('ztryrealloc*', 'default'),
    ('zstrdup', 'default'),
    -- SQLite (src/malloc.c, src/mem1.c)
    ('sqlite3Malloc*', 'default'),
    ('sqlite3DbMalloc*', 'default'),
    ('sqlite3Realloc', 'default'),
    ('sqlite3DbRealloc*', 'default'),
    ('sqlite3_malloc*', 'default'),
    ('sqlite3_realloc*', 'default'),
    ('sqlite3MemMalloc', 'default'),
    ('sqlite3MemRealloc', 'default'),
    ('mallocWithAlarm', 'default'),
    ('dbMallocRawFinish', 'default'),
    ('dbReallocFinish', 'default'),
    -- CPython (Objects/obmalloc.c, Objects/object.c, Modules/gcmodule.c)
    ('PyMem_*', 'default'),
    ('_PyMem_*', 'default'),
    ('PyObject_Malloc', 'default'),
    ('PyObject_Calloc', 'default'),
    ('PyObject_Realloc', 'default'),
    ('_PyObject_*alloc*', 'default'),
    ('_PyObject_*Alloc*', 'default'),
    ('_PyObject_New*', 'default'),
    ('_PyObject_GC_New*', 'default'),
    ('gc_alloc', 'default'),
    ('PyType_GenericAlloc', 'default'),
    ('_PyType_AllocNoTrack', 'default');
