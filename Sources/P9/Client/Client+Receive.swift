import Glibc
import SystemPackage

/// What the receive-baton holder owns: bytes read but not yet framed, and descriptors waiting for their reply.
///
/// @unchecked Sendable: only the baton holder touches it, and the baton passes under `Client.state`.
final class ReceiveState: @unchecked Sendable {
    /// The slot whose buffer starts with a partial reply for that slot (nil at a frame boundary).
    var area: CallSlot?
    /// Bytes of that partial reply.
    var held = 0
    /// At a frame boundary: the first bytes of the next reply (fewer than a header, or up to an Rread header read
    /// together with the last payload by `receivePayloadAndNextHeader`).
    let carry = UnsafeMutableRawPointer.allocate(byteCount: Rread.headerSize, alignment: 16)
    var carried = 0
    /// Stream offset of the first byte not yet framed (`area`'s first byte, or `carry`'s).
    var position: Int64 = 0
    /// Descriptors that arrived with the stream bytes [fdFrom, fdTo), waiting for the reply starting there. Only the
    /// baton holder touches them, so the runtime's exclusivity check (read on every reply) would only cost.
    @exclusivity(unchecked) var fds: [Int32] = []
    var fdFrom: Int64 = 0
    var fdTo: Int64 = 0
    /// recvmsg's descriptor area.
    let fdBuffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 4)

    init() { fds.reserveCapacity(4) }

    deinit {
        carry.deallocate()
        fdBuffer.deallocate()
        for fd in fds { _ = Glibc.close(fd) }
    }

    /// Closes descriptors no reply claimed.
    func dropFDs() {
        for fd in fds { _ = Glibc.close(fd) }
        fds.removeAll(keepingCapacity: true)
    }
}

/// What a baton holder's read led to.
enum ReceiveStep {
    /// The caller's reply has not come: read again.
    case more
    /// The caller's reply is in and the baton is passed on.
    case done
    /// The connection is broken.
    case failed(P9Error)
}

extension Client {
    /// One read, then every reply it completes handed to its owner.
    ///
    /// Small replies: whatever the socket holds is read into a slot's buffer (the caller's own at a frame
    /// boundary, so a lone reply is framed where it landed) and each other caller's reply is copied to its
    /// slot. While an Rread with a caller buffer is in flight, reads stop at frame boundaries so its payload
    /// goes straight to that buffer and nowhere else.
    func receiveSome(_ me: CallSlot) -> ReceiveStep {
        let rx = self.rx
        let area: CallSlot
        var have: Int
        if let a = rx.area {
            area = a
            have = rx.held
        } else {
            area = me
            have = rx.carried
            if have > 0 { area.buffer.copyMemory(from: rx.carry, byteCount: have) }
            rx.carried = 0
            // A header read with the last payload: frame it before reading (its payload may go straight to its sink).
            if have >= Frame.headerSize { return frame(in: area, count: have, me: me) }
        }
        var limit = CallSlot.bufferCapacity
        if sinkCalls.load(ordering: .relaxed) > 0 {
            // Up to an Rread's count; past a known header (an Rread kept with its count has no caller buffer), the frame's end.
            limit = Rread.headerSize
            let rread = have >= Frame.headerSize && area.buffer.load(fromByteOffset: 4, as: UInt8.self) == MessageType.rread.rawValue
            if have >= Frame.headerSize && (!rread || have >= Rread.headerSize) {
                limit = min(CallSlot.bufferCapacity, Int(UInt32(littleEndian: area.buffer.loadUnaligned(as: UInt32.self))))
            }
            limit = max(limit, have + 1)
        }
        var v = iovec(iov_base: area.buffer + have, iov_len: limit - have)
        switch receive(&v, count: 1, waitAll: false, at: rx.position + Int64(have)) {
        case let .failure(e): return .failed(e)
        case let .success(n): have += n
        }
        return frame(in: area, count: have, me: me)
    }

    /// What one pass under the lock left: nothing (`more`/`done`), or a reply whose rest comes straight
    /// from the socket, at `pos`.
    private enum Settled {
        case more, done
        case failed(P9Error)
        case direct(CallSlot, size: Int, type: UInt8)
    }

    /// Frames the `count` bytes at the start of `area`'s buffer (stream offset `rx.position`).
    private func frame(in area: CallSlot, count: Int, me: CallSlot) -> ReceiveStep {
        var pos = 0
        while true {
            let settled = withCallState { s in settle(&s, area: area, from: &pos, count: count, me: me) }
            switch settled {
            case .more: return .more
            case .done: return .done
            case let .failed(e): return .failed(e)
            case let .direct(target, size, type):
                // nil: it was all in the buffer, frame what follows.
                guard let step = receiveDirect(target, in: area, at: pos, count: count, size: size, type: type, me: me) else {
                    pos += size
                    continue
                }
                return step
            }
        }
    }

