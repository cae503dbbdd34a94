import P9

/// Why a metric path names nothing a result can hold.
public struct UnknownMetric: Error, CustomStringConvertible, Equatable {
    /// The path and what is wrong with it.
    public let description: String
}

extension ResultRecord {
    /// The single-name numeric fields of a result.
    static let scalarMetrics = ["repetitions", "ops", "bytes", "rpcs_per_op", "rpcs_background", "background_ns_per_op",
                                "wire_bytes_per_op", "bytes_copied_per_op", "vs_limit"]
    /// The fields of `latency_ns`.
    static let latencyFields = ["p50", "p90", "p99", "p999", "max", "batch"]

    /// Checks that `path` names a number a result can hold (`rpcs_by_type.<T>` a 9P request type, `params.<k>` a
    /// parameter); a misspelt rule must not read as an absent value.
    public static func validateMetric(_ path: String) throws(UnknownMetric) {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func unknown(_ why: String) -> UnknownMetric { UnknownMetric(description: "unknown metric \"\(path)\": \(why)") }
        switch (parts.count, parts[0]) {
        case (1, _):
            guard scalarMetrics.contains(parts[0]) else {
                throw unknown("expected one of \(scalarMetrics.joined(separator: ", ")), or a dotted path")
            }
        case (2, "rpcs_by_type"):
            guard requestTypeNames.contains(parts[1]) else {
                throw unknown("\"\(parts[1])\" is not a 9P request type (e.g. Twalkgetattr, Tclunk, Tread)")
            }
        case (2, "latency_ns"):
            guard latencyFields.contains(parts[1]) else { throw unknown("expected latency_ns.\(latencyFields.joined(separator: "|"))") }
        case (2, "cpu"), (3, "cpu"):
            let sides = parts.count == 3 ? [parts[1]] : []
            guard sides.allSatisfy({ $0 == "client" || $0 == "server" }), ["user_s", "sys_s"].contains(parts.last!) else {
                throw unknown("expected cpu.user_s|sys_s or cpu.client|server.user_s|sys_s")
            }
        case (2, "server"):
            guard parts[1] == "msize" else { throw unknown("the only numeric server field is server.msize") }
        case (2, "params"):
            guard ParamKey(rawValue: parts[1]) != nil else {
                throw unknown("expected params.\(ParamKey.allCases.map(\.rawValue).joined(separator: "|"))")
            }
        case (3, "throughput"):
            guard ["ops_per_s", "mib_per_s"].contains(parts[1]), ["median", "min", "max"].contains(parts[2]) else {
                throw unknown("expected throughput.ops_per_s|mib_per_s.median|min|max")
            }
        case (2, "per_thread"), (2, "per_client"), (3, "per_thread"), (3, "per_client"):
            guard parts.count == 2 ? parts[1] == "count"
                    : ["ops_per_s", "mib_per_s"].contains(parts[1]) && ["min", "max"].contains(parts[2]) else {
                throw unknown("expected \(parts[0]).count or \(parts[0]).ops_per_s|mib_per_s.min|max")
            }
        default:
            throw unknown("not a numeric field of a result (results/README.md lists them)")
        }
    }

    /// Names of the 9P request messages ("Tversion" ... "Tmultigetattr").
    static let requestTypeNames: Set<String> = Set(MessageType.allCases.map(\.description).filter { $0.hasPrefix("T") })

    /// The number at a dotted path of the result's JSON form ("rpcs_per_op", "rpcs_by_type.Tclunk",
    /// "throughput.mib_per_s.median", "latency_ns.p99", "cpu.server.user_s", "params.depth"); nil when absent, null
    /// or not a number.
    public func metric(_ path: String) -> Double? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            switch parts[0] {
            case "repetitions": return Double(repetitions)
            case "ops": return Double(ops)
            case "bytes": return Double(bytes)
            case "rpcs_per_op": return rpcsPerOp
            case "rpcs_background": return rpcsBackground
            case "background_ns_per_op": return backgroundNsPerOp
            case "wire_bytes_per_op": return wireBytesPerOp
            case "bytes_copied_per_op": return bytesCopiedPerOp
            case "vs_limit": return vsLimit
            case "vs_native": return vsNative
            default: return nil
            }
        case 2:
            switch parts[0] {
            case "rpcs_by_type": return rpcsByType[parts[1]]
            case "latency_ns": return latency.flatMap { $0.value(parts[1]) }
            case "cpu": return parts[1] == "user_s" ? cpu?.userS : (parts[1] == "sys_s" ? cpu?.sysS : nil)
            case "server": return parts[1] == "msize" ? server.msize.map(Double.init) : nil
            case "params": return ParamKey(rawValue: parts[1]).flatMap { params[$0]?.intValue }.map(Double.init)
            case "per_thread", "per_client":
                return parts[1] == "count" ? (parts[0] == "per_thread" ? perThread : perClient).map { Double($0.count) } : nil
            default: return nil
            }
        case 3:
            switch parts[0] {
            case "throughput": return distribution(parts[1])?.value(parts[2])
            case "cpu": return (parts[1] == "client" ? cpu?.client : (parts[1] == "server" ? cpu?.server : nil))?.value(parts[2])
            case "per_thread", "per_client":
                let spread = parts[0] == "per_thread" ? perThread : perClient
                let span = parts[1] == "ops_per_s" ? spread?.opsPerS : (parts[1] == "mib_per_s" ? spread?.mibPerS : nil)
                return parts[2] == "min" ? span?.min : (parts[2] == "max" ? span?.max : nil)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The samples of the throughput distribution `name` ("ops_per_s" or "mib_per_s"); empty when absent.
    public func samples(_ name: String) -> [Double] { distribution(name)?.samples ?? [] }

    /// Whether `other` is an ok result of the same measurement: scenario, params and server kind (what compare, pooling
    /// and the gate's baseline match on).
    public func isOkTwin(of other: ResultRecord) -> Bool {
        status == .ok && scenario == other.scenario && params == other.params && server.kind == other.server.kind
    }

    /// The throughput distribution `name` ("ops_per_s" or "mib_per_s").
    public func distribution(_ name: String) -> Distribution? {
        switch name {
        case "ops_per_s": return throughput?.opsPerS
        case "mib_per_s": return throughput?.mibPerS
        default: return nil
        }
    }
}

extension Distribution {
    /// The field `name` ("median", "min" or "max").
    func value(_ name: String) -> Double? {
        switch name {
        case "median": return median
        case "min": return min
        case "max": return max
        default: return nil
        }
    }
}

extension Latency {
    /// The field `name` ("p50" ... "max", "batch").
    func value(_ name: String) -> Double? {
        switch name {
        case "p50": return p50.map(Double.init)
        case "p90": return p90.map(Double.init)
        case "p99": return p99.map(Double.init)
        case "p999": return p999.map(Double.init)
        case "max": return max.map(Double.init)
        case "batch": return Double(batch)
        default: return nil
        }
    }
}
