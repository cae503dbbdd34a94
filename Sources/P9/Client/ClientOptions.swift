import Glibc

/// How a `Client` negotiates and whom it attaches as.
public struct ClientOptions: Sendable {
    /// The highest gVisor extension version N offered (0 offers plain "9P2000.L").
    public var maxVersion: UInt32 = 13
    /// The msize offered (at most `maxMsize`); the server's answer wins if smaller, and a gVisor server's EINVAL
    /// for more than 1 MiB makes the client offer 1 MiB instead.
    public var msize: Int = 1 << 20
    /// Default attach user name (the current user's).
    public var uname: String = ClientOptions.currentUserName()
    /// Default attach numeric uid (n_uname).
    public var nUname: UInt32 = getuid()
    /// Longest wait for one reply (nil: no limit). A call without its reply by then fails with `.timedOut` and
    /// closes the connection, so every other call in flight fails too.
    public var rpcTimeout: Duration?
    /// Treads one read larger than the payload size keeps in flight, so the socket never idles between them
    /// (1: one at a time).
    public var readPipelineDepth: Int = 4
    /// Before blocking for a reply, poll the socket without blocking for up to this long (nil: block at once).
    /// Cuts the wake-up latency between CPUs at the price of a busy CPU.
    public var spin: Duration?
    /// Shared-memory channels asked for with Tchannel at N >= 8 over a Unix socket (0: the socket only). A call
    /// takes a free channel, else the socket; calls whose reply carries a host FD always use the socket.
    public var channels: Int = 0
    /// The longest a caller waiting on a channel spins before it sleeps on the futex: it spins about twice as long
    /// as recent replies took, not at all when they take longer than this or the server last ran on the caller's
    /// CPU (nil: sleep at once).
    public var channelSpin: Duration? = .microseconds(100)

    /// The number of channels a client asks for by default: min(max(CPUs, 2), 4).
    public static var defaultChannels: Int { min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 2), 4) }

    /// The largest msize the client offers (goferd's ceiling).
    public static let maxMsize = 8 << 20
    /// The largest msize a gVisor server accepts.
    public static let gVisorMaxMsize = 1 << 20

    public init(maxVersion: UInt32 = 13, msize: Int = 1 << 20, uname: String? = nil, nUname: UInt32? = nil,
                rpcTimeout: Duration? = nil, spin: Duration? = nil, readPipelineDepth: Int = 4, channels: Int = 0) {
        self.channels = max(0, channels)
        self.maxVersion = maxVersion
        self.msize = msize
        self.rpcTimeout = rpcTimeout
        self.spin = spin
        self.readPipelineDepth = max(1, readPipelineDepth)
        if let uname { self.uname = uname }
        if let nUname { self.nUname = nUname }
    }

    /// The name of the effective user, or its uid in decimal when the user database has none.
    public static func currentUserName() -> String {
        let uid = geteuid()
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(uid, &pw, &buffer, buffer.count, &result) == 0, let r = result, let name = r.pointee.pw_name {
            return String(cString: name)
        }
        return String(uid)
    }
}
