import Glibc
import Synchronization
import SystemPackage

/// Everything about calls in flight; guarded by `Client.state`.
struct CallState: ~Copyable {
    var tags = IDPool<Tag>(what: "tags")
    /// Slot of tag t at index t - 1 (tags start at 1 and grow by one, so the array only ever appends).
    var slots: [CallSlot] = []
    /// Some caller is reading replies.
    var batonHeld = false
    /// Callers asleep on their semaphore.
    var sleepers = 0
    /// Set once when the connection fails; every later call fails with it.
    var broken: P9Error?
    var closeRequested = false

    mutating func wake(_ slot: CallSlot) {
        guard slot.sleeping else { return }
        slot.sleeping = false
        sleepers -= 1
        slot.semaphore.signal()
    }

    /// Wakes one sleeper whose reply has not come, so that it takes the baton.
    mutating func wakeNextReceiver() {
        guard sleepers > 0 else { return }
        for s in slots where s.sleeping && !s.done {
            wake(s)
            return
        }
    }

    mutating func wakeAll() {
        guard sleepers > 0 else { return }
        for s in slots where s.sleeping { wake(s) }
    }
}

extension Client {
    // MARK: Typed round trips

    /// Sends `message` and decodes the reply as `R` (Rlerror becomes `.remote`).
    @inline(__always)
    func call<T: Message, R: Message>(_ message: T, fid: FID, reply: R.Type) throws(P9Error) -> R {
        try roundTrip(T.type, fid: fid, sink: nil, send: { (tag) throws(P9Error) in try self.sendFrame(message, tag: tag) },
                      decode: { (slot) throws(P9Error) in try Self.decode(R.self, slot) })
    }

    /// Like `call`, also returning the first descriptor that came with the reply (the caller owns it).
    func callWithFD<T: Message, R: Message>(_ message: T, fid: FID, reply: R.Type) throws(P9Error) -> (R, FileDescriptor?) {
        try roundTrip(T.type, fid: fid, sink: nil, send: { (tag) throws(P9Error) in try self.sendFrame(message, tag: tag) },
                      decode: { (slot) throws(P9Error) in
                          let r = try Self.decode(R.self, slot)
                          return (r, slot.fds.isEmpty ? nil : FileDescriptor(rawValue: slot.fds.removeFirst()))
                      })
    }

    /// One Tread of `count` bytes at `offset`, its payload received straight into `sink`; returns the bytes read.
    func read(fid: FID, into sink: UnsafeBufferPointer<iovec>, count: Int, at offset: UInt64) throws(P9Error) -> Int {
        let message = Tread(fid: fid, offset: offset, count: UInt32(count))
        return try roundTrip(.tread, fid: fid, sink: sink, send: { (tag) throws(P9Error) in try self.sendFrame(message, tag: tag) },
                             decode: { (slot) throws(P9Error) in slot.payloadCount })
    }

    /// One Twrite of the `count` bytes `payload` holds, at `offset`, sent with writev straight from caller memory.
    func write(fid: FID, from payload: UnsafeBufferPointer<iovec>, count: Int, at offset: UInt64) throws(P9Error) -> Int {
        try roundTrip(.twrite, fid: fid, sink: nil, send: { (tag) throws(P9Error) in
            try self.sendWrite(tag: tag, fid: fid, from: payload, count: count, at: offset)
        }, decode: { (slot) throws(P9Error) in Int(try Self.decode(Rwrite.self, slot).count) })
    }

    @inline(__always)
    static func decode<R: Message>(_: R.Type, _ slot: CallSlot) throws(P9Error) -> R {
        var d = WireDecoder(slot.body)
        do { return try R(from: &d) } catch { throw .wire(error) }
    }

    // MARK: The engine

    /// One RPC: takes a tag, sends, waits for the reply (holding the receive baton when free), decodes.
    @inline(__always)
    func roundTrip<R>(_ type: MessageType, fid: FID, sink: UnsafeBufferPointer<iovec>?,
                      send: (Tag) throws(P9Error) -> Int,
                      decode: (CallSlot) throws(P9Error) -> R) throws(P9Error) -> R {
        let slot = try begin(type, sink: sink)
        defer { end(slot) }
        let start = stats.isTracing ? RPCStats.now() : 0
        let sent: Int
        do {
            sent = try send(slot.tag)
        } catch {
            // Nothing reached the wire unless the transport failed, which already broke the connection.
            if case .connectionClosed = error { try wait(slot) }
            throw error
        }
        stats.countRequest(type, bytes: sent)
        try wait(slot)
        stats.record {
            RPCTraceEntry(timeNs: start, tag: slot.tag, type: type, fid: fid, bytesSent: sent,
                          bytesReceived: Frame.headerSize + slot.bodyCount + slot.payloadCount)
        }
        if slot.replyType == MessageType.rlerror.rawValue {
            let e: Rlerror
            do { e = try Self.decode(Rlerror.self, slot) } catch { fail(.protocolViolation("malformed Rlerror: \(error)")); throw error }
            throw .remote(Errno(rawValue: Int32(bitPattern: e.errno)))
        }
        do {
            return try decode(slot)
        } catch {
            if case .wire = error { fail(.protocolViolation("malformed \(type) reply: \(error)")) }
            throw error
        }
    }

