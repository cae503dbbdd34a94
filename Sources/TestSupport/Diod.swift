import Foundation
import P9
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A diod 1.0.24 server process exporting a directory, for interop tests; stopped (killed and reaped) by `stop()`.
///
/// Runs `diod -f -n -N -c /dev/null -e DIR -l ADDRESS` on a Unix socket in a fresh directory or on a free
/// loopback TCP port, and returns once a connect succeeds.
public final class Diod: Sendable {
    /// Where the binary is expected.
    public static let path = "/usr/sbin/diod"
    /// Whether diod is installed (tests skip with a visible reason when not).
    public static var isInstalled: Bool { access(path, X_OK) == 0 }

    /// How diod listens.
    public enum Listen: Sendable { case unix, tcp }

    /// Why diod could not be started.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The exported directory (the aname to attach with).
    public let exportPath: String
    /// Where diod listens.
    public let address: Address
    /// diod's stderr.
    public let logPath: String
    private let runDirectory: String
    private let pid: Mutex<pid_t>

    /// Starts diod exporting `exportPath` and waits (up to `timeout` seconds) until it accepts connections.
    public init(export exportPath: String, listen: Listen = .unix, timeout: Double = 10) throws {
        self.exportPath = exportPath
        var template = Array("/tmp/diod-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StartError(description: "mkdtemp: errno \(errno)")
        }
        runDirectory = String(cString: dir)
        logPath = runDirectory + "/diod.log"
        let listenArg: String
        switch listen {
        case .unix:
            let sock = runDirectory + "/sock"
            address = .unix(sock)
            listenArg = sock
        case .tcp:
            let port = try Self.freeTCPPort()
            address = .tcp(host: "127.0.0.1", port: port)
            listenArg = "127.0.0.1:\(port)"
        }
        let child = try Self.spawn([Self.path, "-f", "-n", "-N", "-c", "/dev/null", "-e", exportPath, "-l", listenArg], log: logPath)
        pid = Mutex(child)
        let address = self.address
        var exited = false
        let ready = waitUntil(timeout: timeout) {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child { exited = true; return true }
            guard let t = try? address.connect() else { return false }
            t.close()
            return true
        }
        if exited || !ready {
            if exited { pid.withLock { $0 = 0 } }
            stop()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw StartError(description: "diod \(exited ? "exited" : "did not accept connections in \(timeout) s") on \(listenArg): \(log)")
        }
    }

    deinit { stop() }

    /// Terminates diod (SIGTERM, then SIGKILL after 5 s), reaps it and removes its run directory. Idempotent.
    public func stop() {
        let child = pid.withLock { p -> pid_t in let c = p; p = 0; return c }
        if child > 0 {
            kill(child, SIGTERM)
            var status: Int32 = 0
            let reaped = waitUntil(timeout: 5) { waitpid(child, &status, WNOHANG) == child }
            if !reaped {
                kill(child, SIGKILL)
                _ = waitpid(child, &status, 0)
            }
        }
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released).
    public static func freeTCPPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw StartError(description: "bind/getsockname: errno \(errno)") }
        return UInt16(bigEndian: addr.sin_port)
    }

    private static func spawn(_ argv: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        fflush(nil)
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cargs, environ)
        guard rc == 0 else { throw StartError(description: "posix_spawn \(argv[0]): errno \(rc)") }
        return pid
    }
}
