#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Foundation
import NUMA

extension RunContext {
    /// Collects the context of this machine and run.
    public static func collect(argv: [String], seed: UInt64, placement: Placement = Placement(), limits: Limits = .none,
                               exportFS: String? = nil, rounds: Int = 1, roundDrift: [Double]? = nil) -> RunContext {
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
        let nodes = numaAvailable ? NUMA.nodes() : [0]
        return RunContext(
            date: formatter.string(from: Date()), host: host, kernel: field(uts.sysname) + " " + field(uts.release),
            cpuModel: cpuModel(), cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            numa: NUMAInfo(available: numaAvailable, nodes: numaAvailable ? nodes.count : 1, nodeIDs: nodes),
            swiftVersion: swiftVersion, build: buildKind, gitCommit: gitCommit(), argv: argv, seed: Int(truncatingIfNeeded: seed),
            placement: placement, limits: limits, exportFS: exportFS, rounds: rounds, roundDrift: roundDrift)
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
