import Glibc
import Syscall
import SystemPackage

/// What the thread holding a connection's receive role owns: the frame being filled and the bytes in it.
///
/// @unchecked Sendable: only the role holder touches it, and the role passes from thread to thread under
/// the connection's `crew` lock.
final class Inbox: @unchecked Sendable {
    /// The frame bytes are read into; it may hold the next requests past the first one.
    var window: RequestFrame?
    /// Where the unconsumed bytes of `window` start and end.
    var start = 0
    var end = 0

    /// Gives the window back when nobody reads any more.
    func release(to frames: FramePool) {
        if let w = window { frames.give(w) }
        window = nil
        start = 0
        end = 0
    }
}

extension ServerConnection {
    enum Received {
        /// A request to run.
        case request(RequestFrame)
        /// Nobody reads any more (peer closed, error, malformed frame).
        case end(String)
    }

    /// Most bytes one read asks for when the next frame's size is unknown or small.
    static let readAhead = 64 << 10

    /// Reads until a request is whole, answering Tversion and Tflush on the way (they never block).
    func receive() -> Received {
        let box = inbox
        if box.window == nil { box.window = takeFrame() }
        while true {
            let window = box.window!
            let available = box.end - box.start
            if available >= Frame.headerSize {
                let at = window.base + box.start
                let size = Int(UInt32(littleEndian: at.loadUnaligned(as: UInt32.self)))
                let limit = msize.load(ordering: .relaxed)
                guard size >= Frame.headerSize, size <= limit else { return .end("malformed frame: size \(size), msize \(limit)") }
                if available >= size {
                    let frame = take(size: size)
                    frame.size = size
                    frame.type = frame.base.load(fromByteOffset: 4, as: UInt8.self)
                    frame.tag = Tag(rawValue: UInt16(littleEndian: frame.base.loadUnaligned(fromByteOffset: 5, as: UInt16.self)))
                    switch frame.type {
                    case MessageType.tversion.rawValue:
                        guard negotiate(frame) else { return .end("malformed Tversion") }
                    case MessageType.tflush.rawValue:
                        guard flush(frame) else { return .end("malformed Tflush") }
                    default:
                        return .request(frame)
                    }
                    continue
                }
                // A large frame is read straight to its end: nothing past it lands in its buffer.
                if size > Self.readAhead {
                    outbox.flush()
                    if box.start > 0 { compact() }
                    guard let failure = fill(upTo: size, waitAll: true) else { continue }
                    return .end(failure)
                }
            }
            if box.start > 0 && window.capacity - box.end < Self.readAhead { compact() }
            // Replies held back while a batch ran go out before this thread may block.
            outbox.flush()
            if let failure = fill(upTo: min(window.capacity, box.end + Self.readAhead), waitAll: false) { return .end(failure) }
        }
    }

    /// The first `size` bytes of the window as a frame of their own. Copies whichever is smaller, the frame or
    /// what follows it, so a window full of small requests costs one copy of each and a lone one none.
    private func take(size: Int) -> RequestFrame {
        let box = inbox
        let window = box.window!
        let rest = box.end - box.start - size
        if box.start == 0 && rest < size {
            let next = takeFrame()
            if rest > 0 { next.base.copyMemory(from: window.base + size, byteCount: rest) }
            box.window = next
            box.start = 0
            box.end = rest
            return window
        }
        let frame = takeFrame()
        frame.base.copyMemory(from: window.base + box.start, byteCount: size)
        box.start += size
        if box.start == box.end { box.start = 0; box.end = 0 }
        return frame
    }

    /// A frame from the pool; when all are in use, the replies held back for a batch go out first (their
    /// frames come back once sent).
    private func takeFrame() -> RequestFrame {
        frames.take(beforeWaiting: { outbox.flush() })
    }

    /// Moves the unconsumed bytes to the start of the window.
    private func compact() {
        let box = inbox
        let base = box.window!.base
        let n = box.end - box.start
        if n > 0 { memmove(base, base + box.start, n) }
        box.start = 0
        box.end = n
    }

