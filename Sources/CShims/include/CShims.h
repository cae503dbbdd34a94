// Syscalls and macros Swift cannot import directly: SCM_RIGHTS control messages (CMSG_* are macros),
// preadv2/pwritev2, process_vm_readv/writev, statx, splice and pipe sizing (declared only under _GNU_SOURCE),
// openat2 (no libc wrapper), and the xattr calls (not in the Glibc module).
#ifndef CSHIMS_H
#define CSHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/openat2.h>  // RESOLVE_* (struct open_how stays inside the shim)
#include <linux/stat.h>     // struct statx, STATX_*
#include <sys/xattr.h>      // getxattr, setxattr, listxattr, removexattr (not in the Glibc module)

#include "CShimsDirCache.h"
#include "CShimsNative.h"

/// Most descriptors one message may carry; surplus received descriptors are closed.
#define CSHIMS_MAX_FDS 4

/// Sends `iovcnt` iovecs on `sock` with `nfds` descriptors attached as SCM_RIGHTS (nfds may be 0).
/// Returns bytes sent or -1 with errno set. MSG_NOSIGNAL is always used.
ssize_t cshims_sendmsg_fds(int sock, const struct iovec *iov, int iovcnt, const int *fds, int nfds);

/// Receives into `iov` and collects up to `maxfds` SCM_RIGHTS descriptors (opened with MSG_CMSG_CLOEXEC)
/// into `fds`, storing their number in `*nfds`. Descriptors beyond `maxfds` are closed.
/// Returns bytes received (0 at EOF) or -1 with errno set; a truncated control message closes
/// every received descriptor and fails with EMSGSIZE.
ssize_t cshims_recvmsg_fds(int sock, const struct iovec *iov, int iovcnt, int *fds, int maxfds, int *nfds);

/// `cshims_recvmsg_fds` with recvmsg flags (MSG_WAITALL, MSG_DONTWAIT) besides MSG_CMSG_CLOEXEC.
ssize_t cshims_recvmsg_flags(int sock, const struct iovec *iov, int iovcnt, int *fds, int maxfds, int *nfds, int flags);

/// splice(2) of up to `len` bytes from `in` (at `*off_in` when not NULL) to `out` with SPLICE_F_MOVE (and
/// SPLICE_F_NONBLOCK when `nonblock`: a full pipe fails with EAGAIN instead of waiting), retried on EINTR.
ssize_t cshims_splice(int in, long long *off_in, int out, size_t len, int nonblock);

/// A close-on-exec pipe whose capacity is raised to at least `capacity` bytes when the kernel allows;
/// returns 0 and fills `fds` (read end, write end) and `*granted` (the capacity obtained), or -1 with errno.
int cshims_pipe(int fds[2], int capacity, int *granted);

/// preadv2(2); flags are RWF_* (0 behaves as preadv).
ssize_t cshims_preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);
/// pwritev2(2).
ssize_t cshims_pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);

/// process_vm_readv(2) on the given pid: copies remote (possibly faulting) memory into local memory.
ssize_t cshims_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long liovcnt,
                                const struct iovec *remote, unsigned long riovcnt);
/// process_vm_writev(2).
ssize_t cshims_process_vm_writev(pid_t pid, const struct iovec *local, unsigned long liovcnt,
                                 const struct iovec *remote, unsigned long riovcnt);

/// openat2(2) with `resolve` (RESOLVE_*) and O_CLOEXEC added to `flags`; `mode` is used with O_CREAT/O_TMPFILE only.
/// Returns the descriptor or -1 with errno set (ENOSYS where the kernel lacks openat2). Retries EINTR, and EAGAIN
/// (a `..` the kernel could not check against a concurrent rename) up to 16 times.
int cshims_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve);

/// fallocate(2) with FALLOC_FL_* `mode` bits, retried on EINTR; returns 0 or -1 with errno set.
int cshims_fallocate(int fd, int mode, long long offset, long long length);

/// statx(2) into `out`; returns 0 or -1 with errno set.
int cshims_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *out);

/// statx(2) of what `fd` holds (O_PATH descriptors too): a NULL path with AT_EMPTY_PATH where the kernel takes it,
/// else "". Returns 0 or -1 with errno set.
int cshims_fstatx(int fd, unsigned int mask, struct statx *out);

/// A confined stat in one call: openat2(O_PATH, plus O_NOFOLLOW unless `follow`) of `path` beneath `root` with
/// `resolve`, `cshims_fstatx` of it, close. Returns 0 or -1 with errno set (the open's or the statx's).
int cshims_stat_beneath(int root, const char *path, int follow, unsigned long long resolve, unsigned int mask,
                        struct statx *out);

/// Sets the calling thread's CPU affinity to the CPUs listed; returns 0 or an errno value.
int cshims_set_affinity(const int *cpus, int ncpus);

/// Sets the calling thread's timer slack (prctl, variadic in C: PR_SET_TIMERSLACK, nanoseconds, >= 1) so timed waits wake on time
/// instead of up to 50 us late; returns 0 or an errno value.
int cshims_set_timer_slack(unsigned long nanoseconds);

/// memfd_create(2) (close-on-exec) sized to `size` bytes with ftruncate; returns the descriptor or -1 with errno set.
int cshims_memfd(const char *name, size_t size);

/// Whether `fd` is a memfd sealed against shrinking (F_SEAL_SHRINK): 1 or 0.
int cshims_memfd_sealed(int fd);

/// FUTEX_WAIT on a shared (not process-private) word: sleeps while `*word == expected`, for at most `timeout_ns`
/// (<= 0: no limit). Returns 0 when woken (or the word differed), else the errno (ETIMEDOUT, EINTR).
int cshims_futex_wait(uint32_t *word, uint32_t expected, long long timeout_ns);

/// FUTEX_WAKE on a shared word: wakes up to `count` sleepers; returns how many woke or -1 with errno set.
int cshims_futex_wake(uint32_t *word, int count);

/// Takes a process-private lock word (0 free, 1 held, 2 held with sleepers: Drepper's "Futexes Are Tricky", mutex
/// 3): one compare-and-swap when free; else a brief spin, then FUTEX_WAIT until an unlock lets it compete again.
void cshims_lock(uint32_t *word);
/// Takes the lock word if it is free now; returns whether it did.
int cshims_trylock(uint32_t *word);
/// Frees the lock word, waking one sleeper if any (it competes again: the lock is never handed over).
void cshims_unlock(uint32_t *word);

/// Sequentially consistent load of a word in shared memory.
static inline uint32_t cshims_load_u32(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
/// Sequentially consistent store to a word in shared memory.
static inline void cshims_store_u32(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }
/// Compare-and-swap on a word in shared memory; returns whether `*word` was `expected` (and is now `desired`).
static inline int cshims_cas_u32(uint32_t *word, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
/// The CPU the calling thread runs on (sched_getcpu, a _GNU_SOURCE function; vDSO-fast).
int cshims_current_cpu(void);

/// A spin-wait hint to the CPU (pause).
static inline void cshims_cpu_relax(void) { __builtin_ia32_pause(); }

/// ThreadSanitizer's release on `addr` (a no-op unless this file is built with -fsanitize=thread): for an order the
/// kernel makes through a socket that TSan does not model, such as a descriptor inherited from another process.
void cshims_tsan_release(const void *addr);
/// ThreadSanitizer's acquire on `addr`, pairing with `cshims_tsan_release` (a no-op unless built with -fsanitize=thread).
void cshims_tsan_acquire(const void *addr);

#endif
