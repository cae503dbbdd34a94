import Foundation
import HostSupport
import P9
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
        /// What failed, with diod's log.
        public let description: String
    }

    /// The exported directory (the aname to attach with).
    public let exportPath: String
    /// Where diod listens.
    public let address: Address
    /// diod's stderr.
    public let logPath: String
    private let runDirectory: String
    private let process: ChildProcess

    /// Starts diod exporting `exportPath` and waits (up to `timeout` seconds) until it accepts connections.
    public init(export exportPath: String, listen: Listen = .unix, timeout: Double = 10) throws {
        self.exportPath = exportPath
        do { runDirectory = try makeTemporaryDirectory(prefix: "diod", in: "/tmp") } catch {
            throw StartError(description: "mkdtemp: \(error)")
        }
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
        // In the test's process group, so that a ^C stops diod with the tests.
        do {
            process = try ChildProcess([Self.path, "-f", "-n", "-N", "-c", "/dev/null", "-e", exportPath, "-l", listenArg],
                                       log: logPath, ownProcessGroup: false)
        } catch {
            try? FileManager.default.removeItem(atPath: runDirectory)
            throw StartError(description: "\(error)")
        }
        let address = self.address
        let child = process
        var exited = false
        let ready = waitUntil(timeout: timeout) {
            if child.hasExited { exited = true; return true }
            guard let t = try? address.connect() else { return false }
            t.close()
            return true
        }
        if exited || !ready {
            stop()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw StartError(description: "diod \(exited ? "exited" : "did not accept connections in \(timeout) s") on \(listenArg): \(log)")
        }
    }

    deinit { stop() }

    /// Terminates diod (SIGTERM, then SIGKILL after 5 s), reaps it and removes its run directory. Idempotent.
    public func stop() {
        process.stop(timeout: 5, signal: SIGTERM)
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
}
