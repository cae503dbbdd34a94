#if canImport(Glibc)
import Glibc
#endif
import NUMA

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

    /// Runs `body` with the calling thread bound to NUMA node `node` (unchanged when nil), then restores its affinity.
    ///
    /// Threads and processes created inside `body` inherit the binding.
    public static func onNode<T>(_ node: Int?, _ body: () throws -> T) throws -> T {
        guard let node else { return try body() }
        let saved = current()
        try NUMA.runCurrentThread(onNode: node)
        defer { bind(to: saved) }
        return try body()
    }
}
