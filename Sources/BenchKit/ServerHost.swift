#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HostSupport
import LocalGofer
import P9

/// A running 9P server the bench connects to: started by the bench (builtin, inproc, diod) or external.
public final class ServerHost: @unchecked Sendable {  // mutable state (`child`, `inproc`, `control`) guarded by `lock`
    /// Which server this is.
    public let spec: ServerSpec
    /// The exported folder on this machine when the bench can reach it (fixtures go there), else nil.
    public let exportPath: String?
    /// The aname to attach with.
    public let aname: String
    /// The report's `server.address` (nil for a socketpair).
    public let address: String?
    /// The report's `server.transport`: socketpair|unix|tcp.
    public let transport: String

    /// The CPUs the server's threads are pinned to (nil: unpinned).
    public let cpus: [Int]?
    /// How long the builtin or inproc server polls a socket before a blocking read (nil: not at all, or another server).
    public let spin: Duration?

    private let lock = NSLock()
    private var child: ChildProcess?
    private var inproc: Server?
    /// Builtin: our end of the control socket new connections are passed over.
    private var control: StreamTransport?
    private var runDirectory: String?
    private var diodAddress: Address?

    /// The executable re-run as `bench serve` for the builtin server (this program by default).
    public static let selfExecutable = "/proc/self/exe"
    /// Where diod is expected.
    public static let diodPath = "/usr/sbin/diod"

    /// Starts (or locates) the server of `spec` exporting `export` (a local folder; nil for an external server
    /// whose files the bench cannot reach).
    /// `cpus` pins the server's threads (builtin, inproc, diod; ignored for an external server): a child is spawned
    /// from a thread pinned to them, and inproc threads are made by one; every thread inherits the pinning.
    /// `spin` makes the builtin and inproc servers poll a socket that long before a blocking read (diod has no such option).
    public init(spec: ServerSpec, export: String?, aname: String?, executable: String = ServerHost.selfExecutable,
                cpus: [Int]? = nil, spin: Duration? = nil) throws {
        self.spec = spec
        if case .external = spec { self.cpus = nil } else { self.cpus = cpus }
        self.spin = spec == .builtin || spec == .inproc ? spin : nil
        switch spec {
        case .builtin:
            guard let export else { throw BenchError.server("the builtin server needs an export folder") }
            let (ours, theirs) = try socketPair()
            defer { Glibc.close(theirs) }  // the child holds its own copy
            do {
                child = try Affinity.on(cpus: cpus) {
                    let spinArgs = spin.map { ["--spin-us", String($0.components.seconds * 1_000_000 + $0.components.attoseconds / 1_000_000_000_000)] } ?? []
                    return try ChildProcess([executable, "serve", "--control-fd", String(theirs), "--root", export] + spinArgs,
                                            log: nil, keep: [theirs])
                }
            } catch {
                Glibc.close(ours)
                throw BenchError.server("\(error)")
            }
            control = StreamTransport(fd: ours)
            exportPath = export
            self.aname = ""
            address = nil
            transport = "socketpair"
        case .inproc:
            guard let export else { throw BenchError.server("the inproc server needs an export folder") }
            // Server threads inherit the affinity of the thread that creates them.
            let fileServer = try LocalGofer(root: export)
            inproc = try Affinity.on(cpus: cpus) { Server(fileServer: fileServer, options: ServerOptions(workers: 2, spin: spin, channels: 4)) }
            exportPath = export
            self.aname = ""
            address = nil
            transport = "socketpair"
        case .diod:
            guard let export else { throw BenchError.server("diod needs an export folder") }
            guard access(ServerHost.diodPath, X_OK) == 0 else {
                throw BenchError.server("diod is not installed at \(ServerHost.diodPath) (run scripts/bootstrap, or pick another --server)")
            }
            let dir = try temporaryDirectory(prefix: "bench-diod")
            runDirectory = dir
            let sock = dir + "/sock"
            // A spawned process inherits the CPU affinity of the spawning thread.
            child = try Affinity.on(cpus: cpus) {
                do {
                    return try ChildProcess([ServerHost.diodPath, "-f", "-n", "-N", "-c", "/dev/null", "-e", export, "-l", sock],
                                            log: dir + "/diod.log")
                } catch {
                    throw BenchError.server("\(error)")
                }
            }
            let a = Address.unix(sock)
            diodAddress = a
            exportPath = export
            self.aname = export
            address = a.description
            transport = "unix"
            let deadline = Date().addingTimeInterval(10)
            var up = false
            while Date() < deadline, !(child?.hasExited ?? true) {
                if let t = try? a.connect() { t.close(); up = true; break }
                usleep(5000)
            }
            if !up {
                let log = (try? String(contentsOfFile: dir + "/diod.log", encoding: .utf8)) ?? ""
                stop()
                throw BenchError.server("diod did not start on \(sock): \(log)")
            }
        case let .external(a):
            exportPath = export
            self.aname = aname ?? ""
            address = a.description
            transport = a.transportName
        case .native:
            throw BenchError.server("the native floor has no server (plain syscalls on a local folder)")
        }
    }

