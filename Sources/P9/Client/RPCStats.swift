import Glibc
import Synchronization

/// One RPC as the trace recorded it.
public struct RPCTraceEntry: Sendable, Equatable {
    /// CLOCK_MONOTONIC nanoseconds when the request was sent.
    public var timeNs: UInt64
    public var tag: Tag
    /// The request type (T message).
    public var type: MessageType
    /// The fid the request names (NOFID when it names none).
    public var fid: FID
    public var bytesSent: Int
    public var bytesReceived: Int
}

/// Counters of the RPCs one client sent, by type, plus wire bytes; an optional per-RPC trace.
///
/// Counting is a relaxed atomic add; the trace costs one relaxed load when it is off.
public final class RPCStats: @unchecked Sendable {  // mutable state: atomics, and `trace` behind its lock
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sent = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    private let tracing = Atomic<Bool>(false)
    private let trace = Locked<[RPCTraceEntry]>([])

    public init() {
        counts = .allocate(capacity: 256)
        for i in 0..<256 { (counts + i).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: 256)
        counts.deallocate()
    }

    /// What the counters held at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// Requests sent, by T type.
        public var byType: [MessageType: Int]
        /// Bytes written to the transport.
        public var bytesSent: Int
        /// Bytes read from the transport.
        public var bytesReceived: Int

        /// Requests of type `t` sent.
        public func count(_ t: MessageType) -> Int { byType[t] ?? 0 }
        /// All requests sent.
        public var total: Int { byType.values.reduce(0, +) }

        /// The difference of two snapshots (types whose difference is 0 are left out).
        public static func - (a: Snapshot, b: Snapshot) -> Snapshot {
            var d: [MessageType: Int] = [:]
            for t in Set(a.byType.keys).union(b.byType.keys) {
                let v = a.count(t) - b.count(t)
                if v != 0 { d[t] = v }
            }
            return Snapshot(byType: d, bytesSent: a.bytesSent - b.bytesSent, bytesReceived: a.bytesReceived - b.bytesReceived)
        }
    }

    /// Reads every counter.
    public func snapshot() -> Snapshot {
        var d: [MessageType: Int] = [:]
        for i in 0..<256 {
            let v = counts[i].load(ordering: .relaxed)
            if v != 0, let t = MessageType(rawValue: UInt8(i)) { d[t] = v }
        }
        return Snapshot(byType: d, bytesSent: sent.load(ordering: .relaxed), bytesReceived: received.load(ordering: .relaxed))
    }

    /// Starts recording every RPC (clears an earlier trace).
    public func startTrace() {
        trace.withLock { $0.removeAll() }
        tracing.store(true, ordering: .releasing)
    }

    /// Stops recording and returns the RPCs recorded since `startTrace()`, in completion order.
    public func stopTrace() -> [RPCTraceEntry] {
        tracing.store(false, ordering: .releasing)
        return trace.withLock { t in let out = t; t.removeAll(); return out }
    }

    /// Whether a trace is being recorded.
    public var isTracing: Bool { tracing.load(ordering: .relaxed) }

    @inline(__always)
    func countRequest(_ t: MessageType, bytes: Int) {
        counts[Int(t.rawValue)].wrappingAdd(1, ordering: .relaxed)
        sent.wrappingAdd(bytes, ordering: .relaxed)
    }

    @inline(__always)
    func countReceived(_ bytes: Int) {
        received.wrappingAdd(bytes, ordering: .relaxed)
    }

    @inline(__always)
    func record(_ make: () -> RPCTraceEntry) {
        guard tracing.load(ordering: .relaxed) else { return }
        let entry = make()
        trace.withLock { $0.append(entry) }
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
