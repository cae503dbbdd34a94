/// The report's schema identifier.
public let reportSchema = "swift-gofer-bench/1"

/// A whole report (report.json): where and how the run happened, and one record per parameter combination.
public struct Report: Codable, Sendable, Equatable {
    /// The schema identifier (`reportSchema` for reports this code writes).
    public var schema: String
    public var context: RunContext
    public var results: [ResultRecord]

    /// A report of this code's schema.
    public init(context: RunContext, results: [ResultRecord]) {
        schema = reportSchema
        self.context = context
        self.results = results
    }
}

/// The report's `context`: the machine, the build and the command line of a run.
public struct RunContext: Codable, Sendable, Equatable {
    /// UTC, ISO 8601.
    public var date: String
    public var host: String
    /// "Linux 6.8.0-..." (uname sysname and release).
    public var kernel: String
    public var cpuModel: String?
    /// Online CPUs.
    public var cpus: Int
    public var numa: NUMAInfo
    public var swiftVersion: String
    /// "release" or "debug".
    public var build: String
    /// HEAD of the checkout the bench ran in (nil outside one).
    public var gitCommit: String?
    public var argv: [String]
    public var seed: Int
    /// The nodes `--cpu-node`, `--mem-node` and `--server-cpu-node` asked for.
    public var placement: Placement
    /// What the machine can do at best, measured in the same run.
    public var limits: Limits

    /// A context with every field given.
    public init(date: String, host: String, kernel: String, cpuModel: String?, cpus: Int, numa: NUMAInfo, swiftVersion: String,
                build: String, gitCommit: String?, argv: [String], seed: Int, placement: Placement, limits: Limits) {
        self.date = date
        self.host = host
        self.kernel = kernel
        self.cpuModel = cpuModel
        self.cpus = cpus
        self.numa = numa
        self.swiftVersion = swiftVersion
        self.build = build
        self.gitCommit = gitCommit
        self.argv = argv
        self.seed = seed
        self.placement = placement
        self.limits = limits
    }

    enum CodingKeys: String, CodingKey {
        case date, host, kernel, cpuModel = "cpu_model", cpus, numa, swiftVersion = "swift_version", build
        case gitCommit = "git_commit", argv, seed, placement, limits
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(date, forKey: .date)
        try c.encode(host, forKey: .host)
        try c.encode(kernel, forKey: .kernel)
        try c.encodeOrNull(cpuModel, forKey: .cpuModel)
        try c.encode(cpus, forKey: .cpus)
        try c.encode(numa, forKey: .numa)
        try c.encode(swiftVersion, forKey: .swiftVersion)
        try c.encode(build, forKey: .build)
        try c.encodeOrNull(gitCommit, forKey: .gitCommit)
        try c.encode(argv, forKey: .argv)
        try c.encode(seed, forKey: .seed)
        try c.encode(placement, forKey: .placement)
        try c.encode(limits, forKey: .limits)
    }
}

/// `context.numa`: whether NUMA policy calls work and the nodes memory can go to.
public struct NUMAInfo: Codable, Sendable, Equatable {
    public var available: Bool
    /// The number of nodes.
    public var nodes: Int
    public var nodeIDs: [Int]

    /// NUMA information with every field given.
    public init(available: Bool, nodes: Int, nodeIDs: [Int]) {
        self.available = available
        self.nodes = nodes
        self.nodeIDs = nodeIDs
    }

    enum CodingKeys: String, CodingKey { case available, nodes, nodeIDs = "node_ids" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        available = try c.decode(Bool.self, forKey: .available)
        nodes = try c.decode(Int.self, forKey: .nodes)
        nodeIDs = try c.decodeIfPresent([Int].self, forKey: .nodeIDs) ?? []
    }
}

/// `context.placement`: the NUMA nodes a run was bound to (each null when not asked for).
public struct Placement: Codable, Sendable, Equatable {
    public var cpuNode: Int?
    public var memNode: Int?
    public var serverCPUNode: Int?

    /// A placement of the given nodes.
    public init(cpuNode: Int? = nil, memNode: Int? = nil, serverCPUNode: Int? = nil) {
        self.cpuNode = cpuNode
        self.memNode = memNode
        self.serverCPUNode = serverCPUNode
    }

    enum CodingKeys: String, CodingKey { case cpuNode = "cpu_node", memNode = "mem_node", serverCPUNode = "server_cpu_node" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(cpuNode, forKey: .cpuNode)
        try c.encodeOrNull(memNode, forKey: .memNode)
        try c.encodeOrNull(serverCPUNode, forKey: .serverCPUNode)
    }
}

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
    public var nodes: Placement
    public var clientCPUs: [Int]
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
