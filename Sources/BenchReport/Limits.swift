/// `context.limits`: what the machine can do at best, measured in the same run, with the run's CPU placement and
/// the server's process model (DESIGN.md "Performance references"); every value null when not measured.
public struct Limits: Codable, Sendable, Equatable {
    /// Round trip of one byte over a Unix socketpair to an echo server placed like the run's server, in µs.
    public var socketRTTus: Double?
    /// The same round trip with the measuring thread and the echo server on one CPU, in µs.
    public var socketRTTSameCPUus: Double?
    /// The same round trip with the measuring thread and the echo server on two different CPUs, in µs (nil on one CPU).
    public var socketRTTCrossCPUus: Double?
    /// Streaming through a Unix socketpair in 1 MiB writes (a reference; results use `data`), GiB/s.
    public var socketStreamGiBs: Double?
    /// memcpy of one cache-hot 1 MiB buffer (a reference; results use `data`), GiB/s.
    public var memcpyGiBs: Double?
    /// pread of a page-cached file in 1 MiB reads (a reference; results use `data`), GiB/s.
    public var preadGiBs: Double?
    /// The data limits at the sizes the run's ops use.
    public var data: [DataLimit]
    /// Where the measurement ran (nil when nothing was measured).
    public var placement: LimitsPlacement?

    /// Limits with the given values.
    public init(socketRTTus: Double? = nil, socketRTTSameCPUus: Double? = nil, socketRTTCrossCPUus: Double? = nil,
                socketStreamGiBs: Double? = nil, memcpyGiBs: Double? = nil, preadGiBs: Double? = nil, data: [DataLimit] = [],
                placement: LimitsPlacement? = nil) {
        self.socketRTTus = socketRTTus
        self.socketRTTSameCPUus = socketRTTSameCPUus
        self.socketRTTCrossCPUus = socketRTTCrossCPUus
        self.socketStreamGiBs = socketStreamGiBs
        self.memcpyGiBs = memcpyGiBs
        self.preadGiBs = preadGiBs
        self.data = data
        self.placement = placement
    }

    /// Every value null (`--no-limits`).
    public static let none = Limits()

    /// The data limit of `kind` measured for `unit`-byte transfers over a file of `fileBytes` (nil: no file).
    public func data(_ kind: DataLimit.Kind, unit: Int, fileBytes: Int?) -> Double? {
        data.first { $0.kind == kind && $0.unitBytes == unit && $0.fileBytes == fileBytes }?.gibS
    }

    enum CodingKeys: String, CodingKey {
        case socketRTTus = "socket_rtt_us", socketRTTSameCPUus = "socket_rtt_same_cpu_us"
        case socketRTTCrossCPUus = "socket_rtt_cross_cpu_us", socketStreamGiBs = "socket_stream_gib_s"
        case memcpyGiBs = "memcpy_gib_s", preadGiBs = "pread_gib_s", data, placement
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        socketRTTus = try c.decode(Double?.self, forKey: .socketRTTus)
        // Reports written before the same/cross-CPU round trips and the sized data limits lack them.
        socketRTTSameCPUus = try c.decodeIfPresent(Double.self, forKey: .socketRTTSameCPUus)
        socketRTTCrossCPUus = try c.decodeIfPresent(Double.self, forKey: .socketRTTCrossCPUus)
        socketStreamGiBs = try c.decode(Double?.self, forKey: .socketStreamGiBs)
        memcpyGiBs = try c.decode(Double?.self, forKey: .memcpyGiBs)
        preadGiBs = try c.decode(Double?.self, forKey: .preadGiBs)
        data = try c.decodeIfPresent([DataLimit].self, forKey: .data) ?? []
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
        try c.encodeNumber(socketRTTSameCPUus, forKey: .socketRTTSameCPUus)
        try c.encodeNumber(socketRTTCrossCPUus, forKey: .socketRTTCrossCPUus)
        try c.encodeNumber(socketStreamGiBs, forKey: .socketStreamGiBs)
        try c.encodeNumber(memcpyGiBs, forKey: .memcpyGiBs)
        try c.encodeNumber(preadGiBs, forKey: .preadGiBs)
        try c.encode(data, forKey: .data)
        try c.encodeOrNull(placement, forKey: .placement)
    }
}

