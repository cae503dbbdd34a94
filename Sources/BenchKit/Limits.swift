#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import HostSupport
import NUMA
import Synchronization

/// Where measured values go so that the optimizer keeps the work that produced them.
let limitsSink = Atomic<Int>(0)

extension Limits {
    /// Measures the limits on the calling thread (bound by the caller like the scenarios' threads); the echo and
    /// sink children run on `serverCPUNode` when given, buffers come from `memNode`; `preadFile` is read for the
    /// pread limit (nil: that limit stays null).
    public static func measure(cpuNode: Int?, memNode: Int?, serverCPUNode: Int?, preadFile: String?) -> Limits {
        let clientCPUs = Affinity.current()
        let serverCPUs = serverCPUNode.flatMap { try? NUMA.cpus(ofNode: $0) }
        var l = Limits()
        l.socketRTTus = socketRoundTrip(childCPUs: serverCPUs)
        l.socketStreamGiBs = socketStream(childCPUs: serverCPUs, memNode: memNode)
        l.memcpyGiBs = memcpyRate(memNode: memNode)
        l.preadGiBs = preadFile.flatMap { preadRate(path: $0, memNode: memNode) }
        l.placement = LimitsPlacement(nodes: Placement(cpuNode: cpuNode, memNode: memNode, serverCPUNode: serverCPUNode),
                                      clientCPUs: clientCPUs, serverCPUs: serverCPUs ?? clientCPUs)
        return l
    }

    /// A buffer of `bytes` on `node` (or anywhere), released with `release`.
    private static func buffer(_ bytes: Int, node: Int?) -> (UnsafeMutableRawBufferPointer, release: () -> Void) {
        if let node, let b = try? NUMA.allocate(bytes: bytes, onNode: node) {
            b.initializeMemory(as: UInt8.self, repeating: 0x5A)
            return (b, { NUMA.free(b) })
        }
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        b.initializeMemory(as: UInt8.self, repeating: 0x5A)
        return (b, { b.deallocate() })
    }

    /// Forks a child that runs `child` on its end of a new socketpair (bound to `cpus` when given), then `_exit`s.
    /// Returns the parent's end and the child's pid.
    private static func forkChild(cpus: [Int]?, _ child: (Int32) -> Void) -> (fd: Int32, pid: pid_t)? {
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else { return nil }
        let mask = cpus.flatMap { try? CPUMask(cpus: $0) }
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            // The child only makes system calls on memory prepared before the fork.
            Glibc.close(sv[0])
            _ = mask?.apply()
            child(sv[1])
            _exit(0)
        }
        Glibc.close(sv[1])
        guard pid > 0 else { Glibc.close(sv[0]); return nil }
        return (sv[0], pid)
    }

    private static func reap(_ fd: Int32, _ pid: pid_t) {
        Glibc.close(fd)
        var st: Int32 = 0
        _ = waitpid(pid, &st, 0)
    }

    /// One byte back and forth, 3 batches of 1,000 after 200 unmeasured; the median batch mean in µs.
    static func socketRoundTrip(childCPUs: [Int]?) -> Double? {
        guard let (fd, pid) = forkChild(cpus: childCPUs, { fd in
            var b: UInt8 = 0
            while Glibc.read(fd, &b, 1) == 1 { if Glibc.write(fd, &b, 1) != 1 { break } }
        }) else { return nil }
        defer { reap(fd, pid) }
        var byte: UInt8 = 1
        func trip() -> Bool { Glibc.write(fd, &byte, 1) == 1 && Glibc.read(fd, &byte, 1) == 1 }
        for _ in 0..<200 { guard trip() else { return nil } }
        var means: [Double] = []
        for _ in 0..<3 {
            let t0 = monotonicNow()
            for _ in 0..<1000 { guard trip() else { return nil } }
            means.append(Double(monotonicNow() - t0) / 1000 / 1000)
        }
        return Statistics.median(means)
    }

    /// 128 MiB written in 1 MiB writes to a child that reads them and acknowledges the end; the median of 3, GiB/s.
    static func socketStream(childCPUs: [Int]?, memNode: Int?) -> Double? {
        let chunk = 1 << 20, total = 128 << 20
        let (out, releaseOut) = buffer(chunk, node: memNode)
        let (sink, releaseSink) = buffer(chunk, node: memNode)
        defer { releaseOut(); releaseSink() }
        guard let (fd, pid) = forkChild(cpus: childCPUs, { fd in
            while true {
                var got = 0
                while got < total {
                    let n = Glibc.read(fd, sink.baseAddress, min(chunk, total - got))
                    if n <= 0 { return }
                    got += n
                }
                var ack: UInt8 = 1
                if Glibc.write(fd, &ack, 1) != 1 { return }
            }
        }) else { return nil }
        defer { reap(fd, pid) }
        func pass() -> Double? {
            let t0 = monotonicNow()
            var sent = 0
            while sent < total {
                let n = Glibc.write(fd, out.baseAddress! + (sent % chunk), min(chunk - sent % chunk, total - sent))
                guard n > 0 else { return nil }
                sent += n
            }
            var ack: UInt8 = 0
            guard Glibc.read(fd, &ack, 1) == 1 else { return nil }
            return Double(total) / (Double(monotonicNow() - t0) / 1e9) / Double(1 << 30)
        }
        var rates: [Double] = []
        for _ in 0..<3 { guard let r = pass() else { return nil }; rates.append(r) }
        return Statistics.median(rates)
    }

    /// memcpy of 1 MiB, 512 times per pass; the median of 3 passes, GiB/s.
    static func memcpyRate(memNode: Int?) -> Double? {
        let size = 1 << 20
        let (src, releaseSrc) = buffer(size, node: memNode)
        let (dst, releaseDst) = buffer(size, node: memNode)
        defer { releaseSrc(); releaseDst() }
        for _ in 0..<16 { memcpy(dst.baseAddress!, src.baseAddress!, size) }
        var rates: [Double] = []
        var check = 0
        for _ in 0..<3 {
            let t0 = monotonicNow()
            for i in 0..<512 {
                memcpy(dst.baseAddress!, src.baseAddress!, size)
                check &+= Int(dst.load(fromByteOffset: (i * 4099) % size, as: UInt8.self))  // the copies are used
            }
            rates.append(512.0 * Double(size) / (Double(monotonicNow() - t0) / 1e9) / Double(1 << 30))
        }
        limitsSink.store(check, ordering: .relaxed)
        return Statistics.median(rates)
    }

    /// pread of `path` in 1 MiB reads: one unmeasured pass to fill the page cache, then 3 measured passes of at
    /// least 128 MiB each (the file read repeatedly); the median, GiB/s.
    static func preadRate(path: String, memNode: Int?) -> Double? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        let chunk = min(1 << 20, size)
        let (b, release) = buffer(chunk, node: memNode)
        defer { release() }
        func readAll() -> Int? {
            var off = 0
            while off < size {
                let n = Glibc.pread(fd, b.baseAddress, min(chunk, size - off), off_t(off))
                guard n > 0 else { return nil }
                off += n
            }
            return off
        }
        guard readAll() != nil else { return nil }
        var rates: [Double] = []
        for _ in 0..<3 {
            var total = 0
            let t0 = monotonicNow()
            while total < 128 << 20 { guard let n = readAll() else { return nil }; total += n }
            rates.append(Double(total) / (Double(monotonicNow() - t0) / 1e9) / Double(1 << 30))
        }
        return Statistics.median(rates)
    }
}
