/// One result of a report: a scenario with fixed parameters, against one server, and what was measured.
///
/// A skipped or failed result carries every field too: counts 0, measurements nil (null in report.json).
public struct ResultRecord: Codable, Sendable, Equatable {
    /// ok, failed or skipped.
    public enum Status: String, Codable, Sendable { case ok, failed, skipped }

    /// The scenario's name.
    public var scenario: String
    /// Only the parameters the scenario uses.
    public var params: ParamSet
    /// The server that answered.
    public var server: ServerInfo
    /// ok, failed or skipped.
    public var status: Status
    /// Why the result failed or was skipped (nil when ok).
    public var error: String?
    /// Measured repetitions (some, when a failure cut them short).
    public var repetitions = 0
    /// Measured ops over all repetitions.
    public var ops = 0
    /// Payload bytes the measured ops moved.
    public var bytes = 0
    /// RPCs sent inside ops, per op.
    public var rpcsPerOp: Double?
    /// RPCs of the unmeasured state resets between ops, per op.
    public var rpcsBackground: Double?
    /// Time of the unmeasured state resets between ops, per op, ns.
    public var backgroundNsPerOp: Double?
    /// RPCs inside ops by message name ("Twalkgetattr"), per op; types never sent are absent.
    public var rpcsByType: [String: Double] = [:]
    /// Wire bytes of the RPCs inside ops (both directions), per op.
    public var wireBytesPerOp: Double?
    /// Payload bytes the client copied in its own memory inside ops, per op.
    public var bytesCopiedPerOp: Double?
    /// Ops/s and MiB/s, one sample per repetition.
    public var throughput: Throughput?
    /// Per-op latency percentiles (`latency_ns`).
    public var latency: Latency?
    /// getrusage user and system time over the measured repetitions, with the client's and the server's apart.
    public var cpu: CPUTimes?
    /// The op's limit time over its p50 (1.0: the op ran at the limits of what it did; results/README.md).
    public var vsLimit: Double?
    /// The limits `vs_limit` adds up, joined by "+": rtt, stream, memcpy, pread (nil when `vs_limit` is).
    public var vsLimitBasis: String?
    /// Its p50 over the p50 of the native result of the same scenario and params in the run (nil: none ran).
    public var vsNative: Double?
    /// The workload scenario's command and what its fio runs reported (absent for every other scenario).
    public var workload: WorkloadResult?
    /// Hyperfine-style notes on the repetitions (outliers, a cold first repetition).
    public var warnings: [String] = []
    /// With `threads` > 1: the slowest and the fastest thread's own throughput (absent otherwise).
    public var perThread: CallerSpread?
    /// With `clients` > 1: the slowest and the fastest client process's own throughput (absent otherwise).
    public var perClient: CallerSpread?

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
        case backgroundNsPerOp = "background_ns_per_op", vsLimit = "vs_limit", vsLimitBasis = "vs_limit_basis"
        case wireBytesPerOp = "wire_bytes_per_op", bytesCopiedPerOp = "bytes_copied_per_op", throughput
        case latency = "latency_ns", cpu, warnings
        case vsNative = "vs_native"
        case workload
        case perThread = "per_thread", perClient = "per_client"
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
        backgroundNsPerOp = try c.decodeIfPresent(Double.self, forKey: .backgroundNsPerOp)
        rpcsByType = try c.decodeIfPresent([String: Double].self, forKey: .rpcsByType) ?? [:]
        wireBytesPerOp = try c.decodeIfPresent(Double.self, forKey: .wireBytesPerOp)
        bytesCopiedPerOp = try c.decodeIfPresent(Double.self, forKey: .bytesCopiedPerOp)
        throughput = try c.decodeIfPresent(Throughput.self, forKey: .throughput)
        latency = try c.decodeIfPresent(Latency.self, forKey: .latency)
        cpu = try c.decodeIfPresent(CPUTimes.self, forKey: .cpu)
        vsLimit = try c.decodeIfPresent(Double.self, forKey: .vsLimit)
        vsLimitBasis = try c.decodeIfPresent(String.self, forKey: .vsLimitBasis)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
        vsNative = try c.decodeIfPresent(Double.self, forKey: .vsNative)
        workload = try c.decodeIfPresent(WorkloadResult.self, forKey: .workload)
        perThread = try c.decodeIfPresent(CallerSpread.self, forKey: .perThread)
        perClient = try c.decodeIfPresent(CallerSpread.self, forKey: .perClient)
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
        try c.encodeNumber(backgroundNsPerOp, forKey: .backgroundNsPerOp)
        try c.encode(rpcsByType.filter { $0.value.isFinite }, forKey: .rpcsByType)
        try c.encodeNumber(wireBytesPerOp, forKey: .wireBytesPerOp)
        try c.encodeNumber(bytesCopiedPerOp, forKey: .bytesCopiedPerOp)
        try c.encodeOrNull(throughput, forKey: .throughput)
        try c.encodeOrNull(latency, forKey: .latency)
        try c.encodeOrNull(cpu, forKey: .cpu)
        try c.encodeNumber(vsLimit, forKey: .vsLimit)
        try c.encodeOrNull(vsLimitBasis, forKey: .vsLimitBasis)
        try c.encode(warnings, forKey: .warnings)
        try c.encodeNumber(vsNative, forKey: .vsNative)
        try c.encodeIfPresent(workload, forKey: .workload)
        // Only on results with several callers: reports of one caller keep their exact form.
        try c.encodeIfPresent(perThread, forKey: .perThread)
        try c.encodeIfPresent(perClient, forKey: .perClient)
    }
}
