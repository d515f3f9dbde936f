// zlib for gzip-compressed input (pprof files and archived dumps come gzipped). A system-library module rather
// than compress-nio: that package works on swift-nio's ByteBuffer and would add swift-nio to every build of this
// tool for one inflate loop; zlib itself is on every machine that has SQLite (apt: zlib1g-dev for the header).
#include <zlib.h>