/// One entry of `context.limits.data`: a data path's best rate at one transfer size.
public struct DataLimit: Codable, Sendable, Equatable, Hashable {
    /// What was measured.
    public enum Kind: String, Codable, Sendable, Hashable {
        /// pread of `unit_bytes` at a time through a page-cached file of `file_bytes` (the host-FD path).
        case pread
        /// `unit_bytes` messages streamed through a Unix socketpair to the echo server (the 9P payload path).
        case socketStream = "socket_stream"
        /// memcpy of `unit_bytes` at a time out of a buffer of `file_bytes` (the client's page cache).
        case memcpy
    }

    /// What was measured.
    public var kind: Kind
    /// Bytes per transfer (per pread, per message, per copy).
    public var unitBytes: Int
    /// Bytes of the file or buffer the transfers walk through (nil for the socket stream).
    public var fileBytes: Int?
    /// The rate, GiB/s (nil when the measurement failed).
    public var gibS: Double?

    /// A data limit with every field given.
    public init(kind: Kind, unitBytes: Int, fileBytes: Int?, gibS: Double?) {
        self.kind = kind
        self.unitBytes = unitBytes
        self.fileBytes = fileBytes
        self.gibS = gibS
    }

    enum CodingKeys: String, CodingKey { case kind, unitBytes = "unit_bytes", fileBytes = "file_bytes", gibS = "gib_s" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(unitBytes, forKey: .unitBytes)
        try c.encodeOrNull(fileBytes, forKey: .fileBytes)
        try c.encodeNumber(gibS, forKey: .gibS)
    }
}

/// `context.limits.placement`: the nodes asked for, the CPUs the measuring thread and the echo server could use
/// (read back from the kernel while they ran) and whether the echo server was a process or a thread.
public struct LimitsPlacement: Codable, Sendable, Equatable {
    /// The nodes asked for.
    public var nodes: Placement
    /// The CPUs the measuring thread could run on.
    public var clientCPUs: [Int]
    /// The CPUs the echo server could run on.
    public var serverCPUs: [Int]
    /// `process` (a forked child, as the builtin, diod and external servers are) or `thread` (as inproc is); nil when unknown.
    public var serverModel: String?

    /// A placement with every field given.
    public init(nodes: Placement, clientCPUs: [Int], serverCPUs: [Int], serverModel: String? = nil) {
        self.nodes = Placement(cpuNode: nodes.cpuNode, memNode: nodes.memNode, serverCPUNode: nodes.serverCPUNode)
        self.clientCPUs = clientCPUs
        self.serverCPUs = serverCPUs
        self.serverModel = serverModel
    }

    enum CodingKeys: String, CodingKey {
        case cpuNode = "cpu_node", memNode = "mem_node", serverCPUNode = "server_cpu_node"
        case clientCPUs = "client_cpus", serverCPUs = "server_cpus", serverModel = "server_model"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodes = Placement(cpuNode: try c.decodeIfPresent(Int.self, forKey: .cpuNode),
                          memNode: try c.decodeIfPresent(Int.self, forKey: .memNode),
                          serverCPUNode: try c.decodeIfPresent(Int.self, forKey: .serverCPUNode))
        clientCPUs = try c.decode([Int].self, forKey: .clientCPUs)
        serverCPUs = try c.decode([Int].self, forKey: .serverCPUs)
        serverModel = try c.decodeIfPresent(String.self, forKey: .serverModel)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(nodes.cpuNode, forKey: .cpuNode)
        try c.encodeOrNull(nodes.memNode, forKey: .memNode)
        try c.encodeOrNull(nodes.serverCPUNode, forKey: .serverCPUNode)
        try c.encode(clientCPUs, forKey: .clientCPUs)
        try c.encode(serverCPUs, forKey: .serverCPUs)
        try c.encodeOrNull(serverModel, forKey: .serverModel)
    }
}
