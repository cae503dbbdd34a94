import Glibc
import CShims
import Dispatch
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
    /// Sleepers marked awake whose semaphore is signalled once the lock is released (`Client.withCallState`).
    var wakeList: CallSlot?

    /// Marks `slot` awake; its signal waits for the unlock, so the woken caller never preempts the waker only to
    /// block on the lock it still holds (two extra switches and futex calls when both share a CPU).
    mutating func wake(_ slot: CallSlot) {
        guard slot.sleeping else { return }
        slot.sleeping = false
        sleepers -= 1
        slot.nextWake = wakeList
        wakeList = slot
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

/// Requests encoded and waiting for the send turn, and whether a caller holds it; guarded by `Client.sendQueue`.
struct SendQueue {
    var outgoing: [CallSlot] = []
    /// The emptied array of the last batch, swapped in for `outgoing` (so queueing never allocates).
    var spare: [CallSlot] = []
    var sending = false
}

extension Client {
    /// Runs `body` under the call-state lock, then signals every sleeper it woke.
    @inline(__always)
    func withCallState<R, E: Error>(_ body: (inout CallState) throws(E) -> R) throws(E) -> R {
        var woken: CallSlot?
        let r = try state.withLock { (s) throws(E) -> R in
            defer {
                woken = s.wakeList
                s.wakeList = nil
            }
            return try body(&s)
        }
        while let slot = woken {
            woken = slot.nextWake
            slot.nextWake = nil
            slot.semaphore.signal()
        }
        return r
    }

    // MARK: Typed round trips

    /// Sends `message` and decodes the reply as `R` (Rlerror becomes `.remote`).
    @inline(__always)
    func call<T: Message, R: Message>(_ message: T, fid: FID, reply: R.Type) throws(P9Error) -> R {
        try roundTrip(T.type, fid: fid, sink: nil, encode: { (slot) throws(P9Error) in try self.encode(message, into: slot) },
                      decode: { (slot) throws(P9Error) in try Self.decode(R.self, slot) })
    }

    /// Like `call`, also returning the first descriptor that came with the reply (the caller owns it); always on
    /// the socket, the only way descriptors travel.
    func callWithFD<T: Message, R: Message>(_ message: T, fid: FID, reply: R.Type) throws(P9Error) -> (R, FileDescriptor?) {
        try roundTrip(T.type, fid: fid, sink: nil, channel: false, encode: { (slot) throws(P9Error) in try self.encode(message, into: slot) },
                      decode: { (slot) throws(P9Error) in
                          let r = try Self.decode(R.self, slot)
                          return (r, slot.fds.isEmpty ? nil : FileDescriptor(rawValue: slot.fds.removeFirst()))
                      })
    }

    /// One Tread of `count` bytes at `offset`, its payload received straight into `sink`; returns the bytes read.
    func read(fid: FID, into sink: UnsafeBufferPointer<iovec>, count: Int, at offset: UInt64) throws(P9Error) -> Int {
        let message = Tread(fid: fid, offset: offset, count: UInt32(count))
        return try roundTrip(.tread, fid: fid, sink: sink, encode: { (slot) throws(P9Error) in try self.encode(message, into: slot) },
                             decode: { (slot) throws(P9Error) in slot.payloadCount })
    }

    /// One Twrite of the `count` bytes `payload` holds, at `offset`, sent with writev straight from caller memory.
    func write(fid: FID, from payload: UnsafeBufferPointer<iovec>, count: Int, at offset: UInt64) throws(P9Error) -> Int {
        try roundTrip(.twrite, fid: fid, sink: nil, encode: { (slot) throws(P9Error) in
            try self.encodeWrite(into: slot, fid: fid, from: payload, count: count, at: offset)
        }, decode: { (slot) throws(P9Error) in Int(try Self.decode(Rwrite.self, slot).count) })
    }

    @inline(__always)
    static func decode<R: Message>(_: R.Type, _ slot: CallSlot) throws(P9Error) -> R {
        var d = WireDecoder(slot.body)
        do { return try R(from: &d) } catch { throw .wire(error) }
    }

    // MARK: The engine

    /// A call sent and not yet finished: its slot keeps the tag until `finish`.
    struct PendingCall {
        let slot: CallSlot
        let type: MessageType
        let fid: FID
        let sent: Int
        let start: UInt64
    }

    /// One RPC: over a free channel when there is one (and `channel` allows), else takes a tag, encodes into
    /// its slot, sends (or leaves it to the caller sending), waits for the reply (holding the receive baton when
    /// free), decodes.
    @inline(__always)
    func roundTrip<R>(_ type: MessageType, fid: FID, sink: UnsafeBufferPointer<iovec>?, channel: Bool = true,
                      encode: (CallSlot) throws(P9Error) -> Int,
                      decode: (CallSlot) throws(P9Error) -> R) throws(P9Error) -> R {
        if channel && !channels.isEmpty {
            for ch in channels {
                let r = try ch.lock.withLockIfAvailable { (estimate) throws(P9Error) -> R in
                    try callOnChannel(ch, &estimate, type, fid: fid, sink: sink, encode: encode, decode: decode)
                }
                if let r { return r }
            }
            // Every channel is busy: queue for one (its round trip is a few µs) rather than take the socket.
            let ch = channels[(channelTurn.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max) % channels.count]
            return try ch.lock.withLock { (estimate) throws(P9Error) -> R in
                try callOnChannel(ch, &estimate, type, fid: fid, sink: sink, encode: encode, decode: decode)
            }
        }
        return try finish(try start(type, fid: fid, sink: sink, encode: encode), decode: decode)
    }

    /// The first half of a call: tag, encode, send. On failure the tag is already freed.
    @inline(__always)
    func start(_ type: MessageType, fid: FID, sink: UnsafeBufferPointer<iovec>?,
               encode: (CallSlot) throws(P9Error) -> Int) throws(P9Error) -> PendingCall {
        let slot = try begin(type, sink: sink)
        let start = stats.isTracing ? RPCStats.now() : 0
        let sent: Int
        do {
            sent = try encode(slot)
            try submit(slot)
        } catch {
            end(slot)
            throw error
        }
        stats.countRequest(type, bytes: sent)
        return PendingCall(slot: slot, type: type, fid: fid, sent: sent, start: start)
    }

    /// The second half: waits for the reply, decodes it, frees the tag (always, even when it throws).
    @inline(__always)
    func finish<R>(_ call: PendingCall, decode: (CallSlot) throws(P9Error) -> R) throws(P9Error) -> R {
        defer { end(call.slot) }
        try wait(call.slot)
        return try complete(call, decode: decode)
    }

    /// A call's reply is in its slot: records it, then decodes it (Rlerror becomes `.remote`).
    @inline(__always)
    func complete<R>(_ call: PendingCall, decode: (CallSlot) throws(P9Error) -> R) throws(P9Error) -> R {
        let slot = call.slot
        stats.record {
            RPCTraceEntry(timeNs: call.start, tag: slot.tag, type: call.type, fid: call.fid, bytesSent: call.sent,
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
            if case .wire = error { fail(.protocolViolation("malformed \(call.type) reply: \(error)")) }
            throw error
        }
    }

    /// Sends one Tread whose payload goes straight into `sink`; `finishRead` waits for it.
    func startRead(fid: FID, into sink: UnsafeBufferPointer<iovec>, count: Int, at offset: UInt64) throws(P9Error) -> PendingCall {
        let message = Tread(fid: fid, offset: offset, count: UInt32(count))
        return try start(.tread, fid: fid, sink: sink, encode: { (slot) throws(P9Error) in try self.encode(message, into: slot) })
    }

    /// The bytes a Tread started with `startRead` read.
    func finishRead(_ call: PendingCall) throws(P9Error) -> Int {
        try finish(call, decode: { (slot) throws(P9Error) in slot.payloadCount })
    }

    /// Takes a tag and arms its slot.
    func begin(_ type: MessageType, sink: UnsafeBufferPointer<iovec>?) throws(P9Error) -> CallSlot {
        let deadline = rpcTimeoutNanoseconds.map { monotonicNanoseconds() &+ $0 } ?? 0
        return try withCallState { (s) throws(P9Error) -> CallSlot in
            if let b = s.broken { throw b }
            let tag = try s.tags.allocate()
            if Int(tag.rawValue) > s.slots.count { s.slots.append(CallSlot(tag: tag)) }
            let slot = s.slots[Int(tag.rawValue) - 1]
            slot.active = true
            slot.type = type
            slot.expected = type.rawValue &+ 1
            slot.sink = sink
            slot.deadline = deadline
            if sink != nil { sinkCalls.add(1, ordering: .relaxed) }
            return slot
        }
    }

    /// Frees the tag (and anything the reply left behind).
    func end(_ slot: CallSlot) {
        let closeNow = withCallState { s -> Bool in
            if slot.sink != nil { sinkCalls.subtract(1, ordering: .relaxed) }
            slot.reset()
            s.tags.release(slot.tag)
            return s.closeRequested && s.tags.inUse == 0
        }
        if closeNow { transport.close() }
    }

    /// Waits until the slot's reply is in, reading replies while holding the baton.
    private func wait(_ slot: CallSlot) throws(P9Error) {
        enum Next { case done, receive, sleep(deadline: UInt64), failed(P9Error) }
        while true {
            let next = withCallState { s -> Next in
                if slot.done { return .done }
                if let b = s.broken, !s.batonHeld { return .failed(slot.expired ? .timedOut(slot.type, rpcTimeout!) : b) }
                if s.broken == nil && !s.batonHeld {
                    s.batonHeld = true
                    return .receive
                }
                slot.sleeping = true
                s.sleepers += 1
                // Once expired (or broken), only the baton holder's wake-up is awaited.
                return .sleep(deadline: slot.expired || s.broken != nil ? 0 : slot.deadline)
            }
            switch next {
            case .done: return
            case let .failed(e): throw e
            case let .sleep(deadline): sleep(slot, until: deadline)
            case .receive: receiveUntilDone(slot)
            }
        }
    }

    /// Sleeps until woken, or until `deadline` (monotonic ns, 0: none), which breaks the connection.
    private func sleep(_ slot: CallSlot, until deadline: UInt64) {
        guard deadline != 0 else { return slot.semaphore.wait() }
        let now = monotonicNanoseconds()
        if now < deadline, slot.semaphore.wait(timeout: .now() + .nanoseconds(Int(deadline - now))) == .success { return }
        let consumeSignal = withCallState { s -> Bool in
            guard slot.sleeping else { return true }  // a wake raced the timeout: its signal is pending
            slot.sleeping = false
            s.sleepers -= 1
            if !slot.done { expireOverdue(&s, now: max(monotonicNanoseconds(), deadline)) }
            return false
        }
        if consumeSignal { slot.semaphore.wait() }  // keeps the semaphore balanced for the next call on this tag
    }

    /// Marks every call past its deadline timed out and, if there is one, breaks the connection naming the
    /// earliest (the baton holder's receive then fails and wakes everyone). State lock held.
    func expireOverdue(_ s: inout CallState, now: UInt64) {
        var first: CallSlot?
        for slot in s.slots where slot.active && !slot.done && slot.deadline != 0 && slot.deadline <= now {
            slot.expired = true
            if first == nil || slot.deadline < first!.deadline { first = slot }
        }
        guard let first, s.broken == nil else { return }
        s.broken = .connectionClosed("no reply to \(first.type) (tag \(first.tag.rawValue)) within \(rpcTimeout!)")
        transport.shutdown()
        if !s.batonHeld { s.wakeAll() }
    }

    /// Holds the baton: reads replies until `me`'s has come or the connection fails, then passes the baton on
    /// (the framing step passes it when it completes `me`, under the same lock).
    private func receiveUntilDone(_ me: CallSlot) {
        while true {
            switch receiveSome(me) {
            case .more: continue
            case .done: return
            case let .failed(error):
                withCallState { s in
                    if s.broken == nil { s.broken = error; transport.shutdown() }
                    s.batonHeld = false
                    s.wakeAll()
                }
                return
            }
        }
    }

    /// Marks the connection failed, wakes every waiter and unblocks the baton holder.
    func fail(_ error: P9Error) {
        withCallState { s in
            guard s.broken == nil else { return }
            s.broken = error
            transport.shutdown()
            // The baton holder's receive fails next and wakes everyone; without one, wake them here.
            if !s.batonHeld { s.wakeAll() }
        }
        for ch in channels { ch.region.wake() }  // a caller asleep on a channel sees the break
    }

    // MARK: Sending

    /// Encodes `message` into the slot's request buffer; returns the frame size.
    func encode<T: Message>(_ message: T, into slot: CallSlot) throws(P9Error) -> Int {
        var e = WireEncoder(base: slot.request, capacity: min(CallSlot.requestCapacity, msize))
        var size: Int
        do throws(WireError) { size = try Frame.encode(message, tag: slot.tag, into: &e) } catch {
            guard msize > CallSlot.requestCapacity else { throw .wire(error) }
            // Larger than the slot's buffer (many walk names, a long symlink target): a heap buffer up to msize.
            var big = WireEncoder(slot.requestOverflowBuffer(msize))
            do throws(WireError) { size = try Frame.encode(message, tag: slot.tag, into: &big) } catch { throw .wire(error) }
        }
        slot.sendHeader = size
        return size
    }

    /// Encodes a Twrite header into the slot; the payload is sent from `payload` itself. Returns the frame size.
    func encodeWrite(into slot: CallSlot, fid: FID, from payload: UnsafeBufferPointer<iovec>, count: Int,
                     at offset: UInt64) throws(P9Error) -> Int {
        guard Twrite.headerSize + count <= msize else { throw .wire(.messageTooLarge(size: Twrite.headerSize + count, limit: msize)) }
        do throws(WireError) {
            try Twrite.encodeHeader(tag: slot.tag, fid: fid, offset: offset, count: UInt32(count),
                                    into: UnsafeMutableRawBufferPointer(start: slot.request, count: Twrite.headerSize))
        } catch { throw .wire(error) }
        slot.sendHeader = Twrite.headerSize
        slot.sendPayload = payload
        return Twrite.headerSize + count
    }

    /// Queues the slot's request; the first caller to find nobody sending sends every queued request in one
    /// sendmsg, so requests of concurrent callers go out together and nobody waits on a lock held across a syscall.
    private func submit(_ slot: CallSlot) throws(P9Error) {
        var batch: [CallSlot] = []
        enum Turn { case wait, alone, batch }
        let turn = sendQueue.withLock { q -> Turn in
            if !q.sending && q.outgoing.isEmpty {
                q.sending = true
                return .alone  // the common case: a free socket, this request goes out without the queue
            }
            q.outgoing.append(slot)
            guard !q.sending else { return .wait }
            q.sending = true
            swap(&batch, &q.outgoing)
            swap(&q.outgoing, &q.spare)
            return .batch
        }
        switch turn {
        case .wait: return
        case .alone: if let error = sendBatch(CollectionOfOne(slot)) { return try sendFailed(error) }
        case .batch: if let error = sendBatch(batch) { return try sendFailed(error) }
        }
        var emptied = turn == .batch
        while true {
            batch.removeAll(keepingCapacity: true)
            // The emptied array becomes the spare; what queued meanwhile is the next batch.
            let more = sendQueue.withLock { q -> Bool in
                if emptied { swap(&q.spare, &batch) }
                guard !q.outgoing.isEmpty else {
                    q.sending = false
                    return false
                }
                swap(&batch, &q.outgoing)
                swap(&q.outgoing, &q.spare)
                return true
            }
            guard more else { return }
            emptied = true
            if let error = sendBatch(batch) { return try sendFailed(error) }
        }
    }

    /// A send failed: the connection breaks, queued requests are dropped (their callers fail in wait).
    private func sendFailed(_ error: P9Error) throws(P9Error) {
        fail(error)
        sendQueue.withLock { q in
            q.outgoing.removeAll()
            q.sending = false
        }
        throw withCallState { $0.broken } ?? error
    }

    /// Writes the requests of `batch` with one sendmsg (split only past the kernel's iovec limit).
    private func sendBatch<Batch: Collection<CallSlot>>(_ batch: Batch) -> P9Error? {
        var count = 0
        for slot in batch { count += 1 + (slot.sendPayload?.count ?? 0) }
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { iov -> P9Error? in
            var n = 0
            for slot in batch {
                iov[n] = iovec(iov_base: slot.requestBytes, iov_len: slot.sendHeader)
                n += 1
                if let payload = slot.sendPayload {
                    for v in payload { iov[n] = v; n += 1 }
                }
                // Done with the slot: its owner resets it only after the reply, which the socket orders after this
                // send; TSan cannot see that order on a descriptor it did not watch being made (`--clients`).
                cshims_tsan_release(slot.request)
            }
            var at = 0
            while at < n {
                let chunk = min(n - at, Self.iovMax)
                do { try transport.send(UnsafeBufferPointer(rebasing: iov[at..<(at + chunk)]), fds: []) } catch {
                    return .connectionClosed("send failed: \(error)")
                }
                at += chunk
            }
            return nil
        }
    }

    /// Most iovecs one sendmsg takes (IOV_MAX on Linux).
    static let iovMax = 1024
}
