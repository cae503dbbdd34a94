import Glibc

// Lock order of a Filesystem (take them top to bottom, never upwards):
//
//   1. `Filesystem.tree` (TreeLock, reader-writer): the tree's shape. Every path operation holds it shared for its
//      whole length, RPCs included; rename, dropCaches, reclaim and release hold it exclusively. Open-file
//      operations (read, write, fsync, close) do not take it: their dentry is pinned by its open count.
//   2. `Filesystem.lock` (StateLock): the dentries' in-memory fields (children, negative entries, listings,
//      attributes, fids, handles, pins) and the cache's maps. Held only for memory work: every RPC of a path
//      operation runs with it released (`Filesystem.rpc`), its dentry pinned so that no eviction clunks the fid.
//   3. `Dentry.data` (DataLock): a regular file's page cache. Held across the page cache's own RPCs (a miss's
//      read, a write-back), never while waiting for `lock`.
//
// These are pthread locks rather than `Synchronization.Mutex`: the state lock is released around RPCs in the
// middle of an operation (lock/unlock pairs, not a closure), and ThreadSanitizer sees pthread locks (it does not
// see Mutex's futexes on Linux).

/// The filesystem's tree lock: shared by path operations, exclusive for renames and whole-cache work.
///
/// `@unchecked Sendable`: a pthread reader-writer lock, which is itself the synchronization.
final class TreeLock: @unchecked Sendable {
    private let rw: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        rw = .allocate(capacity: 1)
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        // A waiting rename is not starved by a stream of path operations.
        pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(rw, &attr)
        pthread_rwlockattr_destroy(&attr)
    }

    deinit {
        pthread_rwlock_destroy(rw)
        rw.deallocate()
    }

    /// Runs `body` holding the lock shared.
    func shared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(rw)
        defer { pthread_rwlock_unlock(rw) }
        return try body()
    }

    /// Runs `body` holding the lock exclusively.
    func exclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(rw)
        defer { pthread_rwlock_unlock(rw) }
        return try body()
    }
}

/// A recursive mutex that its holder can release completely around an RPC and take back at the same depth.
///
/// `@unchecked Sendable`: `depth` is read and written only by the thread holding `mutex`.
final class StateLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var depth = 0

    init() {
        mutex = .allocate(capacity: 1)
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() {
        pthread_mutex_lock(mutex)
        depth += 1
    }

    func unlock() {
        depth -= 1
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` holding the lock.
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Runs `body` (the caller holds the lock) with the lock released, then takes it back at the same depth.
    func withoutLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let held = depth
        for _ in 0..<held { unlock() }
        defer { for _ in 0..<held { lock() } }
        return try body()
    }
}

/// A plain mutex for one dentry's page cache.
///
/// `@unchecked Sendable`: a pthread mutex, which is itself the synchronization.
final class DataLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock.
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
