import Foundation
import HostSupport
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A mount that did not come up (a failure, not a skip: FUSE was there).
struct MountFailed: Error, CustomStringConvertible {
    var description: String
}

/// A `gofer-mount` process serving a temporary export (builtin server) on a temporary mount point.
///
/// Skips with the reason when /dev/fuse, fusermount3 or the built executable is missing. `finish()` always leaves
/// nothing mounted: fusermount3 -u, then umount -l as the last resort.
final class MountFixture {
    let export: TemporaryDirectory
    let scratch: TemporaryDirectory
    let mountpoint: String
    let process: ChildProcess
    let log: String
    private var finished = false

    init(mode: String, extra: [String] = []) throws {
        guard access("/dev/fuse", R_OK | W_OK) == 0 else { throw XCTSkip("/dev/fuse is absent or not usable here: FUSE mounts cannot be tested") }
        guard Self.which("fusermount3") != nil else { throw XCTSkip("fusermount3 is not installed (scripts/bootstrap installs fuse3)") }
        let exe = try Self.requireExecutable("gofer-mount")
        export = try TemporaryDirectory(prefix: "gofer-mount-export")
        scratch = try TemporaryDirectory(prefix: "gofer-mount-scratch")
        log = scratch.appending("gofer-mount.log")
        try FileManager.default.createDirectory(atPath: scratch.appending("mnt"), withIntermediateDirectories: false)
        // As /proc/self/mountinfo spells it.
        mountpoint = URL(fileURLWithPath: scratch.appending("mnt")).resolvingSymlinksInPath().standardizedFileURL.path
        process = try ChildProcess([exe, "--server", "builtin", "--export", export.path, "--mode", mode] + extra + [mountpoint],
                                   log: log)
        let child = process, mp = mountpoint
        let up = waitUntil(timeout: 30) { child.hasExited || Self.isMounted(mp) }
        guard up, !process.hasExited else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            finish()
            throw MountFailed(description: "gofer-mount did not mount on \(mountpoint): \(text)")
        }
    }

    deinit { finish() }

    /// Whether /proc/self/mountinfo lists `path` as a mount point.
    static func isMounted(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        // Field 5 is the mount point (spaces escaped as \040).
        let escaped = path.replacingOccurrences(of: " ", with: "\\040")
        return text.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == escaped }
    }

    /// Unmounts with fusermount3 -u and returns gofer-mount's wait status (nil when it did not exit); the folders stay.
    @discardableResult
    func unmount() throws -> Int32? {
        let r = try Self.run(["fusermount3", "-u", mountpoint])
        XCTAssertEqual(r.status, 0, "fusermount3 -u: \(r.output)")
        let child = process
        return waitUntil(timeout: 30, { child.hasExited }) ? process.status : nil
    }

    /// Always leaves nothing mounted, the process gone and the folders removed (a failed test included).
    func finish() {
        guard !finished else { return }
        finished = true
        if Self.isMounted(mountpoint) { _ = try? Self.run(["fusermount3", "-u", mountpoint]) }
        let child = process
        if !waitUntil(timeout: 10, { child.hasExited }) { process.stop(timeout: 5) }
        if Self.isMounted(mountpoint) { _ = try? Self.run(["umount", "-l", mountpoint]) }
        export.remove()
        scratch.remove()
    }

    /// Runs `script` with /bin/sh in `directory` (the mount point by default); fails the test on a non-zero exit.
    @discardableResult
    func sh(_ script: String, in directory: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try Self.run(["/bin/sh", "-c", script], in: directory ?? mountpoint)
        XCTAssertEqual(r.status, 0, "\(script) failed:\n\(r.output)", file: file, line: line)
        return r.output
    }

    /// Runs `argv` (searched in PATH) and returns its exit status and stdout+stderr.
    static func run(_ argv: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : (which(argv[0]) ?? argv[0]))
        p.arguments = Array(argv.dropFirst())
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        env["LC_ALL"] = "C"
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for dir in dirs {
            let p = "\(dir)/\(name)"
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// An executable `swift build` put beside the test bundle, or a skip saying how to build it.
    static func requireExecutable(_ name: String) throws -> String {
        let bundle = CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0]
        let path = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("the \(name) executable is not built beside the tests; run swift build first")
        }
        return path
    }
}
