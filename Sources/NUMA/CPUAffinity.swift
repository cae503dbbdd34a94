import CNuma
import Glibc

/// A set of CPUs as a libnuma mask, made ahead of use so that a forked child can apply it without allocating.
public final class CPUMask {
    private let mask: UnsafeMutablePointer<bitmask>

    /// A mask holding `cpus` (numbers beyond the machine's CPU count are left out).
    public init(cpus: [Int]) throws(NUMAError) {
        guard NUMA.isAvailable else { throw .unavailable }
        guard let m = numa_allocate_cpumask() else { throw .failed(call: "numa_allocate_cpumask", errno: ENOMEM) }
        for c in cpus where c >= 0 && c < Int(m.pointee.size) { numa_bitmask_setbit(m, UInt32(c)) }
        mask = m
    }

    deinit { numa_bitmask_free(mask) }

    /// The CPUs in the mask, ascending.
    public var cpus: [Int] { (0..<Int(mask.pointee.size)).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 } }

    /// Restricts thread or process `pid` (0: the calling thread) to the mask; allocates nothing, so a forked child may call it.
    public func apply(to pid: pid_t = 0) -> Bool { numa_sched_setaffinity(pid, mask) == 0 }
}

extension NUMA {
    /// The CPUs thread or process `pid` (0: the calling thread) may run on, ascending.
    public static func affinity(of pid: pid_t = 0) throws(NUMAError) -> [Int] {
        guard isAvailable else { throw .unavailable }
        guard let mask = numa_allocate_cpumask() else { throw .failed(call: "numa_allocate_cpumask", errno: ENOMEM) }
        defer { numa_bitmask_free(mask) }
        guard numa_sched_getaffinity(pid, mask) >= 0 else { throw .failed(call: "numa_sched_getaffinity", errno: errno) }
        return (0..<Int(mask.pointee.size)).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
    }

    /// Restricts thread or process `pid` (0: the calling thread) to `cpus`.
    public static func setAffinity(_ cpus: [Int], of pid: pid_t = 0) throws(NUMAError) {
        let mask = try CPUMask(cpus: cpus)
        guard mask.apply(to: pid) else { throw .failed(call: "numa_sched_setaffinity", errno: errno) }
    }
}
