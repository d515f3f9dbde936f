// sqlite3_config is variadic, and Swift cannot call C variadic functions: this is the one-line wrapper.
#include <sqlite3.h>
#include "CSQLiteConfig.h"

int profhist_sqlite_multithread(void) {
    return sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
}
