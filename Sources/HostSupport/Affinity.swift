#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NUMA

/// The kernel refused to pin a thread.
public struct AffinityError: Error, CustomStringConvertible {
    /// The CPUs asked for.
    public let cpus: [Int]
    /// The refusal to pin to `cpus`.
    public init(cpus: [Int]) { self.cpus = cpus }
    public var description: String { "cannot pin a thread to CPUs \(Affinity.format(cpus)) (sched_setaffinity refused)" }
}

/// CPU placement of threads and processes as lists of CPU numbers (through the NUMA module); a machine without
/// NUMA support reports no CPUs and binds nothing.
public enum Affinity {
    /// The CPUs the calling thread (pid 0) or thread/process `pid` may run on; empty when unknown.
    public static func current(pid: pid_t = 0) -> [Int] {
        (try? NUMA.affinity(of: pid)) ?? []
    }

    /// Restricts the calling thread (pid 0) or thread/process `pid` to `cpus`; false when the kernel refused.
    @discardableResult
    public static func bind(pid: pid_t = 0, to cpus: [Int]) -> Bool {
        guard !cpus.isEmpty else { return false }
        return (try? NUMA.setAffinity(cpus, of: pid)) != nil
    }

    /// Runs `body` with the calling thread pinned to `cpus` (unchanged when nil), then restores its affinity.
    ///
    /// Threads and processes created inside `body` inherit the pinning.
    public static func on<T>(cpus: [Int]?, _ body: () throws -> T) throws -> T {
        guard let cpus else { return try body() }
        let saved = current()
        guard bind(to: cpus) else { throw AffinityError(cpus: cpus) }
        defer { bind(to: saved) }
        return try body()
    }

    /// Parses a CPU list as taskset and /proc write it ("0", "0,2", "0-3,6"); nil when malformed or empty.
    public static func parseList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2, let lo = Int(ends[0]), lo >= 0, lo < 65536 else { return nil }
            let hi = ends.count == 2 ? Int(ends[1]) : lo
            guard let hi, hi >= lo, hi < 65536 else { return nil }
            for c in lo...hi where !out.contains(c) { out.append(c) }
        }
        return out.isEmpty ? nil : out.sorted()
    }

    /// A CPU list in the /proc form ("0-3,6").
    public static func format(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = cpus.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// `Cpus_allowed_list` of every thread of process `pid`, from /proc/PID/task/*/status (empty when unreadable).
    public static func threadCPUs(ofProcess pid: pid_t) -> [Int: [Int]] {
        let dir = "/proc/\(pid)/task"
        var out: [Int: [Int]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            guard let tid = Int(name), let status = try? String(contentsOfFile: "\(dir)/\(name)/status", encoding: .utf8) else { continue }
            for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
                if let cpus = parseList(line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)) {
                    out[tid] = cpus
                }
            }
        }
        return out
    }
}
