#define _GNU_SOURCE
#include "CShimsNative.h"

#include <sys/syscall.h>
#include <unistd.h>

ssize_t cshims_getdents64(int fd, void *buffer, size_t length) {
    return (ssize_t)syscall(SYS_getdents64, fd, buffer, length);
}
