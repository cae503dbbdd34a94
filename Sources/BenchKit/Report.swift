#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NUMA
import P9

/// The report's schema identifier.
public let reportSchema = "swift-gofer-bench/1"

/// `server` of a result.
public struct ServerInfo: Sendable {
    public var kind: String
    public var address: String?
    public var version: String?
    public var extensions: [String]
    public var msize: Int?
    public var transport: String

    var json: JSON {
        .object([("kind", .string(kind)), ("address", address.map(JSON.string) ?? .null),
                 ("version", version.map(JSON.string) ?? .null), ("extensions", .array(extensions.map(JSON.string))),
                 ("msize", msize.map(JSON.int) ?? .null), ("transport", .string(transport))])
    }
}

/// One result row of a report.
public struct ResultRecord: Sendable {
    public enum Status: String, Sendable { case ok, failed, skipped }

    public var scenario: String
    public var params: ParamSet
    public var server: ServerInfo
    public var status: Status
    public var error: String?
    var measurement: Measurement?
    var movesBytes: Bool

    /// The JSON object of this result (every contract field; nulls where nothing was measured).
    public var json: JSON {
        var fields: [(String, JSON)] = [
            ("scenario", .string(scenario)), ("params", params.json), ("server", server.json),
            ("status", .string(status.rawValue)), ("error", error.map(JSON.string) ?? .null),
        ]
        guard let m = measurement, m.ops > 0 else {
            fields += [("repetitions", .int(measurement?.repetitions ?? 0)), ("ops", .int(0)), ("bytes", .int(0)),
                       ("rpcs_per_op", .null), ("rpcs_background", .null), ("rpcs_by_type", .object([])),
                       ("wire_bytes_per_op", .null), ("bytes_copied_per_op", .null), ("throughput", .null), ("latency_ns", .null), ("cpu", .null),
                       ("warnings", .array([]))]
            return .object(fields)
        }
        let ops = Double(m.ops)
        let byType = m.inOp.byType.filter { $0.value != 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        func dist(_ xs: [Double]) -> JSON {
            .object([("median", .number(Statistics.median(xs))), ("min", .number(xs.min())), ("max", .number(xs.max())),
                     ("samples", .array(xs.map { .number($0) }))])
        }
        let h = m.latency
        func p(_ q: Double) -> JSON { h.totalCount > 0 ? .int(Int(h.valueAtPercentile(q))) : .null }
        fields += [
            ("repetitions", .int(m.repetitions)), ("ops", .int(m.ops)), ("bytes", .int(m.bytes)),
            ("rpcs_per_op", .number(Double(m.inOp.total) / ops)),
            ("rpcs_background", .number(Double(m.background.total) / ops)),
            ("rpcs_by_type", .object(byType.map { ($0.key.description, .number(Double($0.value) / ops)) })),
            ("wire_bytes_per_op", .number(Double(m.inOp.bytes) / ops)),
            ("bytes_copied_per_op", .number(Double(m.copiedBytes) / ops)),
            ("throughput", .object([("ops_per_s", dist(m.opsPerS)), ("mib_per_s", movesBytes ? dist(m.mibPerS) : .null)])),
            ("latency_ns", .object([("p50", p(50)), ("p90", p(90)), ("p99", p(99)), ("p999", p(99.9)),
                                    ("max", h.totalCount > 0 ? .int(Int(h.maxRecorded)) : .null), ("batch", .int(m.batch))])),
            ("cpu", .object([("user_s", .number(m.cpuUser)), ("sys_s", .number(m.cpuSys))])),
            ("warnings", .array(Statistics.repetitionWarnings(opsPerS: m.opsPerS).map(JSON.string))),
        ]
        return .object(fields)
    }
}

/// The report's `context`: where and how the run happened.
public enum RunContext {
    /// Collects the context of this machine and run.
    public static func collect(argv: [String], seed: UInt64, cpuNode: Int? = nil, memNode: Int? = nil, serverCPUNode: Int? = nil,
                               limits: Limits = .none) -> JSON {
        var uts = utsname()
        uname(&uts)
        func field<T>(_ v: T) -> String {
            withUnsafeBytes(of: v) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        var hostBuf = [CChar](repeating: 0, count: 256)
        gethostname(&hostBuf, hostBuf.count)
        let host = String(decoding: hostBuf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let numaAvailable = NUMA.isAvailable
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return .object([
            ("date", .string(formatter.string(from: Date()))),
            ("host", .string(host)),
            ("kernel", .string(field(uts.sysname) + " " + field(uts.release))),
            ("cpu_model", cpuModel().map(JSON.string) ?? .null),
            ("cpus", .int(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))),
            ("numa", .object([("available", .bool(numaAvailable)), ("nodes", .int(numaAvailable ? NUMA.nodes().count : 1)),
                              ("node_ids", .array((numaAvailable ? NUMA.nodes() : [0]).map(JSON.int)))])),
            ("swift_version", .string(swiftVersion)),
            ("build", .string(buildKind)),
            ("git_commit", gitCommit().map(JSON.string) ?? .null),
            ("argv", .array(argv.map(JSON.string))),
            ("seed", .int(Int(truncatingIfNeeded: seed))),
            ("placement", .object([("cpu_node", cpuNode.map(JSON.int) ?? .null), ("mem_node", memNode.map(JSON.int) ?? .null),
                                   ("server_cpu_node", serverCPUNode.map(JSON.int) ?? .null)])),
            ("limits", limits.json),
        ])
    }

    static var buildKind: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    static var swiftVersion: String {
        #if compiler(>=6.4)
        return "6.4+"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    static func cpuModel() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// HEAD of the repository the bench runs in, read from .git without running git.
    static func gitCommit() -> String? {
        var dir = FileManager.default.currentDirectoryPath
        for _ in 0..<8 {
            let head = dir + "/.git/HEAD"
            if let text = try? String(contentsOfFile: head, encoding: .utf8) {
                let h = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard h.hasPrefix("ref: ") else { return h }
                let ref = String(h.dropFirst(5))
                if let c = try? String(contentsOfFile: dir + "/.git/" + ref, encoding: .utf8) {
                    return c.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                if let packed = try? String(contentsOfFile: dir + "/.git/packed-refs", encoding: .utf8) {
                    for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) { return String(line.prefix(40)) }
                }
                return nil
            }
            dir = (dir as NSString).deletingLastPathComponent
            if dir == "/" || dir.isEmpty { break }
        }
        return nil
    }
}

/// A whole report: context and results.
public struct Report: Sendable {
    public var context: JSON
    public var results: [ResultRecord]

    public var json: JSON {
        .object([("schema", .string(reportSchema)), ("context", context), ("results", .array(results.map(\.json)))])
    }

    /// Writes the formats asked for into `dir` atomically (temp file + rename); returns the paths written.
    public func write(to dir: String, formats: [ReportFormat]) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var paths: [String] = []
        let resultsJSON = json
        for f in formats {
            let text: String
            switch f {
            case .json: text = resultsJSON.serialized()
            case .csv: text = CSVReport.render(resultsJSON)
            case .svg: text = Plot.render(resultsJSON)
            }
            let path = dir + "/report." + f.rawValue
            try writeAtomically(text, to: path)
            paths.append(path)
        }
        return paths
    }
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
func writeAtomically(_ text: String, to path: String) throws {
    let tmp = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else {
        throw BenchError.report("cannot write \(tmp): \(String(cString: strerror(errno)))")
    }
    guard rename(tmp, path) == 0 else {
        let e = errno
        unlink(tmp)
        throw BenchError.report("cannot rename \(tmp) to \(path): \(String(cString: strerror(e)))")
    }
}

/// The CSV form: one row per result, the JSON fields flattened; `samples` left out.
public enum CSVReport {
    /// Renders the `results` of a report JSON.
    public static func render(_ report: JSON) -> String {
        let results = report["results"]?.array ?? []
        var paramKeys: [String] = []
        var typeKeys: [String] = []
        for r in results {
            for (k, _) in r["params"]?.object ?? [] where !paramKeys.contains(k) { paramKeys.append(k) }
            for (k, _) in r["rpcs_by_type"]?.object ?? [] where !typeKeys.contains(k) { typeKeys.append(k) }
        }
        let types = typeKeys.sorted { messageNumber($0) < messageNumber($1) }
        let columns = ["scenario"] + paramKeys.map { "params." + $0 } + middle + types.map { "rpcs_by_type." + $0 } + tail
        var out = columns.map(quote).joined(separator: ",") + "\n"
        for r in results {
            let fields = columns.map { c -> String in
                if c.hasPrefix("params.") { return r["params"]?[String(c.dropFirst(7))].map(scalar) ?? "" }
                if c.hasPrefix("rpcs_by_type.") {
                    return r["rpcs_by_type"]?[String(c.dropFirst(13))].map(scalar) ?? "0"
                }
                return r.at(path: c).map(scalar) ?? ""
            }
            out += fields.map(quote).joined(separator: ",") + "\n"
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
    ]

    private static func scalar(_ v: JSON) -> String {
        switch v {
        case .null: return ""
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return JSON.format(d)
        case let .string(s): return s
        case let .array(a): return a.map(scalar).joined(separator: " ")
        case .object: return ""
        }
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
