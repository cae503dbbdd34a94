import Glibc

/// A value guarded by a lock the unlocking thread may take again at once (a glibc adaptive mutex: it spins
/// briefly, then sleeps on a futex, and never hands the lock over). Synchronization.Mutex on Linux is a
/// priority-inheritance futex that hands a contended lock to the waiter, one context switch per contended
/// acquisition: a convoy when several callers share one CPU. The engine's state (client calls, server crews,
/// outboxes, pools) sits behind this; ThreadSanitizer also sees pthread mutexes, not Mutex's futex, so every module
/// of the package guards shared state with it. Give it a value, not `Void`: ThreadSanitizer places an empty value's
/// accesses at the object's address, where the unlocked reads of the object's header then look like races.
package final class Locked<Value: ~Copyable>: @unchecked Sendable {  // `value` is only touched with `mutex` held
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // The mutex already makes every access exclusive (it is not recursive: a nested withLock deadlocks before two
    // accesses could overlap), so the runtime's own check, ~115 instructions per withLock, only costs.
    @exclusivity(unchecked) private var value: Value

    /// A lock guarding `value`.
    package init(_ value: consuming Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the lock held.
    @inline(__always)
    package func withLock<R: ~Copyable, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Runs `body` with the lock held if nobody holds it now; nil (without running `body`) otherwise.
    @inline(__always)
    func withLockIfAvailable<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
