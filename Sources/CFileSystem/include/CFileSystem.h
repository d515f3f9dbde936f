#ifndef PROFHIST_CFILESYSTEM_H
#define PROFHIST_CFILESYSTEM_H

/// The `f_type` magic number of the file system holding `path` (statfs(2)), in `*type`. Returns 0 on success,
/// -1 when `path` cannot be examined or the platform has no statfs f_type (then `*type` is 0).
/// Swift's Glibc module does not export <sys/vfs.h>, hence this shim.
int profhist_statfs_type(const char *path, unsigned long *type);

#endif
