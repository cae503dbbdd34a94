import CNuma
import Glibc

/// Why a NUMA request could not be met.
public enum NUMAError: Error, Equatable, CustomStringConvertible {
    /// The kernel (or container) offers no NUMA support.
    case unavailable
    /// The node does not exist; `available` lists the nodes that do.
    case noSuchNode(requested: Int, available: [Int])
    /// The library call failed with this errno.
    case failed(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .unavailable: return "NUMA is unavailable on this machine (numa_available() < 0)"
        case let .noSuchNode(requested, available):
            return "NUMA node \(requested) does not exist; available nodes: \(available.map(String.init).joined(separator: ", "))"
        case let .failed(call, errno): return "\(call) failed: \(String(cString: strerror(errno)))"
        }
    }
}

/// A small, typed view of libnuma: topology, thread placement and node-local buffers.
public enum NUMA {
    /// True when the kernel supports NUMA policy calls.
    public static var isAvailable: Bool { numa_available() >= 0 }

    /// The nodes memory can be allocated on, ascending; empty when NUMA is unavailable.
    public static func nodes() -> [Int] {
        guard isAvailable, let mask = numa_get_mems_allowed() else { return [] }
        defer { numa_bitmask_free(mask) }
        let maxNode = Int(numa_max_node())
        guard maxNode >= 0 else { return [] }
        return (0...maxNode).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
    }

    /// Throws `.noSuchNode` (naming the nodes that exist) unless `node` exists.
    public static func validate(node: Int) throws(NUMAError) {
        guard isAvailable else { throw .unavailable }
        let all = nodes()
        guard all.contains(node) else { throw .noSuchNode(requested: node, available: all) }
    }

    /// The CPUs of `node`, ascending.
    public static func cpus(ofNode node: Int) throws(NUMAError) -> [Int] {
        try validate(node: node)
        guard let mask = numa_allocate_cpumask() else { throw .failed(call: "numa_allocate_cpumask", errno: ENOMEM) }
        defer { numa_bitmask_free(mask) }
        guard numa_node_to_cpus(Int32(node), mask) == 0 else { throw .failed(call: "numa_node_to_cpus", errno: errno) }
        let bits = Int(mask.pointee.size)
        return (0..<bits).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
    }

    /// Binds the calling thread to the CPUs of `node`.
    public static func runCurrentThread(onNode node: Int) throws(NUMAError) {
        try validate(node: node)
        guard numa_run_on_node(Int32(node)) == 0 else { throw .failed(call: "numa_run_on_node", errno: errno) }
    }

    /// Allocates `bytes` bytes (page-aligned, zeroed) placed on `node`; release with `free`.
    public static func allocate(bytes: Int, onNode node: Int) throws(NUMAError) -> UnsafeMutableRawBufferPointer {
        try validate(node: node)
        guard bytes > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        guard let p = numa_alloc_onnode(bytes, Int32(node)) else { throw .failed(call: "numa_alloc_onnode", errno: ENOMEM) }
        return UnsafeMutableRawBufferPointer(start: p, count: bytes)
    }

    /// Frees a buffer from `allocate`.
    public static func free(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        numa_free(base, buffer.count)
    }
}