    /// Takes a tag and arms its slot.
    private func begin(_ type: MessageType, sink: UnsafeBufferPointer<iovec>?) throws(P9Error) -> CallSlot {
        try state.withLock { (s) throws(P9Error) -> CallSlot in
            if let b = s.broken { throw b }
            let tag = try s.tags.allocate()
            if Int(tag.rawValue) > s.slots.count { s.slots.append(CallSlot(tag: tag)) }
            let slot = s.slots[Int(tag.rawValue) - 1]
            slot.active = true
            slot.expected = type.rawValue &+ 1
            slot.sink = sink
            return slot
        }
    }

    /// Frees the tag (and anything the reply left behind).
    private func end(_ slot: CallSlot) {
        let closeNow = state.withLock { s -> Bool in
            slot.reset()
            s.tags.release(slot.tag)
            return s.closeRequested && s.tags.inUse == 0
        }
        if closeNow { transport.close() }
    }

    /// Waits until the slot's reply is in, reading replies while holding the baton.
    private func wait(_ slot: CallSlot) throws(P9Error) {
        enum Next { case done, receive, sleep, failed(P9Error) }
        while true {
            let next = state.withLock { s -> Next in
                if slot.done { return .done }
                if let b = s.broken, !s.batonHeld { return .failed(b) }
                if s.broken == nil && !s.batonHeld {
                    s.batonHeld = true
                    return .receive
                }
                slot.sleeping = true
                s.sleepers += 1
                return .sleep
            }
            switch next {
            case .done: return
            case let .failed(e): throw e
            case .sleep: slot.semaphore.wait()
            case .receive: receiveUntilDone(slot)
            }
        }
    }

    /// Holds the baton: reads replies until `me`'s has come or the connection fails, then passes the baton on.
    private func receiveUntilDone(_ me: CallSlot) {
        while true {
            let error = receiveOne(me)
            let finished = state.withLock { s -> Bool in
                if let error, s.broken == nil { s.broken = error; transport.shutdown() }
                guard me.done || s.broken != nil else { return false }
                s.batonHeld = false
                if s.broken != nil { s.wakeAll() } else { s.wakeNextReceiver() }
                return true
            }
            if finished { return }
        }
    }

    /// Reads one reply and hands it to its owner; returns the error that breaks the connection, if any.
    private func receiveOne(_ me: CallSlot) -> P9Error? {
        var fds: [Int32] = []
        defer { for fd in fds { _ = Glibc.close(fd) } }
        let header = UnsafeMutableRawBufferPointer(rebasing: me.scratch[..<Frame.headerSize])
        do {
            guard try transport.receiveFully(into: header, fds: &fds) else { return .connectionClosed("server closed the connection") }
        } catch {
            return .connectionClosed("receive failed: \(error)")
        }
        let h: Frame.Header
        do { h = try Frame.header(UnsafeRawBufferPointer(header), limit: msize) } catch {
            return .protocolViolation("bad reply header: \(error)")
        }
        let target = state.withLock { s -> CallSlot? in
            guard h.tag.rawValue >= 1, Int(h.tag.rawValue) <= s.slots.count else { return nil }
            let t = s.slots[Int(h.tag.rawValue) - 1]
            return t.active && !t.done ? t : nil
        }
        guard let target else { return .protocolViolation("reply type \(h.type) for tag \(h.tag), which no call is waiting on") }
        guard h.type == target.expected || h.type == MessageType.rlerror.rawValue else {
            return .protocolViolation("got \(MessageType(rawValue: h.type)?.description ?? "type \(h.type)") for a request expecting "
                                      + "\(MessageType(rawValue: target.expected)?.description ?? "type \(target.expected)")")
        }
        let bodySize = h.size - Frame.headerSize
        do {
            if h.type == MessageType.rread.rawValue, let sink = target.sink {
                try receivePayload(into: target, sink: sink, bodySize: bodySize, fds: &fds)
            } else {
                var dest = target.inline
                if bodySize > dest.count {
                    dest = .allocate(byteCount: bodySize, alignment: 16)
                    target.overflow = dest
                }
                guard try transport.receiveFully(into: UnsafeMutableRawBufferPointer(rebasing: dest[..<bodySize]), fds: &fds) else {
                    return .connectionClosed("server closed the connection mid-reply")
                }
                target.bodyCount = bodySize
            }
        } catch let e as P9Error {
            return e
        } catch {
            return .connectionClosed("receive failed: \(error)")
        }
        stats.countReceived(h.size)
        state.withLock { s in
            target.replyType = h.type
            if !fds.isEmpty { target.fds.append(contentsOf: fds); fds.removeAll() }
            target.done = true
            if target !== me { s.wake(target) }
        }
        return nil
    }

