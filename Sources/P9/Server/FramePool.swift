import Glibc
import CShims
import Dispatch
import Synchronization
import SystemPackage

/// One request: its frame's memory (the reply is encoded over it) and what the server learnt about it.
///
/// @unchecked Sendable: it has exactly one owner at a time (the receive-role holder, then the thread running
/// it or the connection's queue, then the outbox) and every hand-off goes through a Mutex (the pool's, the
/// connection's `crew` or the outbox's).
final class RequestFrame: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    /// Size, type and tag of the request frame at `base`.
    var size = 0
    var type: UInt8 = 0
    var tag = Tag.none
    /// The reply: `replyLength` bytes at `base`, then `spliced` payload bytes waiting in `pipe`.
    var replyLength = 0
    var spliced = 0
    var pipe: SplicePipe?
    /// A host FD sent beside the reply and closed once sent.
    var fd: FileDescriptor?

    init(capacity: Int) {
        self.capacity = capacity
        // malloc of a large block is an untouched mmap: an 8 MiB frame costs only the pages a frame uses.
        base = malloc(capacity)!
    }

    deinit {
        free(base)
        try? fd?.close()
    }

    var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: capacity) }
}

/// A connection's bounded set of frames: at most `limit` exist, so a fast client cannot queue without bound.
final class FramePool: Sendable {
    private let free = Locked<[RequestFrame]>([])
    private let slots: DispatchSemaphore
    let capacity: Int

    init(capacity: Int, limit: Int) {
        self.capacity = capacity
        // Start at 0 and signal up: libdispatch traps if a semaphore dies below its initial value.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<max(2, limit) { slots.signal() }
        free.withLock { $0.reserveCapacity(max(2, limit)) }
    }

    /// A frame, waiting while `limit` are in use; `beforeWaiting` runs first when none is free (the outbox
    /// sends the replies it holds back, which gives their frames back).
    func take(beforeWaiting: () -> Void = {}) -> RequestFrame {
        if slots.wait(timeout: .now()) != .success {
            beforeWaiting()
            slots.wait()
        }
        return free.withLock { $0.popLast() } ?? RequestFrame(capacity: capacity)
    }

    /// Returns a frame taken from this pool (its reply state cleared).
    func give(_ frame: RequestFrame) {
        frame.replyLength = 0
        frame.spliced = 0
        frame.pipe = nil
        if let fd = frame.fd { try? fd.close(); frame.fd = nil }
        free.withLock { $0.append(frame) }
        slots.signal()
    }
}

/// A pipe an Rread payload is spliced into from the file, then out of into the socket: the file's pages reach
/// the socket without being copied through a buffer.
final class SplicePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32
    /// Bytes the pipe holds at most (a payload larger than this takes the copying path).
    let capacity: Int

    init?(capacity: Int) {
        var fds: [Int32] = [-1, -1]
        var granted: Int32 = 0
        guard cshims_pipe(&fds, Int32(clamping: capacity), &granted) == 0 else { return nil }
        readEnd = fds[0]
        writeEnd = fds[1]
        self.capacity = Int(granted)
    }

    deinit {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }
}

/// A connection's spare splice pipes (made on first use; one per Rread on its way out at once).
final class PipePool: Sendable {
    private let free = Locked<[SplicePipe]>([])
    /// The capacity new pipes ask for: the negotiated msize.
    let wanted: Atomic<Int>

    init(capacity: Int) { wanted = Atomic(capacity) }

    /// An empty pipe that holds `count` bytes read from file offset `offset`, or nil when none can be had.
    func take(_ count: Int, at offset: UInt64) -> SplicePipe? {
        // A pipe holds pages, not bytes: a payload starting mid-page needs one page more than its size.
        let page = Int(getpagesize())
        let needed = (Int(offset % UInt64(page)) + count + page - 1) / page * page
        if let p = free.withLock({ $0.popLast() }) {
            if p.capacity >= needed { return p }
            give(p)
            return nil
        }
        guard let p = SplicePipe(capacity: max(needed, wanted.load(ordering: .relaxed))) else { return nil }
        if p.capacity >= needed { return p }
        give(p)
        return nil
    }

    /// Returns an emptied pipe.
    func give(_ pipe: SplicePipe) {
        free.withLock { $0.append(pipe) }
    }
}
