#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t cshims_sendmsg_fds(int sock, const struct iovec *iov, int iovcnt, const int *fds, int nfds) {
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    // union forces the alignment CMSG_* expect.
    union {
        char buf[CMSG_SPACE(sizeof(int) * CSHIMS_MAX_FDS)];
        struct cmsghdr align;
    } control;
    if (nfds > 0) {
        if (nfds > CSHIMS_MAX_FDS) { errno = EINVAL; return -1; }
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t cshims_recvmsg_fds(int sock, const struct iovec *iov, int iovcnt, int *fds, int maxfds, int *nfds) {
    return cshims_recvmsg_flags(sock, iov, iovcnt, fds, maxfds, nfds, 0);
}

ssize_t cshims_recvmsg_flags(int sock, const struct iovec *iov, int iovcnt, int *fds, int maxfds, int *nfds, int flags) {
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    union {
        char buf[CMSG_SPACE(sizeof(int) * CSHIMS_MAX_FDS)];
        struct cmsghdr align;
    } control;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    *nfds = 0;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags); } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    int got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, data + i, sizeof(int));
            if (got < maxfds) fds[got++] = fd; else close(fd);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        for (int i = 0; i < got; i++) close(fds[i]);
        errno = EMSGSIZE;
        return -1;
    }
    *nfds = got;
    return n;
}

ssize_t cshims_preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags) {
    return preadv2(fd, iov, iovcnt, offset, flags);
}

ssize_t cshims_pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags) {
    return pwritev2(fd, iov, iovcnt, offset, flags);
}

ssize_t cshims_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long liovcnt,
                                const struct iovec *remote, unsigned long riovcnt) {
    return process_vm_readv(pid, local, liovcnt, remote, riovcnt, 0);
}

ssize_t cshims_process_vm_writev(pid_t pid, const struct iovec *local, unsigned long liovcnt,
                                 const struct iovec *remote, unsigned long riovcnt) {
    return process_vm_writev(pid, local, liovcnt, remote, riovcnt, 0);
}

int cshims_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)(unsigned int)(flags | O_CLOEXEC);
    how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
    how.resolve = resolve;
    long r;
    int races = 0;
    // EAGAIN: the kernel could not rule out that a concurrent rename let a `..` escape; a retry usually succeeds.
    do { r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how)); }
    while (r < 0 && (errno == EINTR || (errno == EAGAIN && ++races < 16)));
    return (int)r;
}

int cshims_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *out) {
    return statx(dirfd, path, flags, mask, out);
}

// Set once the kernel refused a NULL path (EFAULT: before Linux 6.11); "" is passed from then on.
static int fstatx_needs_empty_string = 0;

int cshims_fstatx(int fd, unsigned int mask, struct statx *out) {
    // A NULL path spares the kernel copying and checking "" from user memory.
    if (!__atomic_load_n(&fstatx_needs_empty_string, __ATOMIC_RELAXED)) {
        int r = statx(fd, NULL, AT_EMPTY_PATH, mask, out);
        if (r == 0 || errno != EFAULT) return r;
        __atomic_store_n(&fstatx_needs_empty_string, 1, __ATOMIC_RELAXED);
    }
    return statx(fd, "", AT_EMPTY_PATH, mask, out);
}

int cshims_stat_beneath(int root, const char *path, int follow, unsigned long long resolve, unsigned int mask,
                        struct statx *out) {
    int fd = cshims_openat2(root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, resolve);
    if (fd < 0) return -1;
    int r = cshims_fstatx(fd, mask, out);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

int cshims_set_affinity(const int *cpus, int ncpus) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < ncpus; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

ssize_t cshims_splice(int in, long long *off_in, int out, size_t len, int nonblock) {
    loff_t off = off_in ? (loff_t)*off_in : 0;
    unsigned int flags = SPLICE_F_MOVE | (nonblock ? SPLICE_F_NONBLOCK : 0);
    ssize_t n;
    do { n = splice(in, off_in ? &off : NULL, out, NULL, len, flags); } while (n < 0 && errno == EINTR);
    if (n > 0 && off_in) *off_in = (long long)off;
    return n;
}

int cshims_pipe(int fds[2], int capacity, int *granted) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    int got = fcntl(fds[1], F_GETPIPE_SZ);
    if (capacity > got) {
        int set = fcntl(fds[1], F_SETPIPE_SZ, capacity);
        if (set < 0 && errno == EPERM) {
            // Unprivileged: at most fs.pipe-max-size.
            int limit = 0;
            FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
            if (f) { if (fscanf(f, "%d", &limit) != 1) limit = 0; fclose(f); }
            if (limit > got) set = fcntl(fds[1], F_SETPIPE_SZ, limit < capacity ? limit : capacity);
        }
        if (set > 0) got = set;
    }
    *granted = got;
    return 0;
}

int cshims_fallocate(int fd, int mode, long long offset, long long length) {
    int r;
    do {
        r = fallocate(fd, mode, (off_t)offset, (off_t)length);
    } while (r < 0 && errno == EINTR);
    return r;
}

int cshims_memfd(const char *name, size_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int cshims_futex_wait(uint32_t *word, uint32_t expected, long long timeout_ns) {
    struct timespec ts;
    struct timespec *t = NULL;
    if (timeout_ns > 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
        t = &ts;
    }
    long r = syscall(SYS_futex, word, FUTEX_WAIT, expected, t, NULL, 0);
    if (r == 0 || errno == EAGAIN) return 0;
    return errno;
}

int cshims_futex_wake(uint32_t *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

int cshims_trylock(uint32_t *word) {
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void cshims_lock(uint32_t *word) {
    if (cshims_trylock(word)) return;
    // Spin first, as glibc's adaptive mutex does: a holder running on another CPU lets go within a few hundred ns.
    for (int i = 0; i < 100; i++) {
        __builtin_ia32_pause();
        if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0 && cshims_trylock(word)) return;
    }
    // Marked contended, so the unlock that frees it wakes a sleeper.
    while (__atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE) != 0) {
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    }
}

void cshims_unlock(uint32_t *word) {
    if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2) syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int cshims_memfd_sealed(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_SHRINK) ? 1 : 0;
}

int cshims_current_cpu(void) { return sched_getcpu(); }

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CSHIMS_TSAN 1
#endif
#endif

#ifdef CSHIMS_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void cshims_tsan_release(const void *addr) { __tsan_release((void *)addr); }
void cshims_tsan_acquire(const void *addr) { __tsan_acquire((void *)addr); }
#else
void cshims_tsan_release(const void *addr) { (void)addr; }
void cshims_tsan_acquire(const void *addr) { (void)addr; }
#endif
