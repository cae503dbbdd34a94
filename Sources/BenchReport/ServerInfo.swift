/// `server` of a result: which server answered and what the connection negotiated.
public struct ServerInfo: Codable, Sendable, Equatable {
    /// builtin, inproc, diod, external or native.
    public var kind: String
    /// The server's address (nil for a socketpair).
    public var address: String?
    /// The negotiated version string.
    public var version: String?
    /// Extension messages usable on the connection (empty for plain 9P2000.L).
    public var extensions: [String]
    /// The negotiated msize.
    public var msize: Int?
    /// socketpair, unix, tcp, or none (native: no server, no transport).
    public var transport: String
    /// What the user-space link relay adds to a null RPC at delay 0, median, in µs (`relay_cost_us`, measured once per
    /// run); absent when the result's connection had no relay (no `link_delay_us`).
    public var relayCostUs: Double?

    /// Server information with every field given.
    public init(kind: String, address: String? = nil, version: String? = nil, extensions: [String] = [], msize: Int? = nil,
                transport: String) {
        self.kind = kind
        self.address = address
        self.version = version
        self.extensions = extensions
        self.msize = msize
        self.transport = transport
    }

    /// The server as the table and the exports name it: its kind, or its address for an external one (two external
    /// servers in one run stay apart, and a bench-started server's temporary socket never enters a name).
    public var label: String { kind == "external" ? address ?? kind : kind }

    enum CodingKeys: String, CodingKey { case kind, address, version, extensions, msize, transport, relayCostUs = "relay_cost_us" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encodeOrNull(address, forKey: .address)
        try c.encodeOrNull(version, forKey: .version)
        try c.encode(extensions, forKey: .extensions)
        try c.encodeOrNull(msize, forKey: .msize)
        try c.encode(transport, forKey: .transport)
        // Only relayed results carry it: a report of direct connections keeps the server object it always had.
        if let relayCostUs, relayCostUs.isFinite { try c.encode(relayCostUs, forKey: .relayCostUs) }
    }
}
