import Foundation

/// The metrics the dashboard exports carry, one entry per ok result and metric it has.
public enum ExportMetric: String, CaseIterable, Sendable {
    /// Ops per second, the median over repetitions (bigger is better).
    case opsPerS = "ops_per_s"
    /// MiB per second, the median over repetitions, for scenarios that move payload (bigger is better).
    case mibPerS = "mib_per_s"
    /// The median op latency, ns (smaller is better).
    case latencyP50 = "latency_p50"
    /// RPCs per op (smaller is better; 0 for native results).
    case rpcsPerOp = "rpcs_per_op"

    /// The unit github-action-benchmark shows.
    public var unit: String {
        switch self {
        case .opsPerS: return "ops/s"
        case .mibPerS: return "MiB/s"
        case .latencyP50: return "ns"
        case .rpcsPerOp: return "rpcs/op"
        }
    }

    /// The Bencher measure slug: the built-in `throughput` (ops/s) and `latency` (ns), and two custom ones that
    /// Bencher creates on first use.
    public var bencherMeasure: String {
        switch self {
        case .opsPerS: return "throughput"
        case .mibPerS: return "mib-per-s"
        case .latencyP50: return "latency"
        case .rpcsPerOp: return "rpcs-per-op"
        }
    }

    /// Whether a larger value is an improvement.
    public var biggerIsBetter: Bool { self == .opsPerS || self == .mibPerS }

    /// The value of `r` with its spread over repetitions (min, max) where it has one; nil when `r` lacks the metric.
    func value(of r: ResultRecord) -> (value: Double, min: Double?, max: Double?)? {
        switch self {
        case .opsPerS, .mibPerS:
            guard let d = r.distribution(rawValue), let median = d.median else { return nil }
            return (median, d.min, d.max)
        case .latencyP50:
            return r.latency?.p50.map { (Double($0), nil, nil) }
        case .rpcsPerOp:
            return r.rpcsPerOp.map { ($0, nil, nil) }
        }
    }
}

extension ResultRecord {
    /// The result's name in the exports: "scenario [server] params", unique within a run and stable across runs.
    public var exportName: String {
        let params = self.params.description
        return "\(scenario) [\(server.label)]" + (params.isEmpty ? "" : " " + params)
    }
}

/// Bencher Metric Format: `{ "<result>": { "<measure>": {"value", "lower_value", "upper_value"} } }`.
public enum BencherMetricFormat {
    /// One measure of one benchmark; the bounds are the smallest and largest repetition, when there are several.
    public struct Metric: Codable, Equatable, Sendable {
        /// The median (or the only value).
        public var value: Double
        /// The smallest repetition.
        public var lowerValue: Double?
        /// The largest repetition.
        public var upperValue: Double?

        /// A measure of `value` within `lowerValue`...`upperValue` (each optional).
        public init(value: Double, lowerValue: Double? = nil, upperValue: Double? = nil) {
            self.value = value
            self.lowerValue = lowerValue
            self.upperValue = upperValue
        }

        enum CodingKeys: String, CodingKey { case value, lowerValue = "lower_value", upperValue = "upper_value" }
    }

    /// Every ok result of `report` as a benchmark with a measure per metric it has.
    public static func render(_ report: Report) -> [String: [String: Metric]] {
        var out: [String: [String: Metric]] = [:]
        for r in report.results where r.status == .ok {
            var measures: [String: Metric] = [:]
            for m in ExportMetric.allCases {
                guard let v = m.value(of: r) else { continue }
                measures[m.bencherMeasure] = Metric(value: v.value, lowerValue: v.min, upperValue: v.max)
            }
            if !measures.isEmpty { out[r.exportName] = measures }
        }
        return out
    }

    /// The JSON text (sorted keys, pretty printed).
    public static func data(_ report: Report) throws -> Data {
        var data = try reportEncoder().encode(render(report))
        data.append(0x0A)
        return data
    }
}

/// github-action-benchmark's custom format: `[ {"name", "unit", "value", "range", "extra"} ]`.
public enum GitHubActionBenchmarkFormat {
    /// One data point.
    public struct Entry: Codable, Equatable, Sendable {
        /// "<result> | <metric>", unique within the file.
        public var name: String
        /// ops/s, MiB/s, ns or rpcs/op.
        public var unit: String
        /// The median (or the only value).
        public var value: Double
        /// "± x": half the spread between the smallest and the largest repetition (absent without repetitions).
        public var range: String?
        /// The server, the repetitions and ops, and `vs_native` when the run had a native floor.
        public var extra: String?
    }

    /// An entry per ok result of `report` and metric it has, in run order.
    public static func render(_ report: Report) -> [Entry] {
        var out: [Entry] = []
        for r in report.results where r.status == .ok {
            var extra = "server \(r.server.label)"
            if let v = r.server.version { extra += " (\(v))" }
            extra += "; \(r.repetitions) repetitions, \(r.ops) ops"
            if let v = r.vsNative { extra += "; vs_native " + Units.fixed(v, 2) }
            for m in ExportMetric.allCases {
                guard let v = m.value(of: r) else { continue }
                let range = v.min.flatMap { lo in v.max.map { hi in "± " + Units.fixed((hi - lo) / 2, 2) } }
                out.append(Entry(name: r.exportName + " | " + m.rawValue, unit: m.unit, value: v.value, range: range, extra: extra))
            }
        }
        return out
    }

    /// The JSON text (pretty printed).
    public static func data(_ report: Report) throws -> Data {
        var data = try reportEncoder().encode(render(report))
        data.append(0x0A)
        return data
    }
}
