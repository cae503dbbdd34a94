#if canImport(Glibc)
import Glibc
#endif
import CShims
import Foundation
import LocalGofer
import NUMA
import P9

/// A running 9P server the bench connects to: started by the bench (builtin, inproc, diod) or external.
public final class ServerHost: @unchecked Sendable {  // mutable state (`child`, `inproc`, `control`) guarded by `lock`
    public let spec: ServerSpec
    /// The exported folder on this machine when the bench can reach it (fixtures go there), else nil.
    public let exportPath: String?
    /// The aname to attach with.
    public let aname: String
    /// The report's `server.address` (nil for a socketpair).
    public let address: String?
    /// The report's `server.transport`: socketpair|unix|tcp.
    public let transport: String

    /// The NUMA node the server's threads run on.
    public let cpuNode: Int?

    private let lock = NSLock()
    private var child: ChildProcess?
    private var inproc: Server?
    /// Builtin: our end of the control socket new connections are passed over.
    private var control: Int32 = -1
    private var runDirectory: String?
    private var diodAddress: Address?

    /// The executable re-run as `bench serve` for the builtin server (this program by default).
    public static let selfExecutable = "/proc/self/exe"
    /// Where diod is expected.
    public static let diodPath = "/usr/sbin/diod"

    /// Starts (or locates) the server of `spec` exporting `export` (a local folder; nil for an external server
    /// whose files the bench cannot reach).
    /// `cpuNode` binds the server's threads to a NUMA node (builtin, inproc, diod; ignored for an external server).
    public init(spec: ServerSpec, export: String?, aname: String?, executable: String = ServerHost.selfExecutable,
                cpuNode: Int? = nil) throws {
        self.spec = spec
        self.cpuNode = cpuNode
        switch spec {
        case .builtin:
            guard let export else { throw BenchError.server("the builtin server needs an export folder") }
            var sv: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
                throw BenchError.server("socketpair: \(String(cString: strerror(errno)))")
            }
            do {
                child = try ChildProcess([executable, "serve", "--control-fd", String(sv[1]), "--root", export]
                                            + (cpuNode.map { ["--cpu-node", String($0)] } ?? []),
                                         log: nil, keep: [sv[1]])
            } catch {
                Glibc.close(sv[0]); Glibc.close(sv[1])
                throw error
            }
            Glibc.close(sv[1])
            control = sv[0]
            exportPath = export
            self.aname = ""
            address = nil
            transport = "socketpair"
        case .inproc:
            guard let export else { throw BenchError.server("the inproc server needs an export folder") }
            // Server threads inherit the affinity of the thread that creates them.
            let fileServer = try LocalGofer(root: export)
            inproc = try Affinity.onNode(cpuNode) { Server(fileServer: fileServer, options: ServerOptions(workers: 2)) }
            exportPath = export
            self.aname = ""
            address = nil
            transport = "socketpair"
        case .diod:
            guard let export else { throw BenchError.server("diod needs an export folder") }
            guard access(ServerHost.diodPath, X_OK) == 0 else {
                throw BenchError.server("diod is not installed at \(ServerHost.diodPath) (run scripts/bootstrap, or pick another --server)")
            }
            let dir = try makeTemporaryDirectory(prefix: "bench-diod")
            runDirectory = dir
            let sock = dir + "/sock"
            // A spawned process inherits the CPU affinity of the spawning thread.
            child = try Affinity.onNode(cpuNode) {
                try ChildProcess([ServerHost.diodPath, "-f", "-n", "-N", "-c", "/dev/null", "-e", export, "-l", sock],
                                 log: dir + "/diod.log")
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
        }
    }

    deinit { stop() }

    /// A new connection to the server.
    public func connect() throws -> StreamTransport {
        switch spec {
        case .builtin:
            var sv: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
                throw BenchError.server("socketpair: \(String(cString: strerror(errno)))")
            }
            defer { Glibc.close(sv[1]) }
            let fd = lock.withLock { control }
            var byte: UInt8 = 1
            let sent = withUnsafeMutablePointer(to: &byte) { p -> Int in
                var v = iovec(iov_base: UnsafeMutableRawPointer(p), iov_len: 1)
                var passed = sv[1]
                return cshims_sendmsg_fds(fd, &v, 1, &passed, 1)
            }
            guard sent == 1 else {
                Glibc.close(sv[0])
                throw BenchError.server("the builtin server is gone (control socket: \(String(cString: strerror(errno))))")
            }
            return StreamTransport(fd: sv[0])
        case .inproc:
            guard let server = lock.withLock({ inproc }) else { throw BenchError.server("the inproc server was stopped") }
            var sv: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
                throw BenchError.server("socketpair: \(String(cString: strerror(errno)))")
            }
            try Affinity.onNode(cpuNode) { server.serve(fd: sv[1]) }  // the server owns its end; its reader thread inherits the binding
            return StreamTransport(fd: sv[0])
        case .diod:
            return try diodAddress!.connect()
        case let .external(a):
            return try a.connect()
        }
    }

    /// Kills the server at once (SIGKILL for a process, stop for inproc): used to test failure handling.
    public func kill() {
        let (c, s) = lock.withLock { (child, inproc) }
        c?.signal(SIGKILL)
        _ = c?.hasExited
        s?.stop()
    }

    /// The server's process id (builtin, diod), for tests.
    public var processID: pid_t? { lock.withLock { child?.processID } }

    /// Stops what the bench started; idempotent.
    public func stop() {
        let (c, s, ctl, dir) = lock.withLock { () -> (ChildProcess?, Server?, Int32, String?) in
            defer { child = nil; inproc = nil; control = -1; runDirectory = nil }
            return (child, inproc, control, runDirectory)
        }
        if ctl >= 0 { Glibc.close(ctl) }  // the builtin server exits when its control socket closes
        c?.stop(timeout: 5, signal: spec == .builtin ? nil : SIGTERM)
        s?.stop()
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }
}


/// mkdtemp under the temporary folder.
func makeTemporaryDirectory(prefix: String) throws -> String {
    var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw BenchError.fixture("mkdtemp: \(String(cString: strerror(errno)))")
    }
    return String(cString: p)
}
