import Glibc
import Dispatch
import Synchronization

/// One request frame's memory; the reply to that request is encoded over it.
///
/// @unchecked Sendable: never shared; it has exactly one owner at a time (the reader, then one worker),
/// and every hand-off goes through a lock (the pool's `free` Mutex or the worker queue's Mutex).
final class FrameBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        // malloc of a large block is an untouched mmap: an 8 MiB buffer costs only the pages a frame uses.
        base = malloc(capacity)!
    }

    deinit { free(base) }

    var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: capacity) }
}

/// A connection's bounded set of frame buffers: at most `limit` exist, so a fast client cannot queue without bound.
final class FramePool: Sendable {
    private let free = Mutex<[FrameBuffer]>([])
    private let slots: DispatchSemaphore
    let capacity: Int

    init(capacity: Int, limit: Int) {
        self.capacity = capacity
        // Start at 0 and signal up: libdispatch traps if a semaphore dies below its initial value.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<max(2, limit) { slots.signal() }
    }

    /// A buffer, waiting while `limit` are in use.
    func take() -> FrameBuffer {
        slots.wait()
        return free.withLock { $0.popLast() } ?? FrameBuffer(capacity: capacity)
    }

    /// Returns a buffer taken from this pool.
    func give(_ buffer: FrameBuffer) {
        free.withLock { $0.append(buffer) }
        slots.signal()
    }
}
