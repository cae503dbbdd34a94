#if canImport(Glibc)
import Glibc
#endif
import CNuma
import NUMA

/// CPU affinity of threads and processes as lists of CPU numbers (libnuma's sched_getaffinity/sched_setaffinity
/// wrappers: Glibc's own are _GNU_SOURCE-only and Swift cannot see them).
enum Affinity {
    /// A libnuma CPU mask holding `cpus`; release with `numa_bitmask_free`.
    static func mask(of cpus: [Int]) -> UnsafeMutablePointer<bitmask>? {
        guard let m = numa_allocate_cpumask() else { return nil }
        for c in cpus where c >= 0 && c < Int(m.pointee.size) { numa_bitmask_setbit(m, UInt32(c)) }
        return m
    }

    /// The CPUs the calling thread (pid 0) or thread/process `pid` may run on.
    static func current(pid: pid_t = 0) -> [Int] {
        guard NUMA.isAvailable, let m = numa_allocate_cpumask() else { return [] }
        defer { numa_bitmask_free(m) }
        guard numa_sched_getaffinity(pid, m) >= 0 else { return [] }
        return (0..<Int(m.pointee.size)).filter { numa_bitmask_isbitset(m, UInt32($0)) != 0 }
    }

    /// Restricts the calling thread (pid 0) or thread/process `pid` to `cpus`; false when the kernel refused.
    @discardableResult
    static func bind(pid: pid_t = 0, to cpus: [Int]) -> Bool {
        guard !cpus.isEmpty, NUMA.isAvailable, let m = mask(of: cpus) else { return false }
        defer { numa_bitmask_free(m) }
        return numa_sched_setaffinity(pid, m) == 0
    }

    /// Runs `body` with the calling thread bound to NUMA node `node` (unchanged when nil), then restores its affinity.
    static func onNode<T>(_ node: Int?, _ body: () throws -> T) throws -> T {
        guard let node else { return try body() }
        let saved = current()
        try NUMA.runCurrentThread(onNode: node)
        defer { bind(to: saved) }
        return try body()
    }
}
