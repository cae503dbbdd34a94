// File system syscalls the bench's native floor makes that glibc does not wrap for Swift: getdents64
// (statx is `cshims_statx` in CShims.h).
#ifndef CSHIMS_NATIVE_H
#define CSHIMS_NATIVE_H

#include <stddef.h>
#include <sys/types.h>

/// getdents64(2): fills `buffer` with linux_dirent64 records; returns bytes (0 at the end) or -1 with errno set.
ssize_t cshims_getdents64(int fd, void *buffer, size_t length);

#endif
