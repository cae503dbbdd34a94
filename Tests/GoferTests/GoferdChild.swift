import Dispatch
import Foundation
import Glibc
import P9
import TestSupport
import XCTest

/// A real goferd process serving a temporary export on a Unix socket (the fault and soak tests kill,
/// stop and measure it).
final class GoferdChild {
    let tmp: TemporaryDirectory
    let socket: String
    /// The child's process id (posix_spawn: no helper threads or descriptors in this process).
    private(set) var pid: pid_t = 0
    private var reaped = false
    var export: String { tmp.appending("export") }

    /// Starts goferd over `files` (relative path → contents) with `arguments` added, and waits until it accepts.
    init(files: [String: [UInt8]], arguments: [String] = []) throws {
        tmp = try TemporaryDirectory(prefix: "goferd-child")
        try tmp.write("export/.keep", [])
        for (path, bytes) in files { try tmp.write("export/" + path, bytes) }
        socket = tmp.appending("g.sock")
        // On Linux the test bundle is itself the running executable, in the products directory beside goferd.
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        let goferd = exe.deletingLastPathComponent().appendingPathComponent("goferd").path
        guard FileManager.default.isExecutableFile(atPath: goferd) else {
            tmp.remove()
            throw XCTSkip("goferd is not built next to the tests at \(goferd)")
        }
        let args = [goferd, "--root", export, "--listen", "unix:\(socket)", "--workers", "4", "--log-level", "error"] + arguments
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let r = posix_spawn(&pid, goferd, nil, nil, argv, environ)
        guard r == 0 else {
            tmp.remove()
            throw POSIXError(POSIXErrorCode(rawValue: r) ?? .EIO)
        }
        let up = waitUntil { (try? StreamTransport.connect(unixPath: socket))?.close() != nil }
        if !up { stop() }
        XCTAssertTrue(up, "goferd accepts on \(socket)")
    }

    deinit { stop() }

    /// A new client connection.
    func connect(_ options: ClientOptions = ClientOptions()) throws -> Client {
        try Client(transport: StreamTransport.connect(unixPath: socket), options: options)
    }

    /// Waits for goferd to exit and reaps it; returns its wait status.
    @discardableResult
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        if !reaped { while waitpid(pid, &status, 0) < 0 && errno == EINTR {} }
        reaped = true
        return status
    }

    /// Kills goferd (if it still runs), reaps it and removes the export.
    func stop() {
        if !reaped {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            waitForExit()
        }
        tmp.remove()
    }

    /// Descriptors goferd has open.
    var descriptorCount: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }

    /// goferd's resident memory in bytes.
    var residentBytes: Int { residentMemory(of: "\(pid)") }
}

/// VmRSS of /proc/PID/status ("self" for this process), in bytes.
func residentMemory(of pid: String = "self") -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return -1 }
    return kb * 1024
}


/// Monotonic nanoseconds.
func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// A thread running `body`, joinable with a timeout.
final class Worker: @unchecked Sendable {  // `error` is written before `done` is signalled and read after
    private let done = DispatchSemaphore(value: 0)
    private(set) var error: Error?

    init(_ body: @escaping @Sendable () throws -> Void) {
        let t = Thread { [self] in
            do { try body() } catch { self.error = error }
            self.done.signal()
        }
        t.start()
    }

    /// True when the thread finished within `timeout` seconds.
    func join(timeout: Double = 10) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}
