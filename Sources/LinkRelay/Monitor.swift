import Glibc

/// CLOCK_MONOTONIC now, in nanoseconds (the clock the relay's release times and timed waits use).
func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
}

/// A pthread mutex with three conditions whose timed waits run on CLOCK_MONOTONIC (immune to wall-clock steps).
///
/// Swift's `Mutex` has no condition variable; a relay direction needs to sleep until "a frame is due" or "room is free".
final class Monitor: @unchecked Sendable {  // the pthread objects are only touched through their own lock discipline
    /// What a waiter waits for.
    enum Condition: Int {
        /// A frame was queued, the source ended, or the direction stopped.
        case frames = 0
        /// Queue room was freed, or the direction stopped.
        case room = 1
        /// A relay thread returned.
        case finished = 2
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: 3)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        for i in 0..<3 { pthread_cond_init(conditions + i, &attr) }
        pthread_condattr_destroy(&attr)
    }

    deinit {
        for i in 0..<3 { pthread_cond_destroy(conditions + i) }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for `condition` (the caller holds the lock; spurious wake-ups happen: re-check).
    func wait(_ condition: Condition) {
        pthread_cond_wait(conditions + condition.rawValue, mutex)
    }

    /// Waits for `condition` or until the monotonic clock reaches `deadline` (the caller holds the lock).
    func wait(_ condition: Condition, until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = pthread_cond_timedwait(conditions + condition.rawValue, mutex, &ts)
    }

    /// Wakes one waiter of `condition`.
    func signal(_ condition: Condition) { pthread_cond_signal(conditions + condition.rawValue) }

    /// Wakes every waiter of `condition`.
    func broadcast(_ condition: Condition) { pthread_cond_broadcast(conditions + condition.rawValue) }
}
