/// `context.limits`: what the machine can do at best, measured in the same run and with the same CPU placement as
/// the scenarios (DESIGN.md "Performance references"); every value null when not measured.
public struct Limits: Codable, Sendable, Equatable {
    /// Round trip of one byte over a Unix socketpair between this process and a forked echo child, in µs.
    public var socketRTTus: Double?
    /// Streaming through a Unix socketpair to a forked child in 1 MiB writes, GiB/s.
    public var socketStreamGiBs: Double?
    /// memcpy of 1 MiB (buffers on the memory node), GiB/s.
    public var memcpyGiBs: Double?
    /// pread of a page-cached file in 1 MiB reads, GiB/s.
    public var preadGiBs: Double?
    /// Where the measurement ran (nil when nothing was measured).
    public var placement: LimitsPlacement?

    /// Limits with the given values.
    public init(socketRTTus: Double? = nil, socketStreamGiBs: Double? = nil, memcpyGiBs: Double? = nil, preadGiBs: Double? = nil,
                placement: LimitsPlacement? = nil) {
        self.socketRTTus = socketRTTus
        self.socketStreamGiBs = socketStreamGiBs
        self.memcpyGiBs = memcpyGiBs
        self.preadGiBs = preadGiBs
        self.placement = placement
    }

    /// Every value null (`--no-limits`).
    public static let none = Limits()

    enum CodingKeys: String, CodingKey {
        case socketRTTus = "socket_rtt_us", socketStreamGiBs = "socket_stream_gib_s", memcpyGiBs = "memcpy_gib_s"
        case preadGiBs = "pread_gib_s", placement
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        socketRTTus = try c.decode(Double?.self, forKey: .socketRTTus)
        socketStreamGiBs = try c.decode(Double?.self, forKey: .socketStreamGiBs)
        memcpyGiBs = try c.decode(Double?.self, forKey: .memcpyGiBs)
        preadGiBs = try c.decode(Double?.self, forKey: .preadGiBs)
        // The schema also allows a free-text placement; it carries nothing this model reads.
        if (try? c.decode(String.self, forKey: .placement)) != nil {
            placement = nil
        } else {
            placement = try c.decode(LimitsPlacement?.self, forKey: .placement)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(socketRTTus, forKey: .socketRTTus)
        try c.encodeNumber(socketStreamGiBs, forKey: .socketStreamGiBs)
        try c.encodeNumber(memcpyGiBs, forKey: .memcpyGiBs)
        try c.encodeNumber(preadGiBs, forKey: .preadGiBs)
        try c.encodeOrNull(placement, forKey: .placement)
    }
}

/// `context.limits.placement`: the nodes asked for and the CPUs the measuring thread and the forked child could use.
public struct LimitsPlacement: Codable, Sendable, Equatable {
    /// The nodes asked for.
    public var nodes: Placement
    /// The CPUs the measuring thread could run on.
    public var clientCPUs: [Int]
    /// The CPUs the forked child could run on.
    public var serverCPUs: [Int]

    /// A placement with every field given.
    public init(nodes: Placement, clientCPUs: [Int], serverCPUs: [Int]) {
        self.nodes = nodes
        self.clientCPUs = clientCPUs
        self.serverCPUs = serverCPUs
    }

    enum CodingKeys: String, CodingKey { case clientCPUs = "client_cpus", serverCPUs = "server_cpus" }

    public init(from decoder: any Decoder) throws {
        nodes = try Placement(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clientCPUs = try c.decode([Int].self, forKey: .clientCPUs)
        serverCPUs = try c.decode([Int].self, forKey: .serverCPUs)
    }

    public func encode(to encoder: any Encoder) throws {
        try nodes.encode(to: encoder)  // the node fields sit beside the CPU lists in one object
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(clientCPUs, forKey: .clientCPUs)
        try c.encode(serverCPUs, forKey: .serverCPUs)
    }
}
