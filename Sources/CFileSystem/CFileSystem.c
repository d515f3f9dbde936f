#include "CFileSystem.h"

#if defined(__linux__)
#include <sys/vfs.h>

int profhist_statfs_type(const char *path, unsigned long *type) {
    struct statfs info;
    *type = 0;
    if (statfs(path, &info) != 0) return -1;
    *type = (unsigned long)info.f_type;
    return 0;
}
#else
int profhist_statfs_type(const char *path, unsigned long *type) {
    (void)path;
    *type = 0;
    return -1;
}
#endif
