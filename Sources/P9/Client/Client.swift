import Glibc
import Synchronization
import SystemPackage

/// A 9P2000.L client over one transport: version negotiation, tag and fid pools, and concurrent calls.
///
/// Any number of threads may call at once. Each request is encoded into its tag's slot; whoever finds the
/// socket free sends every request queued so far in one sendmsg. Replies are routed by tag through a receive
/// baton: no receiver thread exists, the waiting caller holding the baton reads what the socket holds and
/// hands each reply to its owner, so a lone caller never pays a thread hand-off and many callers share reads.
public final class Client: Sendable {
    /// The transport the client owns.
    public let transport: any Transport
    /// Negotiated msize: min(offered, Rversion.msize).
    public let msize: Int
    /// Negotiated gVisor extension version N (0 = plain 9P2000.L).
    public let version: UInt32
    /// The version string the server accepted.
    public let versionString: String
    /// RPC counters and trace of this connection.
    public let stats: RPCStats
    /// The options the client was made with (attach defaults).
    public let options: ClientOptions

    let state = Locked(CallState())
    /// Requests encoded and waiting for the send turn (a lock of its own: senders never wait on receivers).
    let sendQueue = Locked(SendQueue())
    let fids = Locked(IDPool<FID>(what: "fids"))
    /// The receive baton holder's framing state.
    let rx = ReceiveState()
    /// Calls in flight whose Rread payload goes straight to caller memory (reads then stop at frame boundaries).
    let sinkCalls = Atomic<Int>(0)
    /// Spreads callers that find every channel busy over the channels, in turn.
    let channelTurn = Atomic<Int>(0)
    /// `options.rpcTimeout` and `options.spin` in nanoseconds (nil: none).
    let rpcTimeoutNanoseconds: UInt64?
    let spinNanoseconds: UInt64?
    /// Shared-memory channels granted by the server (empty: every call goes over the socket).
    let channels: [ClientChannel]
    /// The socket a caller asleep on a channel polls to notice a dead server (-1: no channels).
    let channelSocket: Int32
    /// `options.channelSpin` in nanoseconds (0: sleep at once).
    let channelSpinNanoseconds: UInt64

    /// Connects over `transport` and negotiates the version (PROTOCOL.md §4.1); the client owns the transport.
    public init(transport: any Transport, options: ClientOptions = .init()) throws(P9Error) {
        let stats = RPCStats()
        let offered = max(4096, min(options.msize, ClientOptions.maxMsize))
        let negotiated: (msize: Int, version: UInt32, string: String)
        var channels: [ClientChannel] = []
        let socket = (transport as? StreamTransport).flatMap { $0.canCarryFDs ? $0.fd : nil }
        do {
            negotiated = try Self.negotiate(transport, msize: offered, maxVersion: options.maxVersion, stats: stats)
            if options.channels > 0, negotiated.version >= MessageType.tchannel.minimumVersion, socket != nil {
                channels = try Self.openChannels(transport, count: options.channels, msize: negotiated.msize, stats: stats)
            }
        } catch {
            transport.close()
            throw error
        }
        self.transport = transport
        self.options = options
        self.stats = stats
        self.msize = negotiated.msize
        self.version = negotiated.version
        self.versionString = negotiated.string
        self.channels = channels
        channelSocket = socket ?? -1
        channelSpinNanoseconds = options.channelSpin?.nanosecondCount ?? 0
        rpcTimeoutNanoseconds = options.rpcTimeout.map(\.nanosecondCount).flatMap { $0 > 0 ? $0 : nil }
        spinNanoseconds = options.spin.map(\.nanosecondCount).flatMap { $0 > 0 ? $0 : nil }
        transport.sizeBuffers(forMessages: negotiated.msize)
        // A blocked read wakes now and then to check deadlines: a quarter of the timeout, at least 1 ms.
        if let t = rpcTimeoutNanoseconds { transport.setReceiveTimeout(.nanoseconds(Int64(max(t / 4, 1_000_000)))) }
    }

    deinit {
        transport.close()
    }

    /// The per-call deadline (`options.rpcTimeout`).
    var rpcTimeout: Duration? { options.rpcTimeout }

    /// Bytes of payload one Tread/Twrite/Treaddir may carry: msize - 24.
    public var payloadSize: Int { msize - Frame.ioHeaderSize }

    /// The extension T messages the negotiated version enables (empty for plain 9P2000.L).
    public var extensions: [MessageType] { P9Version.extensions(version: version) }

    /// Whether the negotiated version lets this client send `t`.
    @inline(__always)
    public func supports(_ t: MessageType) -> Bool { t.minimumVersion <= version }

    /// Shared-memory channels in use (0: the server refused them, or none were asked for).
    public var channelCount: Int { channels.count }

    /// Fids allocated and not yet clunked or removed.
    public var fidsInUse: Int { fids.withLock { $0.inUse } }

    /// Tags of calls in flight.
    public var tagsInUse: Int { withCallState { $0.tags.inUse } }