    deinit { stop() }

    /// A new connection to the server.
    public func connect() throws -> StreamTransport {
        switch spec {
        case .builtin:
            let (ours, theirs) = try socketPair()
            defer { Glibc.close(theirs) }  // the server receives its own copy (closed, not shut down: that would end it)
            guard let control = lock.withLock({ control }) else {
                Glibc.close(ours)
                throw BenchError.server("the builtin server was stopped")
            }
            // One byte carries the server's end of the new connection (SCM_RIGHTS).
            let byte: [UInt8] = [1]
            do {
                try byte.withUnsafeBytes { try control.send($0, fds: [theirs]) }
            } catch {
                Glibc.close(ours)
                throw BenchError.server("the builtin server is gone (control socket: \(error))")
            }
            return StreamTransport(fd: ours)
        case .inproc:
            guard let server = lock.withLock({ inproc }) else { throw BenchError.server("the inproc server was stopped") }
            let (ours, theirs) = try socketPair()
            try Affinity.on(cpus: cpus) { server.serve(fd: theirs) }  // the server owns its end; its reader thread inherits the pinning
            return StreamTransport(fd: ours)
        case .diod:
            return try diodAddress!.connect()
        case let .external(a):
            return try a.connect()
        case .native:
            throw BenchError.server("the native floor has no server to connect to")
        }
    }

    /// Kills the server at once (SIGKILL for a process, stop for inproc): used to test failure handling.
    public func kill() {
        let (c, s) = lock.withLock { (child, inproc) }
        c?.signal(SIGKILL)
        _ = c?.hasExited
        s?.stop()
    }

    /// Stops the server's process (SIGSTOP) until `stop`, so that it answers nothing more: used to test deadlines.
    /// Returns false when the server has no process of the bench's (inproc, external) or it is gone.
    public func suspend() -> Bool { lock.withLock { child }?.suspend() ?? false }

    /// The server's process id (builtin, diod): its CPU time and its threads' placement are read through it.
    public var processID: pid_t? { lock.withLock { child?.processID } }

    /// Stops what the bench started; idempotent.
    public func stop() {
        let (c, s, ctl, dir) = lock.withLock { () -> (ChildProcess?, Server?, StreamTransport?, String?) in
            defer { child = nil; inproc = nil; control = nil; runDirectory = nil }
            return (child, inproc, control, runDirectory)
        }
        ctl?.close()  // the builtin server exits when its control socket closes
        c?.signal(SIGCONT)  // a suspended server runs on to see that
        c?.stop(timeout: 5, signal: spec == .builtin ? nil : SIGTERM)
        s?.stop()
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }
}


/// A connected pair of Unix stream sockets (close-on-exec), as raw descriptors: one end is passed on.
func socketPair() throws -> (Int32, Int32) {
    var sv: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
        throw BenchError.server("socketpair: \(String(cString: strerror(errno)))")
    }
    return (sv[0], sv[1])
}
