#define _GNU_SOURCE
#include "CShimsNative.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(struct statx) == CSHIMS_STATX_SIZE, "struct statx is 256 bytes");
_Static_assert(STATX_BASIC_STATS == CSHIMS_STATX_BASIC_STATS, "STATX_BASIC_STATS");

int cshims_statx(int dirfd, const char *path, int flags, unsigned int mask, void *buffer) {
    return statx(dirfd, path, flags, mask, (struct statx *)buffer);
}

ssize_t cshims_getdents64(int fd, void *buffer, size_t length) {
    return (ssize_t)syscall(SYS_getdents64, fd, buffer, length);
}