    /// Reads into the window up to `limit` bytes from its start (all of them with `waitAll`); returns why
    /// reading must stop, or nil.
    private func fill(upTo limit: Int, waitAll: Bool) -> String? {
        let box = inbox
        let base = box.window!.base
        repeat {
            let n: Int
            do {
                n = try receiveSome(into: base + box.end, count: limit - box.end, waitAll: waitAll)
            } catch {
                return "read error: \(error)"
            }
            if n == 0 { return "peer closed" }
            box.end += n
        } while waitAll && box.end < limit
        return nil
    }

    /// One recv, after spinning on non-blocking reads for up to `ServerOptions.spin` when asked to.
    private func receiveSome(into buffer: UnsafeMutableRawPointer, count: Int, waitAll: Bool) throws(Errno) -> Int {
        let fd = transport.fd
        if let spin = server.spinNanoseconds {
            let deadline = monotonicNanoseconds() &+ spin
            repeat {
                let n = recv(fd, buffer, count, Int32(MSG_DONTWAIT))
                if n >= 0 { return n }
                let e = errno
                if e != EAGAIN && e != EINTR { throw Errno(rawValue: e) }
            } while monotonicNanoseconds() < deadline
        }
        return try retryingOnInterrupt { recv(fd, buffer, count, waitAll ? Int32(MSG_WAITALL) : 0) }
    }

    // MARK: answered by the reader

    /// Tversion (PROTOCOL §4.1, gVisor order; msize above the maximum is clamped); sizes the socket buffers
    /// for the granted msize.
    private func negotiate(_ frame: RequestFrame) -> Bool {
        var d = WireDecoder(base: frame.base + Frame.headerSize, count: frame.size - Frame.headerSize)
        guard let t = try? Tversion(from: &d) else {
            frames.give(frame)
            return false
        }
        let errno: Int32
        if t.msize == 0 {
            errno = EINVAL
        } else if let n = P9Version.parse(t.version) {
            if n > server.options.maxVersion {
                errno = EAGAIN
            } else if Int(t.msize) < ServerOptions.msizeFloor {
                errno = EINVAL
            } else {
                let granted = min(Int(t.msize), server.options.effectiveMaxMsize)
                version.store(n, ordering: .relaxed)
                msize.store(granted, ordering: .relaxed)
                pipes.wanted.store(granted, ordering: .relaxed)
                transport.sizeBuffers(forMessages: granted)
                encode(Rversion(msize: UInt32(granted), version: P9Version.string(for: n)), tag: frame.tag, in: frame)
                outbox.post(frame, now: true)
                return true
            }
        } else {
            errno = EINVAL
        }
        encode(Rlerror(errno: UInt32(errno)), tag: frame.tag, in: frame)
        outbox.post(frame, now: true)
        return true
    }

    /// Tflush: a queued request is dropped and answered at once; a running one gets its reply first, then Rflush.
    private func flush(_ frame: RequestFrame) -> Bool {
        var d = WireDecoder(base: frame.base + Frame.headerSize, count: frame.size - Frame.headerSize)
        guard let t = try? Tflush(from: &d) else {
            frames.give(frame)
            return false
        }
        let (answerNow, dropped) = crew.withLock { c -> (Bool, RequestFrame?) in
            guard var entry = c.inflight[t.oldTag] else { return (true, nil) }
            if entry.queued {
                c.inflight.removeValue(forKey: t.oldTag)
                if let i = c.queue.firstIndex(where: { $0 === entry.frame }) { c.queue.remove(at: i) }
                return (true, entry.frame)
            }
            entry.flushes.append(frame)
            c.inflight[t.oldTag] = entry
            return (false, nil)
        }
        if let dropped { frames.give(dropped) }
        if answerNow {
            encode(Rflush(), tag: frame.tag, in: frame)
            outbox.post(frame, now: true)
        }
        return true
    }
}
