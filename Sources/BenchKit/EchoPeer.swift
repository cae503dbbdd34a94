#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HostSupport
import NUMA

/// How the server a limit stands in for runs: a separate process (builtin, diod, external) or threads of the bench (inproc).
enum ServerModel: String, Sendable {
    /// A forked child, as the builtin server, diod and an external server are.
    case process
    /// A thread of the bench, as the inproc server's are.
    case thread
}

/// The far end of a socketpair for the limits: a forked child or a thread of this process, pinned to `cpus`, running
/// `serve` on its end. It signals readiness with one byte once pinned; `cpus` is then what the kernel reports for it.
final class EchoPeer {
    /// Our end of the socketpair.
    let fd: Int32
    /// The CPUs the peer may run on, read back once it was pinned (empty when unknown).
    let cpus: [Int]
    private let pid: pid_t?
    private let finished: DispatchSemaphore?

    /// Starts the peer; nil when the socketpair, fork or thread cannot be made. `serve` runs in a forked child too, so
    /// it may only make system calls on memory prepared before (no allocation).
    init?(model: ServerModel, cpus wanted: [Int]?, serve: @escaping @Sendable (Int32) -> Void) {
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else { return nil }
        let theirs = sv[1]
        switch model {
        case .process:
            let mask = wanted.flatMap { try? CPUMask(cpus: $0) }
            // Only its own end stays open in the child: a copy of another peer's parent end would keep that peer from
            // seeing EOF when it is stopped.
            let inherited = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [])
                .compactMap { Int32($0) }.filter { $0 > 2 && $0 != theirs }
            fflush(nil)
            let child = fork()
            if child == 0 {
                for fd in inherited { Glibc.close(fd) }
                _ = mask?.apply()
                var ready: UInt8 = 1
                if Glibc.write(theirs, &ready, 1) == 1 { serve(theirs) }
                _exit(0)
            }
            Glibc.close(theirs)
            guard child > 0 else { Glibc.close(sv[0]); return nil }
            pid = child
            finished = nil
        case .thread:
            let seen = SeenCPUs()
            let done = DispatchSemaphore(value: 0)
            Thread {
                if let wanted { Affinity.bind(to: wanted) }
                seen.set(Affinity.current())
                var ready: UInt8 = 1
                if Glibc.write(theirs, &ready, 1) == 1 { serve(theirs) }
                Glibc.close(theirs)
                done.signal()
            }.start()
            pid = nil
            finished = done
            fd = sv[0]
            var ready: UInt8 = 0
            guard Glibc.read(sv[0], &ready, 1) == 1 else { Glibc.close(sv[0]); done.wait(); return nil }
            cpus = seen.get()
            return
        }
        fd = sv[0]
        var ready: UInt8 = 0
        guard Glibc.read(sv[0], &ready, 1) == 1 else {
            Glibc.close(sv[0])
            var st: Int32 = 0
            _ = waitpid(pid!, &st, 0)
            return nil
        }
        cpus = Affinity.current(pid: pid!)
    }

    /// Closes our end (the peer sees EOF and ends) and waits for the peer.
    func stop() {
        Glibc.close(fd)
        if let pid {
            var st: Int32 = 0
            _ = waitpid(pid, &st, 0)
        }
        finished?.wait()
    }

    /// A peer that sends back every byte it reads.
    static func echo(model: ServerModel, cpus: [Int]?) -> EchoPeer? {
        EchoPeer(model: model, cpus: cpus) { fd in
            var b: UInt8 = 0
            while Glibc.read(fd, &b, 1) == 1 { if Glibc.write(fd, &b, 1) != 1 { break } }
        }
    }

    /// A peer that reads `total` bytes at a time into `buffer` (at most `chunk` per read) and then acknowledges with a byte.
    static func sink(model: ServerModel, cpus: [Int]?, total: Int, chunk: Int, buffer: UnsafeMutableRawBufferPointer) -> EchoPeer? {
        let address = UInt(bitPattern: buffer.baseAddress)  // a plain number crosses into the peer; the buffer outlives it
        return EchoPeer(model: model, cpus: cpus) { fd in
            let sink = UnsafeMutableRawPointer(bitPattern: address)
            while true {
                var got = 0
                while got < total {
                    let n = Glibc.read(fd, sink, min(chunk, total - got))
                    if n <= 0 { return }
                    got += n
                }
                var ack: UInt8 = 1
                if Glibc.write(fd, &ack, 1) != 1 { return }
            }
        }
    }
}

/// The CPUs a peer thread reports once pinned, handed to the thread that started it.
private final class SeenCPUs: @unchecked Sendable {  // `cpus` guarded by `lock`
    private let lock = NSLock()
    private var cpus: [Int] = []

    func set(_ c: [Int]) { lock.withLock { cpus = c } }
    func get() -> [Int] { lock.withLock { cpus } }
}
