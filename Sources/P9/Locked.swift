import CShims

/// A value guarded by a lock the unlocking thread may take again at once: a futex word taken by one
/// compare-and-swap when free, else after a brief spin and a FUTEX_WAIT (CShims `cshims_lock`), and never handed
/// over. Synchronization.Mutex on Linux is a priority-inheritance futex that hands a contended lock to the waiter,
/// one context switch per contended acquisition: a convoy when several callers share one CPU. A glibc adaptive
/// mutex behaves like this lock but costs about 65 instructions per lock and unlock against about 10 (callgrind),
/// and a null RPC takes 17 locks, client and server together. The engine's state (client calls, server crews,
/// outboxes, pools) sits behind this, and ThreadSanitizer sees its acquire and release atomics (it does not see
/// Mutex's, inside the uninstrumented standard library), so every module of the package guards shared state with
/// it. Give it a value, not `Void`: ThreadSanitizer places an empty value's accesses at the object's address, where
/// the unlocked reads of the object's header then look like races.
package final class Locked<Value: ~Copyable>: @unchecked Sendable {  // `value` is only touched with `word` held
    private let word: UnsafeMutablePointer<UInt32>
    // The lock already makes every access exclusive (it is not recursive: a nested withLock deadlocks before two
    // accesses could overlap), so the runtime's own check, ~115 instructions per withLock, only costs.
    @exclusivity(unchecked) private var value: Value

    /// A lock guarding `value`.
    package init(_ value: consuming Value) {
        self.value = value
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }

    deinit {
        word.deallocate()
    }

    /// Runs `body` with the lock held.
    @inline(__always)
    package func withLock<R: ~Copyable, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        cshims_lock(word)
        defer { cshims_unlock(word) }
        return try body(&value)
    }

    /// Runs `body` with the lock held if nobody holds it now; nil (without running `body`) otherwise.
    @inline(__always)
    func withLockIfAvailable<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R? {
        guard cshims_trylock(word) != 0 else { return nil }
        defer { cshims_unlock(word) }
        return try body(&value)
    }
}