    /// Whether the connection has failed or been closed.
    public var isClosed: Bool { withCallState { $0.broken != nil } }

    /// Attaches to `aname` as `uname`/`nUname` (defaults from the options) and returns the root file.
    public func attach(aname: String = "", uname: String? = nil, nUname: UInt32? = nil) throws(P9Error) -> ClientFile {
        let fid = try allocateFid()
        let message = Tattach(fid: fid, afid: FID.none, uname: uname ?? options.uname, aname: aname,
                              nUname: nUname ?? options.nUname)
        do {
            _ = try call(message, fid: fid, reply: Rattach.self)
        } catch {
            releaseFid(fid)
            throw error
        }
        return ClientFile(client: self, fid: fid)
    }

    /// Fails every pending and later call and releases the transport once no call is in flight.
    public func close() {
        fail(.connectionClosed("closed by the client"))
        let idle = withCallState { s in
            s.closeRequested = true
            return s.tags.inUse == 0
        }
        if idle { transport.close() }
    }

    func allocateFid() throws(P9Error) -> FID {
        try fids.withLock { (p) throws(P9Error) in try p.allocate() }
    }

    func releaseFid(_ fid: FID) {
        fids.withLock { $0.release(fid) }
    }
}

// MARK: - Version negotiation

extension Client {
    /// Tversion with NOTAG before any other call: offer N, step down on EAGAIN, fall back to "9P2000.L" once on any other error.
    static func negotiate(_ t: any Transport, msize requested: Int, maxVersion: UInt32, stats: RPCStats)
        throws(P9Error) -> (msize: Int, version: UInt32, string: String) {
        var msize = requested
        let capacity = 8192
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var n = min(maxVersion, P9Version.highest)
        var triedPlain = false
        while true {
            let offer = P9Version.string(for: n)
            let reply = try exchangeVersion(t, Tversion(msize: UInt32(msize), version: offer), buffer: buffer, stats: stats)
            switch reply {
            case let .success(r):
                guard let got = P9Version.parse(r.version), got <= n else {
                    throw .protocolViolation("server answered Tversion \"\(offer)\" with version \"\(r.version)\"")
                }
                guard r.msize >= 64 else { throw .protocolViolation("server msize \(r.msize) is too small") }
                return (min(msize, Int(r.msize)), got, P9Version.string(for: got))
            case let .failure(errno):
                if errno == .invalidArgument && msize > ClientOptions.gVisorMaxMsize {
                    msize = ClientOptions.gVisorMaxMsize  // a gVisor server refuses more than 1 MiB; diod and goferd clamp
                } else if errno == .resourceTemporarilyUnavailable && n > 0 {
                    n -= 1
                } else if !triedPlain && n > 0 {
                    triedPlain = true
                    n = 0
                } else {
                    throw .remote(errno)
                }
            }
        }
    }

    private static func exchangeVersion(_ t: any Transport, _ m: Tversion, buffer: UnsafeMutableRawBufferPointer,
                                        stats: RPCStats) throws(P9Error) -> Result<Rversion, Errno> {
        let size: Int
        do { size = try Frame.encode(m, tag: Tag.none, into: buffer, msize: buffer.count) } catch { throw .wire(error) }
        var fds: [Int32] = []
        defer { for fd in fds { _ = Glibc.close(fd) } }
        do {
            try t.send(UnsafeRawBufferPointer(rebasing: buffer[..<size]))
            stats.countRequest(.tversion, bytes: size)
            let header = UnsafeMutableRawBufferPointer(rebasing: buffer[..<Frame.headerSize])
            guard try t.receiveFully(into: header, fds: &fds) else {
                throw P9Error.connectionClosed("server closed the connection during Tversion")
            }
            let h: Frame.Header
            do { h = try Frame.header(UnsafeRawBufferPointer(header), limit: buffer.count) } catch {
                throw P9Error.protocolViolation("bad Tversion reply: \(error)")
            }
            let body = UnsafeMutableRawBufferPointer(rebasing: buffer[Frame.headerSize..<h.size])
            guard try t.receiveFully(into: body, fds: &fds) else {
                throw P9Error.connectionClosed("server closed the connection during Tversion")
            }
            stats.countReceived(h.size)
            var d = WireDecoder(UnsafeRawBufferPointer(body))
            switch h.type {
            case MessageType.rversion.rawValue:
                do { return .success(try Rversion(from: &d)) } catch { throw P9Error.wire(error) }
            case MessageType.rlerror.rawValue:
                do { return .failure(Errno(rawValue: Int32(bitPattern: try Rlerror(from: &d).errno))) } catch {
                    throw P9Error.wire(error)
                }
            default:
                throw P9Error.protocolViolation("Tversion answered with message type \(h.type)")
            }
        } catch let e as P9Error {
            throw e
        } catch let e as Errno {
            throw .connectionClosed("Tversion: \(e)")
        } catch {
            throw .connectionClosed("Tversion: \(error)")
        }
    }
}
