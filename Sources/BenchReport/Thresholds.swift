import Foundation

/// A rule file for `bench check` (Benchmarks/thresholds.json, described in results/README.md).
public struct Thresholds: Codable, Sendable {
    /// The rules, in the order the check table lists them.
    public var rules: [ThresholdRule]

    /// A rule file holding `rules`.
    public init(rules: [ThresholdRule]) { self.rules = rules }

    /// Reads a rule file; the error names the file and the place that does not decode (an unknown key included).
    public init(contentsOf path: String) throws(ReportError) {
        self = try decodeJSONFile(Thresholds.self, at: path)
    }

    /// Decodes a rule file's text.
    public init(jsonData data: Data) throws(ReportError) {
        self = try decodeJSON(Thresholds.self, from: data, source: "thresholds")
    }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, ["rules"])
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decode([ThresholdRule].self, forKey: .rules)
    }
}

/// One rule as written: a metric of one selected result, or the ratio of two, held to `equals`/`min`/`max`;
/// or (with `baseline`) a throughput median held to the baseline report's within a tolerance.
public struct ThresholdRule: Codable, Sendable {
    /// The rule's name in the check table.
    public var name: String
    /// The result the metric is read from.
    public var select: ResultSelector?
    /// A dotted path of the result's JSON form ("rpcs_per_op", "rpcs_by_type.Tclunk", "throughput.mib_per_s.median").
    public var metric: String?
    /// The two sides of a ratio rule (instead of `select` and `metric`).
    public var ratio: RatioSides?
    /// The value the metric must equal.
    public var equals: Double?
    /// The largest value allowed.
    public var max: Double?
    /// The smallest value allowed.
    public var min: Double?
    /// Judged against `--baseline` instead.
    public var baseline: BaselineTolerance?
    /// Free text for people reading the file.
    public var comment: String?

    /// A rule with the given fields.
    public init(name: String, select: ResultSelector? = nil, metric: String? = nil, ratio: RatioSides? = nil, equals: Double? = nil,
                max: Double? = nil, min: Double? = nil, baseline: BaselineTolerance? = nil, comment: String? = nil) {
        self.name = name
        self.select = select
        self.metric = metric
        self.ratio = ratio
        self.equals = equals
        self.max = max
        self.min = min
        self.baseline = baseline
        self.comment = comment
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, select, metric, ratio, equals, max, min, baseline, comment }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        select = try c.decodeIfPresent(ResultSelector.self, forKey: .select)
        metric = try c.decodeIfPresent(String.self, forKey: .metric)
        ratio = try c.decodeIfPresent(RatioSides.self, forKey: .ratio)
        equals = try c.decodeIfPresent(Double.self, forKey: .equals)
        max = try c.decodeIfPresent(Double.self, forKey: .max)
        min = try c.decodeIfPresent(Double.self, forKey: .min)
        baseline = try c.decodeIfPresent(BaselineTolerance.self, forKey: .baseline)
        comment = try c.decodeIfPresent(String.self, forKey: .comment)
    }
}

/// Which result a rule reads: every field given must match (`server` is `server.kind`; sizes may be written "64K").
public struct ResultSelector: Codable, Sendable {
    /// The scenario's name.
    public var scenario: String?
    /// The server's kind (builtin, inproc, diod, external).
    public var server: String?
    /// ok, failed or skipped.
    public var status: String?
    /// Parameter values by name.
    public var params: [String: ParamMatch]?

    /// A selector with the given fields.
    public init(scenario: String? = nil, server: String? = nil, status: String? = nil, params: [String: ParamMatch]? = nil) {
        self.scenario = scenario
        self.server = server
        self.status = status
        self.params = params
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case scenario, server, status, params }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scenario = try c.decodeIfPresent(String.self, forKey: .scenario)
        server = try c.decodeIfPresent(String.self, forKey: .server)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        params = try c.decodeIfPresent([String: ParamMatch].self, forKey: .params)
    }

    /// Whether `r` is the result this selector names.
    public func matches(_ r: ResultRecord) -> Bool {
        if let scenario, r.scenario != scenario { return false }
        if let server, r.server.kind != server { return false }
        if let status, r.status.rawValue != status { return false }
        for (name, wanted) in params ?? [:] {
            guard let key = ParamKey(rawValue: name), let actual = r.params[key], wanted.matches(actual) else { return false }
        }
        return true
    }
}

/// A parameter value in a selector: a word or a number ("64K" matches 65536).
public enum ParamMatch: Codable, Sendable, Equatable {
    case text(String)
    case number(Double)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .text(s)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a parameter value must be a string or a number")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .text(s): try c.encode(s)
        case let .number(n): try c.encode(n)
        }
    }

    /// Whether a result's value is this one (a size written with a suffix matches its byte count).
    public func matches(_ value: ParamValue) -> Bool {
        switch (self, value) {
        case let (.text(s), .text(v)): return s == v
        case let (.text(s), .int(v)): return Units.parseSize(s) == v
        case let (.number(n), .int(v)): return Double(v) == n
        case (.number, .text): return false
        }
    }
}

/// The two sides of a ratio rule.
public struct RatioSides: Codable, Sendable {
    /// The side divided.
    public var numerator: MetricSide?
    /// The side divided by.
    public var denominator: MetricSide?

    /// A ratio of `numerator` to `denominator`.
    public init(numerator: MetricSide, denominator: MetricSide) {
        self.numerator = numerator
        self.denominator = denominator
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case numerator, denominator }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numerator = try c.decodeIfPresent(MetricSide.self, forKey: .numerator)
        denominator = try c.decodeIfPresent(MetricSide.self, forKey: .denominator)
    }
}

/// One side of a ratio: a metric of one selected result.
public struct MetricSide: Codable, Sendable {
    /// The result the metric is read from.
    public var select: ResultSelector?
    /// A dotted metric path of that result.
    public var metric: String?

    /// The metric `metric` of the result `select` names.
    public init(select: ResultSelector, metric: String) {
        self.select = select
        self.metric = metric
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case select, metric }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        select = try c.decodeIfPresent(ResultSelector.self, forKey: .select)
        metric = try c.decodeIfPresent(String.self, forKey: .metric)
    }
}

/// A baseline rule's allowed relative drop of the median (0 ..< 1).
public struct BaselineTolerance: Codable, Sendable {
    /// The allowed relative drop of the median.
    public var tolerance: Double

    /// A tolerance of `tolerance` (0.1: 10% slower is still a pass).
    public init(tolerance: Double) { self.tolerance = tolerance }

    enum CodingKeys: String, CodingKey, CaseIterable { case tolerance }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tolerance = try c.decode(Double.self, forKey: .tolerance)
    }
}
