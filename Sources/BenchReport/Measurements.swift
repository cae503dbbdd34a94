/// `throughput` of a result: one sample per repetition.
public struct Throughput: Codable, Sendable, Equatable {
    /// Ops per second.
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
    /// The median sample.
    public var median: Double?
    /// The smallest sample.
    public var min: Double?
    /// The largest sample.
    public var max: Double?
    /// One sample per repetition.
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
    /// The median, ns.
    public var p50: Int?
    /// The 90th percentile, ns.
    public var p90: Int?
    /// The 99th percentile, ns.
    public var p99: Int?
    /// The 99.9th percentile, ns.
    public var p999: Int?
    /// The largest time recorded, ns.
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

/// `cpu` of a result: getrusage(RUSAGE_SELF) seconds of the bench process over the measured repetitions, and the
/// client's and the server's CPU time apart.
public struct CPUTimes: Codable, Sendable, Equatable {
    /// User time of the bench process, s.
    public var userS: Double?
    /// System time of the bench process, s.
    public var sysS: Double?
    /// The bench's client threads (the runner and its workers), from getrusage(RUSAGE_THREAD).
    public var client: CPUUsage?
    /// The server: the child's /proc/PID/stat (builtin, diod), or the bench process minus its client threads
    /// (inproc); nil for an external server.
    public var server: CPUUsage?

    /// CPU times with the given fields.
    public init(userS: Double?, sysS: Double?, client: CPUUsage? = nil, server: CPUUsage? = nil) {
        self.userS = userS
        self.sysS = sysS
        self.client = client
        self.server = server
    }

    enum CodingKeys: String, CodingKey { case userS = "user_s", sysS = "sys_s", client, server }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(userS, forKey: .userS)
        try c.encodeNumber(sysS, forKey: .sysS)
        try c.encodeOrNull(client, forKey: .client)
        try c.encodeOrNull(server, forKey: .server)
    }
}

/// User and system CPU seconds of one side (client or server).
public struct CPUUsage: Codable, Sendable, Equatable {
    /// User time, s.
    public var userS: Double?
    /// System time, s.
    public var sysS: Double?

    /// CPU usage with both fields given.
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

    /// The field `name` ("user_s" or "sys_s").
    func value(_ name: String) -> Double? { name == "user_s" ? userS : (name == "sys_s" ? sysS : nil) }
}

/// The spread of concurrent callers' own throughput (`per_thread`: the threads of `--threads`; `per_client`: the client
/// processes of `--clients`): each caller's ops over its own time inside ops, summed over the repetitions.
public struct CallerSpread: Codable, Sendable, Equatable {
    /// Callers measured.
    public var count: Int
    /// The slowest and the fastest caller's ops/s.
    public var opsPerS: Span
    /// The slowest and the fastest caller's MiB/s (nil for scenarios that move no payload).
    public var mibPerS: Span?

    /// A spread of `count` callers.
    public init(count: Int, opsPerS: Span, mibPerS: Span?) {
        self.count = count
        self.opsPerS = opsPerS
        self.mibPerS = mibPerS
    }

    enum CodingKeys: String, CodingKey { case count, opsPerS = "ops_per_s", mibPerS = "mib_per_s" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(opsPerS, forKey: .opsPerS)
        try c.encodeOrNull(mibPerS, forKey: .mibPerS)
    }
}

/// The smallest and the largest of some values.
public struct Span: Codable, Sendable, Equatable {
    /// The smallest.
    public var min: Double
    /// The largest.
    public var max: Double

    /// The span of `values` (nil when empty or not all finite).
    public init?(_ values: [Double]) {
        guard let lo = values.min(), let hi = values.max(), lo.isFinite, hi.isFinite else { return nil }
        min = lo
        max = hi
    }
}
