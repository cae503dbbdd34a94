import BenchKit
import Foundation
import HostSupport
import P9
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// An executable `swift build` put beside the test bundle (bench, goferd), or nil when it is not built.
func builtExecutable(_ name: String) -> String? {
    let path = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        .deletingLastPathComponent().appendingPathComponent(name).path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

/// The built executable `name`, or a skip that says how to build it.
func requireExecutable(_ name: String) throws -> String {
    guard let path = builtExecutable(name) else {
        throw XCTSkip("the \(name) executable is not built beside the tests; run swift build first")
    }
    return path
}

/// The `goferd` executable serving `root` on a Unix socket in a folder of its own (never inside `root`'s parent).
final class GoferdProcess {
    let process: ChildProcess
    let runDirectory: TemporaryDirectory
    /// "unix:PATH".
    let address: String

    init(root: String) throws {
        let exe = try requireExecutable("goferd")
        runDirectory = try TemporaryDirectory(prefix: "goferd-run")
        let socket = runDirectory.appending("sock")
        address = "unix:" + socket
        process = try ChildProcess([exe, "--root", root, "--listen", address, "--log-level", "warning"],
                                   log: runDirectory.appending("goferd.log"), ownProcessGroup: false)
        let a = Address.unix(socket), child = process
        let up = waitUntil(timeout: 20) {
            if child.hasExited { return true }
            guard let t = try? a.connect() else { return false }
            t.close()
            return true
        }
        guard up, !process.hasExited else {
            let log = (try? String(contentsOfFile: runDirectory.appending("goferd.log"), encoding: .utf8)) ?? ""
            stop()
            throw XCTSkip("goferd did not start on \(socket): \(log)")
        }
    }

    deinit { stop() }

    func stop() {
        process.stop(timeout: 5)
        runDirectory.remove()
    }
}

/// Everything under `path` (relative names, "." for `path` itself): type, size, contents and mtime of files, the
/// target of symlinks; folders by name only, except `path` itself whose mtime is kept when `rootTime` is set.
func treeSnapshot(_ path: String, rootTime: Bool = false) -> [String: String] {
    var out: [String: String] = [:]
    func describe(_ full: String) -> String {
        var st = stat()
        guard lstat(full, &st) == 0 else { return "missing" }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return "dir"
        case S_IFLNK: return "link " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")
        default:
            let data = FileManager.default.contents(atPath: full) ?? Data()
            return "file \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(Array(data).hashValue)"
        }
    }
    var root = stat()
    if rootTime, stat(path, &root) == 0 { out["."] = "dir \(root.st_mtim.tv_sec).\(root.st_mtim.tv_nsec)" }
    guard let names = FileManager.default.enumerator(atPath: path) else { return out }
    for case let name as String in names { out[name] = describe(path + "/" + name) }
    return out
}

/// A parent folder P holding the export A (a file, a folder with a file, a symlink) and a sentinel file beside A.
final class ExportTree {
    let parent: TemporaryDirectory
    var export: String { parent.appending("A") }
    var sentinel: String { parent.appending("sentinel") }

    init() throws {
        parent = try TemporaryDirectory(prefix: "bench-tree")
        try parent.write("A/kept.txt", Array("kept".utf8))
        try parent.write("A/sub/inner.bin", patternBytes(3000))
        try FileManager.default.createSymbolicLink(atPath: parent.appending("A/link"), withDestinationPath: "kept.txt")
        try parent.write("sentinel", Array("do not touch".utf8))
    }

    /// The export's contents and the parent's (its own mtime, the sentinel's mtime and bytes, A's contents).
    func snapshot() -> (parent: [String: String], export: [String: String]) {
        (treeSnapshot(parent.path, rootTime: true), treeSnapshot(export))
    }

    func remove() { parent.remove() }
}
