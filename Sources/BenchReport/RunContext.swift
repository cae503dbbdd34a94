/// The report's `context`: the machine, the build and the command line of a run.
public struct RunContext: Codable, Sendable, Equatable {
    /// UTC, ISO 8601.
    public var date: String
    /// The host name.
    public var host: String
    /// "Linux 6.8.0-..." (uname sysname and release).
    public var kernel: String
    /// The CPU model from /proc/cpuinfo.
    public var cpuModel: String?
    /// Online CPUs.
    public var cpus: Int
    /// NUMA support and nodes.
    public var numa: NUMAInfo
    /// The compiler the bench was built with ("6.3").
    public var swiftVersion: String
    /// "release" or "debug".
    public var build: String
    /// HEAD of the checkout the bench ran in (nil outside one).
    public var gitCommit: String?
    /// The command line.
    public var argv: [String]
    /// The run's `--seed`.
    public var seed: Int
    /// The nodes `--cpu-node`, `--mem-node` and `--server-cpu-node` asked for.
    public var placement: Placement
    /// What the machine can do at best, measured in the same run.
    public var limits: Limits
    /// The file system type of the folder the bench exported ("tmpfs", "ext4"; nil for an external server).
    public var exportFS: String?
    /// Rounds the run spread every combination's repetitions over (`--rounds`; written when more than 1, and 1 when a
    /// report has none).
    public var rounds: Int
    /// Each round's common factor (`Statistics.roundDrift`; nil: one round, or too few results to tell).
    public var roundDrift: [Double]?

    /// A context with every field given.
    public init(date: String, host: String, kernel: String, cpuModel: String?, cpus: Int, numa: NUMAInfo, swiftVersion: String,
                build: String, gitCommit: String?, argv: [String], seed: Int, placement: Placement, limits: Limits,
                exportFS: String? = nil, rounds: Int = 1, roundDrift: [Double]? = nil) {
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
        self.exportFS = exportFS
        self.rounds = rounds
        self.roundDrift = roundDrift
    }

    enum CodingKeys: String, CodingKey {
        case date, host, kernel, cpuModel = "cpu_model", cpus, numa, swiftVersion = "swift_version", build
        case gitCommit = "git_commit", argv, seed, placement, limits, exportFS = "export_fs", rounds
        case roundDrift = "round_drift"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        date = try c.decode(String.self, forKey: .date)
        host = try c.decode(String.self, forKey: .host)
        kernel = try c.decode(String.self, forKey: .kernel)
        cpuModel = try c.decodeIfPresent(String.self, forKey: .cpuModel)
        cpus = try c.decode(Int.self, forKey: .cpus)
        numa = try c.decode(NUMAInfo.self, forKey: .numa)
        swiftVersion = try c.decode(String.self, forKey: .swiftVersion)
        build = try c.decode(String.self, forKey: .build)
        gitCommit = try c.decodeIfPresent(String.self, forKey: .gitCommit)
        argv = try c.decode([String].self, forKey: .argv)
        seed = try c.decode(Int.self, forKey: .seed)
        placement = try c.decode(Placement.self, forKey: .placement)
        limits = try c.decode(Limits.self, forKey: .limits)
        exportFS = try c.decodeIfPresent(String.self, forKey: .exportFS)
        rounds = try c.decodeIfPresent(Int.self, forKey: .rounds) ?? 1
        roundDrift = try c.decodeIfPresent([Double].self, forKey: .roundDrift)
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
        try c.encodeOrNull(exportFS, forKey: .exportFS)
        if rounds != 1 { try c.encode(rounds, forKey: .rounds) }
        if let roundDrift { try c.encode(roundDrift, forKey: .roundDrift) }
    }
}

/// `context.numa`: whether NUMA policy calls work and the nodes memory can go to.
public struct NUMAInfo: Codable, Sendable, Equatable {
    /// Whether NUMA policy calls work.
    public var available: Bool
    /// The number of nodes.
    public var nodes: Int
    /// The node numbers.
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

/// `context.placement`: the NUMA nodes and CPUs a run was bound to (each null when not asked for or not pinned).
public struct Placement: Codable, Sendable, Equatable {
    /// The node the bench's client threads ran on.
    public var cpuNode: Int?
    /// The node I/O buffers came from.
    public var memNode: Int?
    /// The node the server the bench started ran on.
    public var serverCPUNode: Int?
    /// The CPUs the bench's client threads were pinned to (nil: not pinned).
    public var clientCPUs: [Int]?
    /// The CPUs the server the bench started was pinned to (nil: not pinned, or a server the bench did not start).
    public var serverCPUs: [Int]?
    /// How the CPUs were chosen: `default` (client and server on two different CPUs), `given` (flags) or `none`.
    public var pinning: String?

    /// A placement of the given nodes and CPUs.
    public init(cpuNode: Int? = nil, memNode: Int? = nil, serverCPUNode: Int? = nil, clientCPUs: [Int]? = nil,
                serverCPUs: [Int]? = nil, pinning: String? = nil) {
        self.cpuNode = cpuNode
        self.memNode = memNode
        self.serverCPUNode = serverCPUNode
        self.clientCPUs = clientCPUs
        self.serverCPUs = serverCPUs
        self.pinning = pinning
    }

    enum CodingKeys: String, CodingKey {
        case cpuNode = "cpu_node", memNode = "mem_node", serverCPUNode = "server_cpu_node"
        case clientCPUs = "client_cpus", serverCPUs = "server_cpus", pinning
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(cpuNode, forKey: .cpuNode)
        try c.encodeOrNull(memNode, forKey: .memNode)
        try c.encodeOrNull(serverCPUNode, forKey: .serverCPUNode)
        try c.encodeOrNull(clientCPUs, forKey: .clientCPUs)
        try c.encodeOrNull(serverCPUs, forKey: .serverCPUs)
        try c.encodeOrNull(pinning, forKey: .pinning)
    }
}
