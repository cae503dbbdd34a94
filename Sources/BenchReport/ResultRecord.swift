/// One result of a report: a scenario with fixed parameters, against one server, and what was measured.
///
/// A skipped or failed result carries every field too: counts 0, measurements nil (null in report.json).
public struct ResultRecord: Codable, Sendable, Equatable {
    /// ok, failed or skipped.
    public enum Status: String, Codable, Sendable { case ok, failed, skipped }

    public var scenario: String
    /// Only the parameters the scenario uses.
    public var params: ParamSet
    public var server: ServerInfo
    public var status: Status
    /// Why the result failed or was skipped (nil when ok).
    public var error: String?
    public var repetitions = 0
    /// Measured ops over all repetitions.
    public var ops = 0
    /// Payload bytes the measured ops moved.
    public var bytes = 0
    /// RPCs sent inside ops, per op.
    public var rpcsPerOp: Double?
    /// RPCs of the unmeasured state resets between ops, per op.
    public var rpcsBackground: Double?
    /// RPCs inside ops by message name ("Twalkgetattr"), per op; types never sent are absent.
    public var rpcsByType: [String: Double] = [:]
    /// Wire bytes of the RPCs inside ops (both directions), per op.
    public var wireBytesPerOp: Double?
    /// Payload bytes the client copied in its own memory inside ops, per op.
    public var bytesCopiedPerOp: Double?
    public var throughput: Throughput?
    /// Per-op latency percentiles (`latency_ns`).
    public var latency: Latency?
    /// getrusage user and system time over the measured repetitions.
    public var cpu: CPUTimes?
    /// Hyperfine-style notes on the repetitions (outliers, a cold first repetition).
    public var warnings: [String] = []

    /// A result with nothing measured yet.
    public init(scenario: String, params: ParamSet, server: ServerInfo, status: Status, error: String? = nil) {
        self.scenario = scenario
        self.params = params
        self.server = server
        self.status = status
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case scenario, params, server, status, error, repetitions, ops, bytes
        case rpcsPerOp = "rpcs_per_op", rpcsBackground = "rpcs_background", rpcsByType = "rpcs_by_type"
        case wireBytesPerOp = "wire_bytes_per_op", bytesCopiedPerOp = "bytes_copied_per_op", throughput
        case latency = "latency_ns", cpu, warnings
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scenario = try c.decode(String.self, forKey: .scenario)
        params = try c.decode(ParamSet.self, forKey: .params)
        server = try c.decode(ServerInfo.self, forKey: .server)
        status = try c.decode(Status.self, forKey: .status)
        error = try c.decode(String?.self, forKey: .error)
        // The schema requires only the fields above; the measurements may be absent.
        repetitions = try c.decodeIfPresent(Int.self, forKey: .repetitions) ?? 0
        ops = try c.decodeIfPresent(Int.self, forKey: .ops) ?? 0
        bytes = try c.decodeIfPresent(Int.self, forKey: .bytes) ?? 0
        rpcsPerOp = try c.decodeIfPresent(Double.self, forKey: .rpcsPerOp)
        rpcsBackground = try c.decodeIfPresent(Double.self, forKey: .rpcsBackground)
        rpcsByType = try c.decodeIfPresent([String: Double].self, forKey: .rpcsByType) ?? [:]
        wireBytesPerOp = try c.decodeIfPresent(Double.self, forKey: .wireBytesPerOp)
        bytesCopiedPerOp = try c.decodeIfPresent(Double.self, forKey: .bytesCopiedPerOp)
        throughput = try c.decodeIfPresent(Throughput.self, forKey: .throughput)
        latency = try c.decodeIfPresent(Latency.self, forKey: .latency)
        cpu = try c.decodeIfPresent(CPUTimes.self, forKey: .cpu)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenario, forKey: .scenario)
        try c.encode(params, forKey: .params)
        try c.encode(server, forKey: .server)
        try c.encode(status, forKey: .status)
        try c.encodeOrNull(error, forKey: .error)
        try c.encode(repetitions, forKey: .repetitions)
        try c.encode(ops, forKey: .ops)
        try c.encode(bytes, forKey: .bytes)
        try c.encodeNumber(rpcsPerOp, forKey: .rpcsPerOp)
        try c.encodeNumber(rpcsBackground, forKey: .rpcsBackground)
        try c.encode(rpcsByType.filter { $0.value.isFinite }, forKey: .rpcsByType)
        try c.encodeNumber(wireBytesPerOp, forKey: .wireBytesPerOp)
        try c.encodeNumber(bytesCopiedPerOp, forKey: .bytesCopiedPerOp)
        try c.encodeOrNull(throughput, forKey: .throughput)
        try c.encodeOrNull(latency, forKey: .latency)
        try c.encodeOrNull(cpu, forKey: .cpu)
        try c.encode(warnings, forKey: .warnings)
    }
}

