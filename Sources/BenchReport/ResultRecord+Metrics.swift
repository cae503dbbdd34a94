extension ResultRecord {
    /// The number at a dotted path of the result's JSON form ("rpcs_per_op", "rpcs_by_type.Tclunk",
    /// "throughput.mib_per_s.median", "latency_ns.p99", "params.depth"); nil when absent, null or not a number.
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
            case "wire_bytes_per_op": return wireBytesPerOp
            case "bytes_copied_per_op": return bytesCopiedPerOp
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
            default: return nil
            }
        case 3:
            guard parts[0] == "throughput" else { return nil }
            return distribution(parts[1])?.value(parts[2])
        default:
            return nil
        }
    }

    /// The samples of the throughput distribution `name` ("ops_per_s" or "mib_per_s"); empty when absent.
    public func samples(_ name: String) -> [Double] { distribution(name)?.samples ?? [] }

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
