#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import HostSupport
import NUMA
import Synchronization

/// Where measured values go so that the optimizer keeps the work that produced them.
let limitsSink = Atomic<Int>(0)

/// What the limits of one run are measured for: the run's placement and server model, and the data sizes its ops use.
struct LimitsPlan {
    /// A process (builtin, diod, external) or threads (inproc).
    var model: ServerModel
    /// The CPUs the client threads are pinned to (the calling thread already is); nil: unpinned.
    var clientCPUs: [Int]?
    /// The CPUs the server is pinned to; nil: unpinned.
    var serverCPUs: [Int]?
    /// The CPUs this process may use (the same-CPU and cross-CPU round trips pick from them).
    var allowed: [Int]
    /// The node buffers come from.
    var memNode: Int?
    /// The nodes asked for, for the record.
    var nodes: Placement
    /// The data limits the run's ops are judged against.
    var needs: [VersusLimit.Need]
    /// The file the 1 MiB pread reference reads (the run's largest read fixture).
    var referenceFile: String?
    /// The local file the pread limit for a file of that many bytes reads (nil bytes: a file of one unit).
    var preadFile: (_ fileBytes: Int?, _ unit: Int) -> String?
}

extension Limits {
    /// A buffer of `bytes` on `node` (or anywhere), every page touched, released with `release`.
    private static func buffer(_ bytes: Int, node: Int?) -> (UnsafeMutableRawBufferPointer, release: () -> Void) {
        if let node, let b = try? NUMA.allocate(bytes: bytes, onNode: node) {
            b.initializeMemory(as: UInt8.self, repeating: 0x5A)
            return (b, { NUMA.free(b) })
        }
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        b.initializeMemory(as: UInt8.self, repeating: 0x5A)
        return (b, { b.deallocate() })
    }

    /// The best of `passes` passes, each calling `step` (bytes moved, nil on failure) for at least `minNs`, in GiB/s: a
    /// limit, and an interruption only ever slows a pass down.
    private static func rate(passes: Int, minNs: UInt64 = 10_000_000, _ step: () -> Int?) -> Double? {
        var rates: [Double] = []
        for _ in 0..<passes {
            var bytes = 0
            let t0 = monotonicNow()
            var elapsed: UInt64 = 0
            repeat {
                guard let n = step() else { return nil }
                bytes += n
                elapsed = monotonicNow() - t0
            } while elapsed < minNs
            rates.append(Double(bytes) / (Double(elapsed) / 1e9) / Double(1 << 30))
        }
        return rates.max()
    }

    /// One byte back and forth between the calling thread (pinned to each probe's `client` CPUs for its turn, left as
    /// it is when nil) and an echo peer on the probe's `peer` CPUs: 200 unmeasured, then `passes` interleaved passes
    /// that give every probe 1,000 round trips in turn, each timed on its own. Per probe the times (ns) and the CPUs its
    /// peer ran on; nil for a probe whose peer failed.
    static func roundTrips(_ model: ServerModel, _ probes: [(client: [Int]?, peer: [Int]?)],
                           passes: Int) -> [(ns: [UInt64], peer: [Int])?] {
        let peers = probes.map { EchoPeer.echo(model: model, cpus: $0.peer) }
        defer { for p in peers.reversed() { p?.stop() } }
        return roundTrips(peers, probes, passes: passes)
    }

    /// Round trips to `peers` (one per probe, nil: failed) as above: `warmup` unmeasured, then `passes` passes of `trips`.
    static func roundTrips(_ peers: [EchoPeer?], _ probes: [(client: [Int]?, peer: [Int]?)], passes: Int, trips: Int = 1000,
                           warmup: Int = 200) -> [(ns: [UInt64], peer: [Int])?] {
        var ns = probes.map { _ in [UInt64]() }
        var failed = peers.map { $0 == nil }
        for pass in 0..<passes {
            for (i, probe) in probes.enumerated() where !failed[i] {
                let fd = peers[i]!.fd
                var byte: UInt8 = 1
                func trip() -> Bool { Glibc.write(fd, &byte, 1) == 1 && Glibc.read(fd, &byte, 1) == 1 }
                let ok = try? Affinity.on(cpus: probe.client) { () -> Bool in
                    if pass == 0 { for _ in 0..<warmup { guard trip() else { return false } } }
                    for _ in 0..<trips {
                        let t0 = monotonicNow()
                        guard trip() else { return false }
                        ns[i].append(monotonicNow() - t0)
                    }
                    return true
                }
                if ok != true { failed[i] = true }
            }
        }
        return probes.indices.map { i in failed[i] ? nil : (ns[i], peers[i]!.cpus) }
    }

