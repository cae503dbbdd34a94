import Glibc
import Synchronization
import SystemPackage

/// One shared-memory channel of a connection, served by a thread of its own: it waits for the client to post a
/// request, copies the frame out of the window, checks it like a socket frame, runs it and copies the reply in.
final class ServerChannel: Sendable {
    let region: ChannelRegion
    let id: Int
    /// Set when the connection ends; the thread leaves at its next wake-up.
    let closing = Atomic<Bool>(false)

    init(region: ChannelRegion, id: Int) {
        self.region = region
        self.id = id
    }

    /// Stops the thread (it may be asleep on the futex) and tells a client waiting on the channel at once.
    func close() {
        closing.store(true, ordering: .releasing)
        region.post(.closed)
        region.wake()
    }

    /// The channel's thread: serves requests until the connection ends or the client breaks the framing.
    func serve(_ connection: ServerConnection, spinNanoseconds: UInt64) {
        let frame = RequestFrame(capacity: region.windowSize)
        let w = region.window
        let idle = ChannelRegion.State.idle.rawValue
        let reply = ChannelRegion.State.reply.rawValue
        var estimate: UInt64 = 0  // how long the client took to post its next request, on average (sizes the spin)
        while true {
            let s = region.wait(whileIn: idle, reply, maxSpinNanoseconds: spinNanoseconds, estimate: &estimate,
                                sleepNanoseconds: 100_000_000,
                                alive: { _ in !closing.load(ordering: .acquiring) })
            if s == ChannelRegion.gone || s == ChannelRegion.State.closed.rawValue { return }
            guard s == ChannelRegion.State.request.rawValue else {
                return connection.abort("channel \(id): bad state word \(s)")
            }
            // The client may rewrite the window at any time: the size is loaded once, checked, and the frame copied.
            let size = Int(UInt32(littleEndian: w.loadUnaligned(as: UInt32.self)))
            guard size >= Frame.headerSize, size <= region.windowSize else {
                return connection.abort("channel \(id): malformed frame: size \(size), msize \(region.windowSize)")
            }
            frame.base.copyMemory(from: w, byteCount: size)
            frame.base.storeBytes(of: UInt32(size).littleEndian, as: UInt32.self)
            frame.size = size
            frame.type = frame.base.load(fromByteOffset: 4, as: UInt8.self)
            frame.tag = Tag(rawValue: UInt16(littleEndian: frame.base.loadUnaligned(fromByteOffset: 5, as: UInt16.self)))
            guard let (length, inWindow) = connection.executeOnChannel(frame, window: w), !closing.load(ordering: .acquiring) else {
                return
            }
            if !inWindow { w.copyMemory(from: frame.base, byteCount: length) }
            region.post(.reply)
        }
    }
}

/// A connection's channels; `closed` once the connection is torn down (no new ones then).
struct ChannelSet {
    var list: [ServerChannel] = []
    var closed = false
}

extension ServerConnection {
    /// Tchannel: a new channel (a sealed memfd holding a window of msize bytes) served by a thread of its own;
    /// returns the memfd to send with Rchannel. Refused with ENOSYS without FD passing, below N = 8 or past
    /// `ServerOptions.channels`; only control 0 (the memory) is served.
    func openChannel(_ m: Tchannel) throws -> FileDescriptor {
        guard transport.canCarryFDs, version.load(ordering: .relaxed) >= MessageType.tchannel.minimumVersion else {
            throw Errno(rawValue: ENOSYS)
        }
        guard m.control == 0 else { throw Errno.invalidArgument }
        let limit = server.options.channels
        let msize = self.msize.load(ordering: .relaxed)
        let (channel, fd) = try channels.withLock { set throws -> (ServerChannel, Int32) in
            guard set.list.count < limit, !set.closed else { throw Errno(rawValue: ENOSYS) }
            let (region, fd) = try ChannelRegion.create(msize: msize)
            let c = ServerChannel(region: region, id: set.list.count)
            set.list.append(c)
            return (c, fd)
        }
        let spin = server.options.channelSpin?.nanosecondCount ?? 0
        startThread { [self] in channel.serve(self, spinNanoseconds: spin) }
        server.log("connection \(id): channel \(channel.id) open (\(msize)-byte window)")
        return FileDescriptor(rawValue: fd)
    }

    /// Runs a request that came on a channel; returns the reply's length and whether it is already in `window`
    /// (else it is in `frame`), or nil when the frame was malformed (the connection is then closed, as for a
    /// socket frame).
    func executeOnChannel(_ frame: RequestFrame, window: UnsafeMutableRawPointer) -> (Int, inWindow: Bool)? {
        do {
            let reply = try dispatch(frame, version: version.load(ordering: .relaxed), window: window)
            if let fd = reply.fd { try? fd.close() }
            return (reply.length, reply.inWindow)
        } catch let m as MalformedFrame {
            abort("malformed \(MessageType(rawValue: frame.type)?.description ?? "type \(frame.type)") on a channel: \(m.reason)")
            return nil
        } catch {
            let code = (error as? Errno)?.rawValue ?? EIO
            encode(Rlerror(errno: UInt32(code)), tag: frame.tag, in: frame)
            return (frame.replyLength, false)
        }
    }

    /// Stops every channel's thread (connection teardown).
    func closeChannels() {
        let list = channels.withLock { set -> [ServerChannel] in
            set.closed = true
            defer { set.list = [] }
            return set.list
        }
        for c in list { c.close() }
    }
}
