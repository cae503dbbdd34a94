import Glibc

/// How a `Server` negotiates, schedules and guards its connections.
public struct ServerOptions: Sendable {
    /// The highest extension version N accepted; a newer offer gets EAGAIN so the client steps down.
    public var maxVersion: UInt32
    /// The largest msize granted (requests above it are clamped; at most 8 MiB).
    public var maxMsize: Int
    /// Requests one connection may run at once, each on a thread of its own; more wait in a queue (where
    /// Tflush can still drop them). 1 runs a connection's requests one at a time, in order.
    public var workers: Int
    /// Threads the server may start beyond one per connection, shared by all connections: a request that has
    /// run for a monitor tick hands reading its connection to one of them.
    public var extraThreads: Int
    /// Before a blocking read, poll the socket without blocking for up to this long (nil: block at once).
    public var spin: Duration?
    /// Shared-memory channels one connection may open with Tchannel (0 refuses them with ENOSYS).
    public var channels: Int
    /// The longest a channel's thread spins for the next request before it sleeps on the futex, adapted like the
    /// client's (`ClientOptions.channelSpin`; nil: sleep at once).
    public var channelSpin: Duration?
    /// Send host FDs beside Rlopen/Rlcreate/Rucreate when the connection is a Unix socket.
    public var donateFDs: Bool
    /// Refuse every mutating request with EROFS (whatever the file server would do).
    public var readOnly: Bool
    /// TCP peers accepted besides loopback (which is always accepted).
    public var allow: [CIDR]
    /// Requests one connection may have queued or running before its reader waits (bounds memory).
    public var maxInflightPerConnection: Int
    /// Receives one line per notable event (connection opened/refused/closed, malformed frame).
    public var log: (@Sendable (String) -> Void)?

    /// The msize ceiling this implementation allows.
    public static let msizeCeiling = 8 << 20
    /// The smallest msize granted; smaller requests get EINVAL (every fixed-size reply must fit).
    public static let msizeFloor = 256

    /// Creates options; defaults: N 13, msize 8 MiB, 8 workers per connection, 64 extra threads, donation on,
    /// read-write, loopback only, no spin, no channels.
    public init(maxVersion: UInt32 = P9Version.highest, maxMsize: Int = 8 << 20, workers: Int = 8,
                extraThreads: Int = 64, donateFDs: Bool = true, readOnly: Bool = false, allow: [CIDR] = [],
                maxInflightPerConnection: Int = 64, spin: Duration? = nil, channels: Int = 0,
                channelSpin: Duration? = .microseconds(100), log: (@Sendable (String) -> Void)? = nil) {
        self.channels = max(0, channels)
        self.channelSpin = channelSpin
        self.maxVersion = maxVersion
        self.maxMsize = maxMsize
        self.workers = workers
        self.extraThreads = extraThreads
        self.spin = spin
        self.donateFDs = donateFDs
        self.readOnly = readOnly
        self.allow = allow
        self.maxInflightPerConnection = maxInflightPerConnection
        self.log = log
    }

    /// `maxMsize` clamped to what the server supports.
    var effectiveMaxMsize: Int { min(max(maxMsize, Self.msizeFloor), Self.msizeCeiling) }
}

/// An IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8", "::1/128"; a bare address is a /32 or /128).
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The network address, 4 or 16 bytes.
    public let address: [UInt8]
    /// The prefix length in bits.
    public let prefixLength: Int

    /// Parses "ADDRESS[/BITS]"; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = CIDR.parseAddress(String(parts[0])) else { return nil }
        let bits: Int
        if parts.count == 2 {
            guard let b = Int(parts[1]), b >= 0, b <= bytes.count * 8 else { return nil }
            bits = b
        } else {
            bits = bytes.count * 8
        }
        address = bytes
        prefixLength = bits
    }

    /// The text form.
    public var description: String {
        var buf = [CChar](repeating: 0, count: 64)
        let family = address.count == 4 ? AF_INET : AF_INET6
        _ = address.withUnsafeBytes { a in inet_ntop(family, a.baseAddress, &buf, socklen_t(buf.count)) }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(prefixLength)"
    }

    /// Whether `bytes` (4 or 16 bytes; an IPv4-mapped IPv6 address counts as IPv4) is inside this network.
    public func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if candidate.count == 16, address.count == 4,
           candidate[0..<10].allSatisfy({ $0 == 0 }), candidate[10] == 0xFF, candidate[11] == 0xFF {
            candidate = Array(candidate[12..<16])
        }
        guard candidate.count == address.count else { return false }
        var bits = prefixLength
        for i in 0..<address.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if candidate[i] & mask != address[i] & mask { return false }
            bits -= 8
        }
        return true
    }

    /// 127.0.0.0/8 and ::1/128: always accepted.
    public static let loopback: [CIDR] = [CIDR("127.0.0.0/8")!, CIDR("::1/128")!]

    static func parseAddress(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