/// `server` of a result: which server answered and what the connection negotiated.
public struct ServerInfo: Codable, Sendable, Equatable {
    /// builtin, inproc, diod or external.
    public var kind: String
    /// The server's address (nil for a socketpair).
    public var address: String?
    /// The negotiated version string.
    public var version: String?
    /// Extension messages usable on the connection (empty for plain 9P2000.L).
    public var extensions: [String]
    /// The negotiated msize.
    public var msize: Int?
    /// socketpair, unix or tcp.
    public var transport: String

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

    enum CodingKeys: String, CodingKey { case kind, address, version, extensions, msize, transport }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encodeOrNull(address, forKey: .address)
        try c.encodeOrNull(version, forKey: .version)
        try c.encode(extensions, forKey: .extensions)
        try c.encodeOrNull(msize, forKey: .msize)
        try c.encode(transport, forKey: .transport)
    }
}

/// `throughput` of a result: one sample per repetition.
public struct Throughput: Codable, Sendable, Equatable {
    public var opsPerS: Distribution
    /// nil for scenarios that move no payload.
    public var mibPerS: Distribution?

    /// Throughput with the given distributions.
    public init(opsPerS: Distribution, mibPerS: Distribution?) {
        self.opsPerS = opsPerS
        self.mibPerS = mibPerS
    }

    enum CodingKeys: String, CodingKey { case opsPerS = "ops_per_s", mibPerS = "mib_per_s" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(opsPerS, forKey: .opsPerS)
        try c.encodeOrNull(mibPerS, forKey: .mibPerS)
    }
}

/// Samples (one per repetition) with their median, minimum and maximum.
public struct Distribution: Codable, Sendable, Equatable {
    public var median: Double?
    public var min: Double?
    public var max: Double?
    public var samples: [Double]

    /// The distribution of `samples`.
    public init(samples: [Double]) {
        median = Statistics.median(samples)
        min = samples.min()
        max = samples.max()
        self.samples = samples
    }

    enum CodingKeys: String, CodingKey { case median, min, max, samples }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        median = try c.decodeIfPresent(Double.self, forKey: .median)
        min = try c.decodeIfPresent(Double.self, forKey: .min)
        max = try c.decodeIfPresent(Double.self, forKey: .max)
        samples = try (c.decodeIfPresent([Double?].self, forKey: .samples) ?? []).compactMap { $0 }  // null: not finite
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(median, forKey: .median)
        try c.encodeNumber(min, forKey: .min)
        try c.encodeNumber(max, forKey: .max)
        try c.encode(samples.map { $0.isFinite ? $0 : nil }, forKey: .samples)
    }
}

/// `latency_ns` of a result: percentiles of per-op times (batch means when `batch` > 1).
public struct Latency: Codable, Sendable, Equatable {
    public var p50: Int?
    public var p90: Int?
    public var p99: Int?
    public var p999: Int?
    public var max: Int?
    /// Ops per clock read (1: every op timed on its own).
    public var batch: Int

    /// Latency percentiles with every field given.
    public init(p50: Int?, p90: Int?, p99: Int?, p999: Int?, max: Int?, batch: Int) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.batch = batch
    }

    enum CodingKeys: String, CodingKey { case p50, p90, p99, p999, max, batch }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        p50 = try c.decodeIfPresent(Int.self, forKey: .p50)
        p90 = try c.decodeIfPresent(Int.self, forKey: .p90)
        p99 = try c.decodeIfPresent(Int.self, forKey: .p99)
        p999 = try c.decodeIfPresent(Int.self, forKey: .p999)
        max = try c.decodeIfPresent(Int.self, forKey: .max)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? 1
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(p50, forKey: .p50)
        try c.encodeOrNull(p90, forKey: .p90)
        try c.encodeOrNull(p99, forKey: .p99)
        try c.encodeOrNull(p999, forKey: .p999)
        try c.encodeOrNull(max, forKey: .max)
        try c.encode(batch, forKey: .batch)
    }
}

/// `cpu` of a result: getrusage(RUSAGE_SELF) seconds over the measured repetitions.
public struct CPUTimes: Codable, Sendable, Equatable {
    public var userS: Double?
    public var sysS: Double?

    /// CPU times with both fields given.
    public init(userS: Double?, sysS: Double?) {
        self.userS = userS
        self.sysS = sysS
    }

    enum CodingKeys: String, CodingKey { case userS = "user_s", sysS = "sys_s" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(userS, forKey: .userS)
        try c.encodeNumber(sysS, forKey: .sysS)
    }
}
