// File system syscalls the bench's native floor makes that Swift cannot import: statx and getdents64
// (declared only under _GNU_SOURCE, or not wrapped by older glibc).
#ifndef CSHIMS_NATIVE_H
#define CSHIMS_NATIVE_H

#include <stddef.h>
#include <sys/types.h>

/// Bytes of the buffer `cshims_statx` fills (sizeof(struct statx)).
#define CSHIMS_STATX_SIZE 256
/// STATX_BASIC_STATS: the fields stat(2) returns.
#define CSHIMS_STATX_BASIC_STATS 0x7ffU

/// statx(2) of `path` relative to `dirfd` into `buffer` (CSHIMS_STATX_SIZE bytes); returns 0 or -1 with errno set.
int cshims_statx(int dirfd, const char *path, int flags, unsigned int mask, void *buffer);

/// getdents64(2): fills `buffer` with linux_dirent64 records; returns bytes (0 at the end) or -1 with errno set.
ssize_t cshims_getdents64(int fd, void *buffer, size_t length);

#endif