    /// The median of `ns` in µs (as an op's p50 is: a preemption moves a mean, not the median).
    static func medianMicroseconds(_ ns: [UInt64]) -> Double? {
        guard !ns.isEmpty else { return nil }
        let sorted = ns.sorted()
        return Double(sorted[sorted.count / 2]) / 1000
    }

    /// `message`-byte writes streamed to a sink peer on `peerCPUs` (32 to 256 MiB per pass, acknowledged at its end);
    /// the best of `passes` passes after an unmeasured one, GiB/s.
    static func socketStream(_ model: ServerModel, peerCPUs: [Int]?, message: Int, memNode: Int?, passes: Int) -> Double? {
        let total = min(256 << 20, max(32 << 20, message * 512)) / message * message
        let (out, releaseOut) = buffer(message, node: memNode)
        let (sink, releaseSink) = buffer(message, node: memNode)
        defer { releaseOut(); releaseSink() }
        guard let peer = EchoPeer.sink(model: model, cpus: peerCPUs, total: total, chunk: message, buffer: sink) else { return nil }
        defer { peer.stop() }
        func pass() -> Double? {
            let t0 = monotonicNow()
            var sent = 0
            while sent < total {
                let at = sent % message
                let n = Glibc.write(peer.fd, out.baseAddress! + at, message - at)
                guard n > 0 else { return nil }
                sent += n
            }
            var ack: UInt8 = 0
            guard Glibc.read(peer.fd, &ack, 1) == 1 else { return nil }
            return Double(total) / (Double(monotonicNow() - t0) / 1e9) / Double(1 << 30)
        }
        guard pass() != nil else { return nil }  // unmeasured: both sides warm
        var rates: [Double] = []
        for _ in 0..<passes { guard let r = pass() else { return nil }; rates.append(r) }
        return rates.max()
    }

    /// memcpy of `unit` bytes at a time out of a buffer of `span` bytes (walked in order, wrapping) into one of `unit`
    /// bytes, as the client's page cache serves a file of that size; the best of `passes`, GiB/s.
    static func memcpyRate(unit: Int, span: Int, memNode: Int?, passes: Int) -> Double? {
        let span = max(span, unit) / unit * unit
        let (src, releaseSrc) = buffer(span, node: memNode)
        let (dst, releaseDst) = buffer(unit, node: memNode)
        defer { releaseSrc(); releaseDst() }
        var at = 0
        var check = 0
        func copy() -> Int? {
            memcpy(dst.baseAddress!, src.baseAddress! + at, unit)
            check &+= Int(dst.load(fromByteOffset: (at / unit * 4099) % unit, as: UInt8.self))  // the copies are used
            at = (at + unit) % span
            return unit
        }
        for _ in 0..<(span / unit) { _ = copy() }
        let r = rate(passes: passes, copy)
        limitsSink.store(check, ordering: .relaxed)
        return r
    }

    /// pread of `unit` bytes (at most the file's size) at a time through the file at `path` (in order, wrapping; always
    /// at offset 0 with `fromStart`), page-cached by one unmeasured pass; the best of `passes`, GiB/s.
    static func preadRate(path: String, unit wanted: Int, fromStart: Bool, memNode: Int?, passes: Int) -> Double? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let unit = min(wanted, Int(st.st_size))
        let size = fromStart ? unit : Int(st.st_size) / unit * unit
        let (b, release) = buffer(unit, node: memNode)
        defer { release() }
        var at = 0
        func read() -> Int? {
            let n = Glibc.pread(fd, b.baseAddress, unit, off_t(at))
            guard n == unit else { return nil }
            at = (at + unit) % size
            return n
        }
        for _ in 0..<(size / unit) { guard read() != nil else { return nil } }
        return rate(passes: passes, read)
    }
}
