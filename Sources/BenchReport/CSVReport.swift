import P9

/// The CSV form: one row per result, the JSON fields flattened with dots; `samples` left out.
public enum CSVReport {
    /// Renders the results of `report`: params and `rpcs_by_type.<T>` columns are the union over all rows.
    public static func render(_ report: Report) -> String {
        var paramKeys: [ParamKey] = []
        var typeKeys: Set<String> = []
        for r in report.results {
            for (k, _) in r.params.entries where !paramKeys.contains(k) { paramKeys.append(k) }
            typeKeys.formUnion(r.rpcsByType.keys)
        }
        let types = typeKeys.sorted { (messageNumber($0), $0) < (messageNumber($1), $1) }
        // The caller spreads only when a row has one: reports of one caller keep their exact columns.
        let spreads = [("per_thread", report.results.contains { $0.perThread != nil }),
                       ("per_client", report.results.contains { $0.perClient != nil })].filter(\.1).flatMap { spreadColumns($0.0) }
        let columns = ["scenario"] + paramKeys.map { "params." + $0.rawValue } + middle + types.map { "rpcs_by_type." + $0 } + tail
            + spreads
        var out = columns.map(quote).joined(separator: ",") + "\n"
        for r in report.results {
            out += columns.map { quote(cell(r, $0)) }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The columns between the params and the RPC types.
    public static let middle = [
        "server.kind", "server.address", "server.version", "server.extensions", "server.msize", "server.transport",
        "status", "error", "repetitions", "ops", "bytes", "rpcs_per_op", "rpcs_background",
    ]
    /// The columns after the RPC types.
    public static let tail = [
        "wire_bytes_per_op", "bytes_copied_per_op",
        "throughput.ops_per_s.median", "throughput.ops_per_s.min", "throughput.ops_per_s.max",
        "throughput.mib_per_s.median", "throughput.mib_per_s.min", "throughput.mib_per_s.max",
        "latency_ns.p50", "latency_ns.p90", "latency_ns.p99", "latency_ns.p999", "latency_ns.max", "cpu.user_s", "cpu.sys_s",
        "background_ns_per_op", "vs_limit", "vs_limit_basis",
        "cpu.client.user_s", "cpu.client.sys_s", "cpu.server.user_s", "cpu.server.sys_s",
        "vs_native",
    ]

    /// The columns of the caller spread `name` (per_thread or per_client), after `tail`.
    static func spreadColumns(_ name: String) -> [String] {
        [name + ".count"] + ["ops_per_s", "mib_per_s"].flatMap { m in ["min", "max"].map { "\(name).\(m).\($0)" } }
    }

    /// The text of `column` for `r`: integers as they are, other numbers as Swift prints doubles ("7.0"), null empty.
    static func cell(_ r: ResultRecord, _ column: String) -> String {
        if column.hasPrefix("params.") {
            return ParamKey(rawValue: String(column.dropFirst(7))).flatMap { r.params[$0]?.description } ?? ""
        }
        if column.hasPrefix("rpcs_by_type.") { return r.rpcsByType[String(column.dropFirst(13))].map(number) ?? "0" }
        if column.hasPrefix("latency_ns.") {
            return r.latency?.value(String(column.dropFirst(11))).map { String(Int($0)) } ?? ""
        }
        switch column {
        case "scenario": return r.scenario
        case "server.kind": return r.server.kind
        case "server.address": return r.server.address ?? ""
        case "server.version": return r.server.version ?? ""
        case "server.extensions": return r.server.extensions.joined(separator: " ")
        case "server.msize": return r.server.msize.map(String.init) ?? ""
        case "server.transport": return r.server.transport
        case "status": return r.status.rawValue
        case "error": return r.error ?? ""
        case "repetitions": return String(r.repetitions)
        case "ops": return String(r.ops)
        case "bytes": return String(r.bytes)
        case "vs_limit_basis": return r.vsLimitBasis ?? ""
        case "per_thread.count": return r.perThread.map { String($0.count) } ?? ""
        case "per_client.count": return r.perClient.map { String($0.count) } ?? ""
        default: return r.metric(column).map(number) ?? ""
        }
    }

    /// A double as the report's JSON text of it used to read: "7.0" for whole numbers, "0.25" otherwise.
    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) + ".0" }
        return "\(d)"
    }

    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Parses CSV text (RFC 4180 quoting) into rows of fields.
    public static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars = chars.dropFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else if c != "\r" { field.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}

/// The wire number of a message named like "Twalkgetattr" (256 when unknown), for ordering columns.
func messageNumber(_ name: String) -> Int {
    for n in 0..<256 {
        if let t = MessageType(rawValue: UInt8(n)), t.description == name { return n }
    }
    return 256
}
