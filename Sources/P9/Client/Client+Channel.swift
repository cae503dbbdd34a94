import Glibc
import SystemPackage

/// A shared-memory channel of one client (PROTOCOL.md §4.3 Tchannel): one call at a time, the caller holding `lock`.
final class ClientChannel: Sendable {
    let region: ChannelRegion
    /// Held for a whole call: the window belongs to the caller holding it. It guards the average time a reply
    /// took (ns), which sizes the next spin.
    let lock = Locked<UInt64>(0)

    init(region: ChannelRegion) { self.region = region }
}

extension Client {
    /// How long a caller sleeps on a channel before it checks that the server is still there.
    static let channelCheckNanoseconds: Int64 = 100_000_000

    /// Asks for `count` channels with Tchannel right after Tversion (before any other call); a refusal (Rlerror:
    /// diod, a goferd without channels) ends the asking and the channels granted so far are used.
    static func openChannels(_ t: any Transport, count: Int, msize: Int, stats: RPCStats) throws(P9Error) -> [ClientChannel] {
        var channels: [ClientChannel] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 16)
        defer { buffer.deallocate() }
        for id in 0..<count {
            var fds: [Int32] = []
            defer { for fd in fds { _ = Glibc.close(fd) } }
            let (type, body) = try setupExchange(t, Tchannel(id: UInt32(id), control: 0), buffer: buffer, fds: &fds, stats: stats)
            var d = WireDecoder(body)
            switch type {
            case MessageType.rchannel.rawValue:
                let r: Rchannel
                do { r = try Rchannel(from: &d) } catch { throw .wire(error) }
                guard let fd = fds.first else { throw .protocolViolation("Rchannel without its memory descriptor") }
                channels.append(ClientChannel(region: try ChannelRegion.map(fd: fd, offset: r.offset, length: r.length, msize: msize)))
            case MessageType.rlerror.rawValue:
                return channels
            default:
                throw .protocolViolation("Tchannel answered with message type \(type)")
            }
        }
        return channels
    }

    /// Sends one setup request (tag 1, before the engine runs) and reads its reply into `buffer`; returns the
    /// reply's type and body.
    private static func setupExchange<T: Message>(_ t: any Transport, _ m: T, buffer: UnsafeMutableRawBufferPointer,
                                                  fds: inout [Int32], stats: RPCStats) throws(P9Error) -> (UInt8, UnsafeRawBufferPointer) {
        let size: Int
        do { size = try Frame.encode(m, tag: Tag(rawValue: 1), into: buffer, msize: buffer.count) } catch { throw .wire(error) }
        do {
            try t.send(UnsafeRawBufferPointer(rebasing: buffer[..<size]))
            stats.countRequest(T.type, bytes: size)
            let header = UnsafeMutableRawBufferPointer(rebasing: buffer[..<Frame.headerSize])
            guard try t.receiveFully(into: header, fds: &fds) else { throw P9Error.connectionClosed("server closed during \(T.type)") }
            let h: Frame.Header
            do { h = try Frame.header(UnsafeRawBufferPointer(header), limit: buffer.count) } catch {
                throw P9Error.protocolViolation("bad \(T.type) reply: \(error)")
            }
            let body = UnsafeMutableRawBufferPointer(rebasing: buffer[Frame.headerSize..<h.size])
            guard try t.receiveFully(into: body, fds: &fds) else { throw P9Error.connectionClosed("server closed during \(T.type)") }
            stats.countReceived(h.size)
            return (h.type, UnsafeRawBufferPointer(body))
        } catch let e as P9Error {
            throw e
        } catch {
            throw .connectionClosed("\(T.type): \(error)")
        }
    }

    /// One RPC over `ch` (its lock held): the frame is copied into the window, the server woken, and the reply
    /// copied out of the window into the slot before anything in it is checked.
    func callOnChannel<R>(_ ch: ClientChannel, _ estimate: inout UInt64, _ type: MessageType, fid: FID, sink: UnsafeBufferPointer<iovec>?,
                          encode: (CallSlot) throws(P9Error) -> Int,
                          decode: (CallSlot) throws(P9Error) -> R) throws(P9Error) -> R {
        let slot = try begin(type, sink: sink)
        defer { end(slot) }
        let start = stats.isTracing ? RPCStats.now() : 0
        let sent = try encode(slot)
        stats.countRequest(type, bytes: sent)
        stats.countOnChannel()
        try exchange(ch.region, slot, bytes: sent, estimate: &estimate)
        return try complete(PendingCall(slot: slot, type: type, fid: fid, sent: sent, start: start), decode: decode)
    }

    /// Posts the slot's request on the channel and waits for the reply; breaks the connection on a dead or
    /// misbehaving server.
    private func exchange(_ region: ChannelRegion, _ slot: CallSlot, bytes: Int, estimate: inout UInt64) throws(P9Error) {
        let w = region.window
        guard bytes <= region.windowSize else { throw .wire(.messageTooLarge(size: bytes, limit: region.windowSize)) }
        w.copyMemory(from: slot.requestBytes, byteCount: slot.sendHeader)
        var at = slot.sendHeader
        if let payload = slot.sendPayload {
            for v in payload where v.iov_len > 0 {
                (w + at).copyMemory(from: v.iov_base!, byteCount: v.iov_len)
                at += v.iov_len
            }
        }
        region.post(.request)
        let request = ChannelRegion.State.request.rawValue
        let s = region.wait(whileIn: request, request, maxSpinNanoseconds: channelSpinNanoseconds, estimate: &estimate,
                            sleepNanoseconds: Self.channelCheckNanoseconds,
                            alive: { timedOut in channelAlive(slot, timedOut: timedOut) })
        guard s == ChannelRegion.State.reply.rawValue else {
            if s == ChannelRegion.gone {
                if slot.deadline != 0 && monotonicNanoseconds() >= slot.deadline { throw .timedOut(slot.type, rpcTimeout!) }
                throw withCallState { $0.broken } ?? .connectionClosed("channel closed")
            }
            let e: P9Error = s == ChannelRegion.State.closed.rawValue
                ? .connectionClosed("the server closed the channel") : .protocolViolation("channel state word \(s)")
            fail(e)
            throw e
        }
        try takeReply(region, slot)
    }

    /// While asleep on a channel: false once the connection broke, the server's end of the socket hung up
    /// (checked after each whole sleep, so a dead server is noticed within `channelCheckNanoseconds`) or the
    /// call's deadline passed (both break the connection).
    private func channelAlive(_ slot: CallSlot, timedOut: Bool) -> Bool {
        if isClosed { return false }
        guard timedOut else { return true }
        let rdhup: Int16 = 0x2000  // POLLRDHUP (a _GNU_SOURCE constant): the peer closed or shut down its end
        var p = pollfd(fd: channelSocket, events: rdhup, revents: 0)
        if poll(&p, 1, 0) == 1 && p.revents & (rdhup | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0 {
            fail(.connectionClosed("the server hung up while a call waited on a channel"))
            return false
        }
        if slot.deadline != 0 && monotonicNanoseconds() >= slot.deadline {
            fail(.connectionClosed("no reply to \(slot.type) (tag \(slot.tag.rawValue)) within \(rpcTimeout!)"))
            return false
        }
        return true
    }

    /// Copies the reply out of the window into the slot (or an Rread's payload into the caller's memory); each
    /// header field is loaded once and checked like a socket frame's.
    private func takeReply(_ region: ChannelRegion, _ slot: CallSlot) throws(P9Error) {
        let w = region.window
        let size = Int(UInt32(littleEndian: w.loadUnaligned(as: UInt32.self)))
        let type = w.load(fromByteOffset: 4, as: UInt8.self)
        let tag = UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 5, as: UInt16.self))
        guard size >= Frame.headerSize, size <= region.windowSize, tag == slot.tag.rawValue,
              type == slot.expected || type == MessageType.rlerror.rawValue else {
            return try channelViolation("bad reply header on a channel: size \(size), type \(type), tag \(tag)")
        }
        if type == MessageType.rread.rawValue, let sink = slot.sink {
            guard size >= Rread.headerSize else { return try channelViolation("short Rread on a channel") }
            let count = Int(UInt32(littleEndian: w.loadUnaligned(fromByteOffset: Frame.headerSize, as: UInt32.self)))
            var capacity = 0
            for v in sink { capacity += v.iov_len }
            guard count == size - Rread.headerSize, count <= capacity else {
                return try channelViolation("Rread count \(count) in a \(size)-byte frame for a \(capacity)-byte read")
            }
            copy(from: w + Rread.headerSize, count: count, into: sink)
            slot.buffer.storeBytes(of: UInt32(count).littleEndian, toByteOffset: Frame.headerSize, as: UInt32.self)
            slot.bodyCount = Rread.headerSize - Frame.headerSize
            slot.payloadCount = count
        } else {
            let into = size <= CallSlot.bufferCapacity ? slot.buffer : slot.overflowBuffer(size)
            into.copyMemory(from: w, byteCount: size)
            slot.bodyCount = size - Frame.headerSize
        }
        slot.bodyStart = Frame.headerSize
        slot.replyType = type
        stats.countReceived(size)
    }

    private func channelViolation(_ why: String) throws(P9Error) {
        let e = P9Error.protocolViolation(why)
        fail(e)
        throw e
    }
}