    /// Under the state lock: hands every whole small reply from `pos` on to its owner (copied to the owner's
    /// slot, or left in place when the buffer is the owner's), keeps a partial one at the start of its owner's
    /// buffer (or fewer than a header's bytes in `carry`), and passes the baton on once `me`'s reply is in.
    private func settle(_ s: inout CallState, area: CallSlot, from pos: inout Int, count: Int, me: CallSlot) -> Settled {
        let rx = self.rx
        while true {
            let avail = count - pos
            let at = area.buffer + pos
            guard avail >= Frame.headerSize else {
                if avail > 0 { rx.carry.copyMemory(from: at, byteCount: avail) }
                rx.carried = avail
                rx.area = nil
                rx.position += Int64(pos)
                break
            }
            let size = Int(UInt32(littleEndian: at.loadUnaligned(as: UInt32.self)))
            let type = at.load(fromByteOffset: 4, as: UInt8.self)
            let tag = Tag(rawValue: UInt16(littleEndian: at.loadUnaligned(fromByteOffset: 5, as: UInt16.self)))
            guard size >= Frame.headerSize, size <= msize else {
                return .failed(.protocolViolation("bad reply header: size \(size), msize \(msize)"))
            }
            let target: CallSlot
            switch owner(of: tag, type: type, &s) {
            case let .failure(e): return .failed(e)
            case let .success(t): target = t
            }
            // An Rread into caller memory once its count is in; a reply too large for a slot once its header is.
            if type == MessageType.rread.rawValue && target.sink != nil {
                if avail >= Rread.headerSize { return .direct(target, size: size, type: type) }
            } else if size > CallSlot.bufferCapacity && size > avail {
                return .direct(target, size: size, type: type)
            }
            let start = rx.position + Int64(pos)
            let fds = claimFDs(frameAt: start, size: size)
            if let fds { target.fds.append(contentsOf: fds) }
            guard size <= avail else {
                // Partial: its start goes to the head of its owner's buffer, where the next read continues it.
                if target !== area || pos != 0 { memmove(target.buffer, at, avail) }
                rx.area = target
                rx.held = avail
                rx.position = start
                break
            }
            if target === area {
                target.bodyStart = pos + Frame.headerSize  // framed where it landed: no copy
            } else {
                target.buffer.copyMemory(from: at, byteCount: size)
                target.bodyStart = Frame.headerSize
            }
            target.bodyCount = size - Frame.headerSize
            finish(target, type: type, size: size, me: me, &s)
            pos += size
        }
        return passBatonIfDone(me, &s) ? .done : .more
    }

    /// An Rread whose payload goes to caller memory, or a reply larger than a slot buffer: what the buffer
    /// holds of it is copied, the rest received straight into place. Returns nil when the whole reply was in
    /// the buffer (framing goes on after it), else the step after a read that emptied the buffer.
    private func receiveDirect(_ target: CallSlot, in area: CallSlot, at pos: Int, count: Int, size: Int, type: UInt8,
                               me: CallSlot) -> ReceiveStep? {
        let rx = self.rx
        let at = area.buffer + pos
        let avail = count - pos
        let start = rx.position + Int64(pos)
        let fds = claimFDs(frameAt: start, size: size)
        var direct = 0
        var nextHeader = 0
        if let sink = target.sink, type == MessageType.rread.rawValue {
            let payload = Int(UInt32(littleEndian: at.loadUnaligned(fromByteOffset: Frame.headerSize, as: UInt32.self)))
            var capacity = 0
            for v in sink { capacity += v.iov_len }
            guard payload == size - Rread.headerSize, payload <= capacity else {
                return .failed(.protocolViolation("Rread count \(payload) in a \(size)-byte frame for a \(capacity)-byte read"))
            }
            if target !== area || pos != 0 { target.buffer.copyMemory(from: at, byteCount: Rread.headerSize) }
            // Payload bytes already read (only when a reply raced the switch to exact reads), then the rest.
            let inBuffer = min(avail - Rread.headerSize, payload)
            if inBuffer > 0 { copy(from: at + Rread.headerSize, count: inBuffer, into: sink) }
            direct = payload - inBuffer
            if direct > 0 && direct <= Self.tailWithNextHeader && sinkCalls.load(ordering: .relaxed) > 1 {
                // Another read is in flight, so its header likely follows this payload: one recvmsg takes both.
                switch receivePayloadAndNextHeader(direct, into: sink, skipping: inBuffer,
                                                   at: start + Int64(Rread.headerSize + inBuffer)) {
                case let .failure(e): return .failed(e)
                case let .success(n): nextHeader = n
                }
            } else if direct > 0, let e = receiveExactly(direct, into: sink, skipping: inBuffer) {
                return .failed(e)
            }
            target.bodyStart = Frame.headerSize
            target.bodyCount = Rread.headerSize - Frame.headerSize
            target.payloadCount = payload
        } else {
            let big = target.overflowBuffer(size)
            big.copyMemory(from: at, byteCount: avail)
            direct = size - avail
            var v = iovec(iov_base: big + avail, iov_len: direct)
            if let e = withUnsafeMutablePointer(to: &v, { receiveExactly(direct, into: UnsafeBufferPointer(start: $0, count: 1), skipping: 0) }) {
                return .failed(e)
            }
            target.bodyStart = Frame.headerSize
            target.bodyCount = size - Frame.headerSize
        }
        return withCallState { s -> ReceiveStep? in
            if let fds { target.fds.append(contentsOf: fds) }
            finish(target, type: type, size: size, me: me, &s)
            guard direct > 0 else { return nil }
            // The rest came straight from the socket: nothing is left in the buffer.
            rx.position = start + Int64(size)
            rx.area = nil
            rx.carried = nextHeader
            return passBatonIfDone(me, &s) ? .done : .more
        }
    }

