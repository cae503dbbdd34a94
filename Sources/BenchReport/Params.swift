/// A benchmark parameter; the raw value is the report's key and the flag's name (with `-` for `_`).
public enum ParamKey: String, CaseIterable, Sendable, Hashable {
    // Declaration order is the canonical order of a report's params: every scenario lists its own in this order,
    // so that a decoded report (written with sorted keys) keeps the order of the run.
    case mode, resolver, path, blocks
    case blockSize = "block_size"
    case multiblock
    case fileSize = "file_size"
    case entries
    case depth, state, threads
    /// With `threads` > 1: private (each thread its own files and folders) or shared (all on the same ones).
    case sharing
    case msize
    /// One-way delay and jitter of the link between client and server (a user-space relay), whole microseconds.
    case linkDelay = "link_delay_us", linkJitter = "link_jitter_us"
    /// How long client and server poll their socket without blocking before a blocking read, whole microseconds.
    case spin = "spin_us"
    /// The same for the server the bench starts alone, overriding `spin_us` there (`--server-spin`), whole microseconds.
    case serverSpin = "server_spin_us"
    /// The client's deadline for one reply (`--rpc-timeout`, one value per run), as an exact duration: "500ms", "5s".
    case rpcTimeout = "rpc_timeout"
    /// How 9P calls travel: the socket, or shared-memory channels (Tchannel) where the server grants them.
    case transport
    /// Client processes, each with its own connection and filesystem, against one server (every scenario; joins the
    /// params only when given).
    case clients

    /// The `bench run` flag that sets it (a duration's without the unit: `--link-delay` for `link_delay_us`).
    public var flag: String {
        let name = isDuration ? rawValue.dropLast(3) : Substring(rawValue)
        return "--" + String(name.map { $0 == "_" ? "-" : $0 })
    }

    /// Whether values are durations, kept in whole microseconds (suffixes ns/us/ms/s; a bare 0 is no delay).
    public var isDuration: Bool { self == .linkDelay || self == .linkJitter || self == .spin || self == .serverSpin }

    /// The words a textual parameter accepts (nil for numeric ones).
    public var choices: [String]? {
        switch self {
        case .mode: return ["exclusive", "writethrough", "shared", "none"]
        case .resolver: return ["vfs2", "vfs1", "multi", "direct"]
        case .path: return ["hostfd", "9p"]
        case .multiblock: return ["buffered", "scatter"]
        case .state: return ["cold", "warm", "replaced"]
        case .sharing: return ["private", "shared"]
        case .transport: return ["socket", "channel"]
        default: return nil
        }
    }

    /// Whether numeric values are byte counts (suffixes K/M/G).
    public var isSize: Bool { self == .blockSize || self == .fileSize || self == .msize }

    /// What the flag accepts, for error messages and `bench list`.
    public var accepted: String {
        if let c = choices { return c.joined(separator: "|") + (self == .mode ? "|all" : "") }
        if self == .entries { return "positive integers (directory entries), e.g. 100,10000" }
        if isDuration { return "durations in whole microseconds with ns|us|ms|s (0 for none), e.g. 0,50us,200us,1ms" }
        if self == .rpcTimeout { return "one positive duration with ns|us|ms|s, e.g. 500ms, 5s" }
        return isSize ? "byte counts with optional K/M/G suffix (binary), e.g. 4K,64K,1M" : "positive integers, e.g. 1,2"
    }

    /// Parses one value of this parameter.
    public func parse(_ text: String) -> ParamValue? {
        if let c = choices { return c.contains(text) ? .text(text) : nil }
        if isSize { return Units.parseSize(text).flatMap { $0 > 0 ? .int($0) : nil } }
        if self == .rpcTimeout {
            guard let ns = Units.parseDuration(text), ns > 0 else { return nil }
            return .text(Units.formatExactDuration(ns))
        }
        if isDuration {
            if ["0", "0ns", "0us", "0ms", "0s"].contains(text) { return .int(0) }
            guard text.contains(where: \.isLetter), let ns = Units.parseDuration(text), ns % 1000 == 0 else { return nil }
            return .int(Int(ns / 1000))
        }
        guard let n = Int(text), n > 0 else { return nil }
        return .int(n)
    }
}

/// One parameter value: a word or an integer (bytes for sizes).
public enum ParamValue: Hashable, Sendable, CustomStringConvertible {
    case text(String)
    case int(Int)

    public var description: String {
        switch self {
        case let .text(s): return s
        case let .int(i): return String(i)
        }
    }

    /// The integer, when it is one.
    public var intValue: Int? { if case let .int(i) = self { return i } else { return nil } }
    /// The word, when it is one.
    public var textValue: String? { if case let .text(s) = self { return s } else { return nil } }
}

/// The parameters of one scenario run, in the scenario's declared order.
public struct ParamSet: Hashable, Sendable, CustomStringConvertible {
    /// The parameters and their values, in the scenario's order.
    public var entries: [(ParamKey, ParamValue)]

    /// A parameter set of `entries`, in that order.
    public init(_ entries: [(ParamKey, ParamValue)]) { self.entries = entries }

    /// The value of `key` (nil when the scenario does not use it).
    public subscript(key: ParamKey) -> ParamValue? { entries.first(where: { $0.0 == key })?.1 }

    /// The textual value of `key` (empty when absent).
    public func text(_ key: ParamKey) -> String { self[key]?.textValue ?? "" }
    /// The integer value of `key` (0 when absent).
    public func int(_ key: ParamKey) -> Int { self[key]?.intValue ?? 0 }

    /// "mode=shared resolver=vfs1 depth=3" with sizes shortened.
    public var description: String {
        entries.map { k, v in
            if k.isSize, let i = v.intValue { return "\(k.rawValue)=\(Units.formatSize(i))" }
            return "\(k.rawValue)=\(v)"
        }.joined(separator: " ")
    }

    public static func == (a: ParamSet, b: ParamSet) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public func hash(into h: inout Hasher) {
        for (k, v) in entries { h.combine(k); h.combine(v) }
    }

    /// Every combination of `values` for `keys` (the cross product, first key slowest).
    public static func crossProduct(_ keys: [ParamKey], _ values: [ParamKey: [ParamValue]]) -> [ParamSet] {
        var out: [[(ParamKey, ParamValue)]] = [[]]
        for k in keys {
            let vs = values[k] ?? []
            var next: [[(ParamKey, ParamValue)]] = []
            for prefix in out { for v in vs { next.append(prefix + [(k, v)]) } }
            out = next
        }
        return out.map(ParamSet.init)
    }
}

extension ParamValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .text(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .text(s): try c.encode(s)
        case let .int(i): try c.encode(i)
        }
    }
}

extension ParamSet: Codable {
    /// Reads a params object; the entries come in `ParamKey` declaration order, an unknown name is an error.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        var found: [ParamKey: ParamValue] = [:]
        for k in c.allKeys {
            guard let key = ParamKey(rawValue: k.stringValue) else {
                throw DecodingError.dataCorruptedError(
                    forKey: k, in: c,
                    debugDescription: "unknown parameter \"\(k.stringValue)\" (expected \(ParamKey.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            found[key] = try c.decode(ParamValue.self, forKey: k)
        }
        self.init(ParamKey.allCases.compactMap { k in found[k].map { (k, $0) } })
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (k, v) in entries { try c.encode(v, forKey: AnyCodingKey(stringValue: k.rawValue)) }
    }
}
