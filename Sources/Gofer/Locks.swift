import CShims
import Glibc
import Synchronization

// Lock order of a Filesystem (take them top to bottom, never upwards):
//
//   1. `Filesystem.tree` (TreeLock, reader-writer): the tree's shape. Every path operation holds it shared for its
//      whole length, RPCs included; rename, dropCaches, reclaim and release hold it exclusively. Open-file
//      operations (read, write, fsync, close) do not take it: their dentry is pinned by its open count.
//   2. `Filesystem.lock` (StateLock): the dentries' in-memory fields (children, negative entries, listings,
//      attributes, fids, handles, pins) and the cache's maps. Held exclusively only for memory work: every RPC of a
//      path operation runs with it released (`Filesystem.rpc`), its dentry pinned so that no eviction clunks the
//      fid. Held shared (without `tree`) by the stat fast path of the caching modes, which only reads.
//   3. `Dentry.data` (DataLock): a regular file's page cache. Held across the page cache's own RPCs (a miss's
//      read, a write-back), never while waiting for `lock`.
//
// These are pthread locks rather than `Synchronization.Mutex`: the state lock is a reader-writer lock released
// around RPCs in the middle of an operation (lock/unlock pairs, not a closure), and ThreadSanitizer sees pthread
// locks (it does not see Mutex's futexes on Linux).

/// The filesystem's tree lock: shared by path operations, exclusive for renames and whole-cache work.
///
/// `@unchecked Sendable`: a pthread reader-writer lock, which is itself the synchronization.
final class TreeLock: @unchecked Sendable {
    private let rw: UnsafeMutablePointer<pthread_rwlock_t>

    init() { rw = makeWriterPreferringRWLock() }

    deinit { destroyRWLock(rw) }

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

/// The state lock: exclusive and recursive for operations (its holder can release it completely around an RPC and
/// take it back at the same depth), shared for the cached-stat fast path, which only reads.
///
/// Shared holders do not touch the pthread lock while no writer is about: each counts itself in the slot of the CPU
/// it runs on (one cache line per slot), so readers on different CPUs write no common line. A writer takes the pthread
/// lock, raises `writing` and waits for every slot to drain; a reader that sees `writing` steps back and takes the
/// pthread lock shared instead (a big-reader lock: cheap readers, writers that scan the slots).
///
/// `@unchecked Sendable`: `depth` is read and written only by the thread holding the lock exclusively; `owner` is
/// atomic (a thread only ever finds its own id there when it stored it); the slots and `writing` are atomics.
final class StateLock: @unchecked Sendable {
    private let rw: UnsafeMutablePointer<pthread_rwlock_t>
    private let owner = Atomic<UInt>(0)
    private var depth = 0
    /// Set by the exclusive holder for as long as it holds the lock.
    private let writing = Atomic<Bool>(false)
    /// `slotCount` reader counters, `slotStride` bytes apart.
    private let slots: UnsafeMutableRawPointer
    private static let slotCount = 16
    private static let slotStride = 128

    init() {
        rw = makeWriterPreferringRWLock()
        slots = .allocate(byteCount: Self.slotCount * Self.slotStride, alignment: Self.slotStride)
        for i in 0..<Self.slotCount {
            (slots + i * Self.slotStride).bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        }
    }

    deinit {
        destroyRWLock(rw)
        for i in 0..<Self.slotCount { _ = slot(i).move() }
        slots.deallocate()
    }

    private func slot(_ i: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (slots + i * Self.slotStride).assumingMemoryBound(to: Atomic<Int>.self)
    }

    func lock() {
        let me = UInt(pthread_self())
        if owner.load(ordering: .relaxed) == me {
            depth += 1
            return
        }
        pthread_rwlock_wrlock(rw)
        // Readers count themselves before they look at `writing`, and this looks at their counts after raising it:
        // either the reader sees it and steps back, or this sees the reader and waits for it.
        writing.store(true, ordering: .sequentiallyConsistent)
        for i in 0..<Self.slotCount {
            while slot(i).pointee.load(ordering: .sequentiallyConsistent) != 0 { sched_yield() }
        }
        owner.store(me, ordering: .relaxed)
        depth = 1
    }

    func unlock() {
        depth -= 1
        guard depth == 0 else { return }
        owner.store(0, ordering: .relaxed)
        writing.store(false, ordering: .releasing)
        pthread_rwlock_unlock(rw)
    }

    /// Runs `body` holding the lock exclusively.
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Runs `body` (the caller holds the lock exclusively) with the lock released, then takes it back at the same depth.
    func withoutLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let held = depth
        guard held > 0 else { return try body() }
        depth = 1
        unlock()
        defer {
            lock()
            depth = held
        }
        return try body()
    }

    /// Runs `body` holding the lock shared: it may read dentries, and touch them (atomically), but change nothing.
    /// Never called with the lock held.
    func shared<T>(_ body: () -> T) -> T {
        let counter = slot(Int(cshims_current_cpu()) & (Self.slotCount - 1))  // -1 (no CPU number) is slot 15: still correct
        counter.pointee.add(1, ordering: .sequentiallyConsistent)
        if writing.load(ordering: .sequentiallyConsistent) {
            // A writer holds or is taking the lock: wait for it on the pthread lock.
            counter.pointee.subtract(1, ordering: .releasing)
            pthread_rwlock_rdlock(rw)
            defer { pthread_rwlock_unlock(rw) }
            return body()
        }
        defer { counter.pointee.subtract(1, ordering: .releasing) }
        return body()
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

/// A pthread reader-writer lock that lets a waiting writer in ahead of new readers (a rename is not starved by a
/// stream of path operations).
private func makeWriterPreferringRWLock() -> UnsafeMutablePointer<pthread_rwlock_t> {
    let rw = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    var attr = pthread_rwlockattr_t()
    pthread_rwlockattr_init(&attr)
    pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
    pthread_rwlock_init(rw, &attr)
    pthread_rwlockattr_destroy(&attr)
    return rw
}

/// Destroys and frees a lock made by `makeWriterPreferringRWLock`.
private func destroyRWLock(_ rw: UnsafeMutablePointer<pthread_rwlock_t>) {
    pthread_rwlock_destroy(rw)
    rw.deallocate()
}