    /// Rread: the 4-byte count into the slot, then the payload straight into the caller's buffers.
    private func receivePayload(into target: CallSlot, sink: UnsafeBufferPointer<iovec>, bodySize: Int, fds: inout [Int32]) throws {
        guard bodySize >= 4 else { throw P9Error.protocolViolation("Rread body of \(bodySize) bytes") }
        let countBytes = UnsafeMutableRawBufferPointer(rebasing: target.inline[..<4])
        guard try transport.receiveFully(into: countBytes, fds: &fds) else {
            throw P9Error.connectionClosed("server closed the connection mid-reply")
        }
        let count = Int(UInt32(littleEndian: countBytes.loadUnaligned(as: UInt32.self)))
        var capacity = 0
        for v in sink { capacity += v.iov_len }
        guard count == bodySize - 4, count <= capacity else {
            throw P9Error.protocolViolation("Rread count \(count) in a \(bodySize)-byte body for a \(capacity)-byte read")
        }
        var left = count
        for v in sink where left > 0 {
            let n = min(left, v.iov_len)
            guard try transport.receiveFully(into: UnsafeMutableRawBufferPointer(start: v.iov_base, count: n), fds: &fds) else {
                throw P9Error.connectionClosed("server closed the connection mid-reply")
            }
            left -= n
        }
        target.bodyCount = 4
        target.payloadCount = count
    }

    /// Marks the connection failed, wakes every waiter and unblocks the baton holder.
    func fail(_ error: P9Error) {
        state.withLock { s in
            guard s.broken == nil else { return }
            s.broken = error
            transport.shutdown()
            // The baton holder's receive fails next and wakes everyone; without one, wake them here.
            if !s.batonHeld { s.wakeAll() }
        }
    }

    // MARK: Sending

    /// Encodes `message` into the send buffer and writes it, under the send lock; returns the frame size.
    func sendFrame<T: Message>(_ message: T, tag: Tag) throws(P9Error) -> Int {
        try sendLock.withLock { (_) throws(P9Error) -> Int in
            let buffer = sendBuffer
            var e = WireEncoder(base: buffer, capacity: msize)
            let size: Int
            do throws(WireError) { size = try Frame.encode(message, tag: tag, into: &e) } catch { throw .wire(error) }
            do {
                try transport.send(UnsafeRawBufferPointer(start: buffer, count: size))
            } catch {
                fail(.connectionClosed("send failed: \(error)"))
                throw .connectionClosed("send failed: \(error)")
            }
            return size
        }
    }

    /// Writes a Twrite header then the payload iovecs in one sendmsg, under the send lock.
    func sendWrite(tag: Tag, fid: FID, from payload: UnsafeBufferPointer<iovec>, count: Int, at offset: UInt64) throws(P9Error) -> Int {
        guard Twrite.headerSize + count <= msize else { throw .wire(.messageTooLarge(size: Twrite.headerSize + count, limit: msize)) }
        return try sendLock.withLock { (_) throws(P9Error) -> Int in
            let buffer = sendBuffer
            do throws(WireError) {
                try Twrite.encodeHeader(tag: tag, fid: fid, offset: offset, count: UInt32(count),
                                        into: UnsafeMutableRawBufferPointer(start: buffer, count: Twrite.headerSize))
            } catch { throw .wire(error) }
            let n = payload.count + 1
            // Stack space for the iovecs when few (the single-block path), heap otherwise.
            return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: n) { (iov) throws(P9Error) -> Int in
                iov[0] = iovec(iov_base: buffer, iov_len: Twrite.headerSize)
                for i in 0..<payload.count { iov[i + 1] = payload[i] }
                do {
                    try transport.send(UnsafeBufferPointer(iov), fds: [])
                } catch {
                    fail(.connectionClosed("send failed: \(error)"))
                    throw .connectionClosed("send failed: \(error)")
                }
                return Twrite.headerSize + count
            }
        }
    }
}
