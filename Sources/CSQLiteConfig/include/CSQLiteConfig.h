#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

/// Puts SQLite in multi-thread mode (SQLITE_CONFIG_MULTITHREAD): connections skip the mutex each API call takes in
/// the default serialized mode. Safe when no connection is used by two threads at once, which GRDB guarantees
/// (each connection is reached through its own serial queue). Must run before SQLite initializes; returns
/// SQLite's result code (SQLITE_MISUSE, and no change, when it is too late).
int profhist_sqlite_multithread(void);

#endif
