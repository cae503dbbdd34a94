import BenchReport
import HostSupport
import NUMA

/// A `--client-cpus`/`--server-cpus` value: CPUs to pin to, or `any` (unpinned).
public enum CPUChoice: Equatable, Sendable, CustomStringConvertible {
    /// Unpinned.
    case any
    /// Pinned to these CPUs (ascending).
    case cpus([Int])

    /// Parses `any` or a CPU list ("1", "0,2", "0-3").
    public init?(_ text: String) {
        if text == "any" { self = .any; return }
        guard let cpus = Affinity.parseList(text) else { return nil }
        self = .cpus(cpus)
    }

    public var description: String {
        switch self {
        case .any: return "any"
        case let .cpus(c): return Affinity.format(c)
        }
    }
}

/// Where the bench's client threads and the server it starts run, resolved from the flags and the CPUs this process
/// may use. Without flags, on two or more CPUs, client and server get one CPU each, two different ones (the
/// sandbox/gofer split), so that every run measures the same cross-CPU path instead of whatever the scheduler picks.
public struct CPUPlacement: Equatable, Sendable {
    /// The client threads' CPUs (nil: unpinned).
    public var client: [Int]?
    /// The server's CPUs (nil: unpinned, or a server the bench does not start).
    public var server: [Int]?
    /// `default`, `given` (a flag chose at least one side) or `none` (nothing pinned).
    public var pinning: String

    /// The placement `options` ask for on a process allowed to run on `allowed`.
    public static func resolve(_ options: RunOptions, allowed: [Int]) throws(UsageError) -> CPUPlacement {
        let startsServer = options.servers.contains { $0.isStartedByBench }
        func given(_ choice: CPUChoice?, node: Int?, flag: String) throws(UsageError) -> [Int]?? {
            if let choice {
                guard case let .cpus(cpus) = choice else { return .some(nil) }
                guard !allowed.isEmpty else { throw UsageError("\(flag): this machine cannot pin threads (no CPU affinity support)") }
                for c in cpus where !allowed.contains(c) {
                    throw UsageError("\(flag): CPU \(c) is not one this process may run on (\(Affinity.format(allowed)))")
                }
                return .some(cpus)
            }
            if let node {
                do { return .some(try NUMA.cpus(ofNode: node).filter { allowed.isEmpty || allowed.contains($0) }) } catch {
                    throw UsageError("\(flag == "--client-cpus" ? "--cpu-node" : "--server-cpu-node"): \(error)")
                }
            }
            return nil
        }
        let client = try given(options.clientCPUs, node: options.cpuNode, flag: "--client-cpus")
        let server = startsServer ? try given(options.serverCPUs, node: options.serverCPUNode, flag: "--server-cpus") : .some(nil)
        var p = CPUPlacement(client: client ?? nil, server: server ?? nil, pinning: "given")
        let defaults = allowed.count >= 2
        if client == nil {
            p.client = defaults ? [allowed.first { !(p.server ?? []).contains($0) } ?? allowed[0]] : nil
        }
        if server == nil {
            p.server = defaults ? allowed.first { !(p.client ?? []).contains($0) }.map { [$0] } : nil
        }
        if client == nil && (server == nil || !startsServer) { p.pinning = "default" }
        if p.client == nil && p.server == nil { p.pinning = "none" }
        return p
    }

    /// The report's `context.placement`.
    func context(_ options: RunOptions) -> Placement {
        Placement(cpuNode: options.cpuNode, memNode: options.memNode, serverCPUNode: options.serverCPUNode, clientCPUs: client,
                  serverCPUs: server, pinning: pinning)
    }
}
