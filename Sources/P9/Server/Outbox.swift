import Glibc
import CShims
import Synchronization

/// A connection's replies on their way out. Whoever finds the socket free writes every reply queued so far
/// in one sendmsg, so replies that pile up while one is being written go out together.
final class Outbox: Sendable {
    private struct State {
        var pending: [RequestFrame] = []
        var spare: [RequestFrame] = []
        var writing = false
        var failed = false
    }

    private let state = Locked(State())
    private let transport: StreamTransport
    private let frames: FramePool
    private let pipes: PipePool
    /// Most iovecs one sendmsg carries.
    private static let batchLimit = 256
    /// Replies held back for a batch before they go out anyway.
    private static let corkLimit = 32

    init(transport: StreamTransport, frames: FramePool, pipes: PipePool) {
        self.transport = transport
        self.frames = frames
        self.pipes = pipes
        state.withLock { s in
            s.pending.reserveCapacity(64)
            s.spare.reserveCapacity(64)
        }
    }

    /// Queues `frame`'s reply; with `now` (or `corkLimit` replies waiting), writes it and whatever waits
    /// unless another thread is writing.
    func post(_ frame: RequestFrame, now: Bool) {
        enum Next { case dropped, queued, alone, write }
        let next = state.withLock { s -> Next in
            if s.failed { return .dropped }
            // The common case, a lone reply and a free socket: it goes out without passing through the queue.
            if now && !s.writing && s.pending.isEmpty {
                s.writing = true
                return .alone
            }
            s.pending.append(frame)
            guard now || s.pending.count >= Self.corkLimit, !s.writing else { return .queued }
            s.writing = true
            return .write
        }
        switch next {
        case .dropped: release(frame)
        case .queued: break
        case .alone:
            let ok = write(CollectionOfOne(frame))
            release(frame)
            if ok { drain() } else { failed() }  // drain sends what queued meanwhile, then gives up the turn
        case .write: drain()
        }
    }

    /// Writes whatever waits, unless another thread is writing (it will).
    func flush() {
        let write = state.withLock { s -> Bool in
            guard !s.writing, !s.pending.isEmpty, !s.failed else { return false }
            s.writing = true
            return true
        }
        if write { drain() }
    }

    /// Holds the writer's turn: sends batches until nothing is pending.
    private func drain() {
        var batch: [RequestFrame] = []
        var more = state.withLock { s in Self.takeBatch(&s, into: &batch) }
        while more {
            let ok = write(batch)
            for f in batch { release(f) }
            batch.removeAll(keepingCapacity: true)
            if !ok { return failed() }
            // One lock returns the emptied array and takes the next batch (or gives up the turn).
            more = state.withLock { s in
                swap(&s.spare, &batch)
                return Self.takeBatch(&s, into: &batch)
            }
        }
    }

    /// Moves the pending replies into the empty `batch`; with none, gives up the writer's turn (lock held).
    private static func takeBatch(_ s: inout State, into batch: inout [RequestFrame]) -> Bool {
        guard !s.pending.isEmpty else {
            s.writing = false
            return false
        }
        swap(&batch, &s.pending)
        swap(&s.pending, &s.spare)  // the emptied array of the last batch takes new replies
        return true
    }

    /// A send failed: the connection is going away, so every queued and later reply is dropped.
    private func failed() {
        let dropped = state.withLock { s -> [RequestFrame] in
            s.failed = true
            s.writing = false
            defer { s.pending.removeAll() }
            return s.pending
        }
        transport.shutdown()
        for f in dropped { release(f) }
    }

    private func release(_ frame: RequestFrame) {
        if let p = frame.pipe, frame.spliced == 0 { pipes.give(p) }
        frame.pipe = nil
        frames.give(frame)
    }

    /// Sends `batch` in order: plain replies gathered into one sendmsg, a reply with a host FD alone (the
    /// descriptor rides on its first byte), a spliced Rread's header with what precedes it, then its payload.
    private func write<Batch: Collection<RequestFrame>>(_ batch: Batch) -> Bool {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: min(batch.count, Self.batchLimit)) { iov -> Bool in
            var count = 0
            func send() -> Bool {
                defer { count = 0 }
                guard count > 0 else { return true }
                do { try transport.send(UnsafeBufferPointer(rebasing: iov[..<count]), fds: []) } catch { return false }
                return true
            }
            for f in batch {
                if let fd = f.fd {
                    guard send() else { return false }
                    let v = iovec(iov_base: f.base, iov_len: f.replyLength)
                    do {
                        try withUnsafePointer(to: v) { p in try transport.send(UnsafeBufferPointer(start: p, count: 1), fds: [fd.rawValue]) }
                    } catch { return false }
                    continue
                }
                if count == iov.count { guard send() else { return false } }
                iov[count] = iovec(iov_base: f.base, iov_len: f.replyLength)
                count += 1
                if let pipe = f.pipe, f.spliced > 0 {
                    guard send(), spliceOut(pipe, f.spliced) else { return false }
                    f.spliced = 0
                }
            }
            return send()
        }
    }

    /// Moves `count` bytes from `pipe` into the socket.
    private func spliceOut(_ pipe: SplicePipe, _ count: Int) -> Bool {
        var left = count
        while left > 0 {
            let n = cshims_splice(pipe.readEnd, nil, transport.fd, left, 0)
            if n <= 0 { return false }
            left -= n
        }
        return true
    }
}