    /// The call waiting for a reply with `tag`, checked against the reply's type (state lock held).
    private func owner(of tag: Tag, type: UInt8, _ s: inout CallState) -> Result<CallSlot, P9Error> {
        guard tag.rawValue >= 1, Int(tag.rawValue) <= s.slots.count, s.slots[Int(tag.rawValue) - 1].active,
              !s.slots[Int(tag.rawValue) - 1].done else {
            return .failure(.protocolViolation("reply type \(type) for tag \(tag), which no call is waiting on"))
        }
        let target = s.slots[Int(tag.rawValue) - 1]
        guard type == target.expected || type == MessageType.rlerror.rawValue else {
            return .failure(.protocolViolation(
                "got \(MessageType(rawValue: type)?.description ?? "type \(type)") for a request expecting "
                    + "\(MessageType(rawValue: target.expected)?.description ?? "type \(target.expected)")"))
        }
        return .success(target)
    }

    /// The descriptors for the reply at stream offset `start`: those that came with the last read in which a
    /// reply starts there (the server sends a reply with a descriptor in a sendmsg of its own, and the kernel
    /// ends a read after the bytes that carried descriptors). Descriptors no reply can claim are closed.
    private func claimFDs(frameAt start: Int64, size: Int) -> [Int32]? {
        let rx = self.rx
        guard !rx.fds.isEmpty else { return nil }
        if start >= rx.fdTo {
            rx.dropFDs()
            return nil
        }
        guard start >= rx.fdFrom, rx.fdTo <= start + Int64(size) else { return nil }
        let fds = rx.fds
        rx.fds.removeAll(keepingCapacity: true)
        return fds
    }

    /// Marks a reply complete and wakes its owner unless it is the caller reading (state lock held).
    private func finish(_ target: CallSlot, type: UInt8, size: Int, me: CallSlot, _ s: inout CallState) {
        stats.countReceived(size)
        target.replyType = type
        target.done = true
        if target !== me { s.wake(target) }
    }

    /// Once `me`'s reply is in, the baton goes to a sleeper still waiting; if the connection broke meanwhile
    /// (a failed send, a timeout), every sleeper wakes to see it (state lock held).
    private func passBatonIfDone(_ me: CallSlot, _ s: inout CallState) -> Bool {
        guard me.done else { return false }
        s.batonHeld = false
        if s.broken != nil { s.wakeAll() } else { s.wakeNextReceiver() }
        return true
    }

    /// Copies `count` bytes into the memory `sink` describes.
    func copy(from source: UnsafeMutableRawPointer, count: Int, into sink: UnsafeBufferPointer<iovec>) {
        var left = count
        var from = source
        for v in sink where left > 0 {
            let n = min(left, v.iov_len)
            v.iov_base!.copyMemory(from: from, byteCount: n)
            from += n
            left -= n
        }
    }

    /// Receives exactly `count` bytes into `iov`, after its first `skip` bytes (MSG_WAITALL; a descriptor that
    /// arrives mid-reply belongs to no reply and is closed).
    private func receiveExactly(_ count: Int, into iov: UnsafeBufferPointer<iovec>, skipping skip: Int) -> P9Error? {
        var done = 0
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(1, iov.count)) { rest -> P9Error? in
            while done < count {
                let n = Self.part(of: iov, from: skip + done, count: count - done, into: rest)
                switch receive(rest.baseAddress!, count: n, waitAll: true, at: nil) {
                case let .failure(e): return e
                case let .success(got): done += got
                }
            }
            return nil
        }
    }

    /// Writes to `part` the iovecs of the `count` bytes of `iov` from byte `offset` on; returns how many it wrote.
    private static func part(of iov: UnsafeBufferPointer<iovec>, from offset: Int, count: Int,
                             into part: UnsafeMutableBufferPointer<iovec>) -> Int {
        var offset = offset, n = 0, want = count
        for v in iov where want > 0 {
            if offset >= v.iov_len { offset -= v.iov_len; continue }
            let len = min(v.iov_len - offset, want)
            part[n] = iovec(iov_base: v.iov_base! + offset, iov_len: len)
            n += 1
            want -= len
            offset = 0
        }
        return n
    }

    /// Largest payload rest read together with the next reply's header (one skb of spliced pages: 16 pages).
    static let tailWithNextHeader = 64 << 10

    /// Receives exactly `count` payload bytes into `iov` after its first `skip`, and with the last of them up to an
    /// Rread header of whatever follows, into `rx.carry` (no MSG_WAITALL: the next reply may be long in coming).
    /// Returns how many bytes went to `carry`; `at` is the stream offset of the first payload byte to come.
    private func receivePayloadAndNextHeader(_ count: Int, into iov: UnsafeBufferPointer<iovec>, skipping skip: Int,
                                             at: Int64) -> Result<Int, P9Error> {
        var done = 0
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: iov.count + 1) { rest -> Result<Int, P9Error> in
            while true {
                let n = Self.part(of: iov, from: skip + done, count: count - done, into: rest)
                rest[n] = iovec(iov_base: rx.carry, iov_len: Rread.headerSize)
                switch receive(rest.baseAddress!, count: n + 1, waitAll: false, at: at + Int64(done)) {
                case let .failure(e): return .failure(e)
                case let .success(got):
                    if got >= count - done { return .success(got - (count - done)) }
                    done += got
                }
            }
        }
    }

    /// One recvmsg into `iov`: spins first when `ClientOptions.spin` asks, retries after a receive timeout while
    /// no call's deadline has passed. Descriptors that came are kept in `rx` with the stream range of the bytes
    /// (which start at stream offset `at`), or closed when `at` is nil (bytes inside a reply already claimed).
    private func receive(_ iov: UnsafeMutablePointer<iovec>, count: Int, waitAll: Bool, at: Int64?) -> Result<Int, P9Error> {
        let rx = self.rx
        let list = UnsafeBufferPointer(start: iov, count: count)
        var spinUntil = spinNanoseconds.map { monotonicNanoseconds() &+ $0 }
        while true {
            let flags: Int32 = spinUntil != nil ? Int32(MSG_DONTWAIT) : (waitAll ? Int32(MSG_WAITALL) : 0)
            let got: (bytes: Int, fds: Int)
            do {
                got = try transport.receive(list, flags: flags, fds: rx.fdBuffer)
            } catch let e where e == .resourceTemporarilyUnavailable || e == .wouldBlock {
                if let until = spinUntil {
                    if monotonicNanoseconds() >= until { spinUntil = nil }
                    continue
                }
                // SO_RCVTIMEO fired: fail if some call is past its deadline, else keep waiting.
                if let e = expireOverdueCalls() { return .failure(e) }
                continue
            } catch {
                return .failure(.connectionClosed("receive failed: \(error)"))
            }
            if got.fds > 0 {
                rx.dropFDs()
                for i in 0..<got.fds { rx.fds.append(rx.fdBuffer[i]) }
                rx.fdFrom = at ?? 0
                rx.fdTo = at.map { $0 + Int64(got.bytes) } ?? 0
                if at == nil { rx.dropFDs() }
            }
            if got.bytes == 0 { return .failure(.connectionClosed("server closed the connection")) }
            return .success(got.bytes)
        }
    }

    /// Expires every call past its deadline; returns the connection's failure if that broke it.
    private func expireOverdueCalls() -> P9Error? {
        let now = monotonicNanoseconds()
        return withCallState { s -> P9Error? in
            expireOverdue(&s, now: now)
            return s.broken
        }
    }
}
