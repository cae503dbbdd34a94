import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// Nothing outside the export is reachable through the direct resolver: every refusal is checked for its errno and
/// for the outside tree being left exactly as it was (names, contents, modes, mtimes; no new files).
final class DirectConfinementTests: XCTestCase {
    /// A folder outside the export holding `f` ("OUTSIDE") and `sub/`, and a snapshot of everything in it.
    final class Outside {
        let dir: TemporaryDirectory
        init() throws {
            dir = try TemporaryDirectory(prefix: "direct-outside")
            try dir.write("f", Array("OUTSIDE".utf8))
            try dir.write("sub/g", Array("OUTSIDE".utf8))
        }
        deinit { dir.remove() }

        var name: String { (dir.path.split(separator: "/").last).map(String.init) ?? "" }
        var fIno: UInt64 { DirectResolverTests.hostIno(dir.appending("f")) }

        /// Every path below, with its content (files), mode and mtime.
        func snapshot() throws -> [String: String] {
            var out: [String: String] = [:]
            for p in try FileManager.default.subpathsOfDirectory(atPath: dir.path) + ["."] {
                var st = stat()
                XCTAssertEqual(lstat(dir.appending(p), &st), 0)
                let content = (st.st_mode & S_IFMT) == S_IFREG ? String(decoding: try dir.read(p), as: UTF8.self) : "-"
                out[p] = "\(st.st_mode) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_size) \(content)"
            }
            return out
        }
    }

    static let modes: [FilesystemOptions] = [FilesystemOptions(mode: .exclusive, resolver: .direct),
                                             FilesystemOptions(mode: .shared, resolver: .direct)]

    /// The errno `body` fails with (nil when it succeeds).
    private func errnoOf(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let e as GoferError {
            return "\(e.errno)"
        } catch {
            return "\(error)"
        }
    }

    private let exdev = "\(GoferError(.improperLink).errno)"

    /// Every operation through `path` (a path whose resolution would leave the export) fails with `expected`.
    private func assertEveryOperationRefused(_ fs: Filesystem, through path: String, _ expected: String, _ label: String,
                                             file: StaticString = #filePath, line: UInt = #line) {
        let checks: [(String, () throws -> Void)] = [
            ("stat", { _ = try fs.stat(path + "/f") }),
            ("stat of the link itself followed", { _ = try fs.stat(path) }),
            ("open", { try fs.open(path + "/f", flags: O_RDONLY).close() }),
            ("open for writing", { try fs.open(path + "/f", flags: O_WRONLY | O_TRUNC).close() }),
            ("create", { try fs.open(path + "/evil", flags: O_WRONLY | O_CREAT | O_EXCL).close() }),
            ("mkdir", { try fs.mkdir(path + "/evil-dir") }),
            ("symlink", { try fs.symlink("x", at: path + "/evil-link") }),
            ("unlink", { try fs.unlink(path + "/f") }),
            ("rmdir", { try fs.rmdir(path + "/sub") }),
            ("rename out", { try fs.rename(path + "/f", to: "stolen") }),
            ("rename in", { try fs.rename("inside", to: path + "/planted") }),
            ("readdir", { _ = try fs.readdir(path) }),
            ("readlink", { _ = try fs.readlink(path + "/f") }),
            ("truncate", { try fs.truncate(path + "/f", size: 0) }),
            ("chmod", { try fs.chmod(path + "/f", mode: 0o777) }),
            ("setTimes", { try fs.setTimes(path + "/f", atime: Timespec(sec: 1), mtime: Timespec(sec: 1)) }),
        ]
        for (op, body) in checks {
            XCTAssertEqual(errnoOf(body), expected, "\(label): \(op) through \(path)", file: file, line: line)
        }
    }

    /// An export with `inside` (a file) and the symlinks of each case, and an outside folder next to it.
    private func setUp(_ links: [String: String]) throws -> (Fixture, Outside) {
        let fx = try Fixture(.goferd)
        let outside = try Outside()
        try fx.makePath("inside", contents: Array("inside".utf8))
        for (name, target) in links {
            let t = target.replacingOccurrences(of: "OUTSIDE", with: outside.dir.path)
                .replacingOccurrences(of: "SIBLING", with: outside.name)
            try FileManager.default.createDirectory(atPath: fx.export.appending((name as String).split(separator: "/").dropLast().joined(separator: "/")),
                                                    withIntermediateDirectories: true)
            XCTAssertEqual(Foundation.symlink(t, fx.export.appending(name)), 0, name)
        }
        return (fx, outside)
    }

    func testDotDotIsResolvedInsideTheExport() throws {
        let (fx, outside) = try setUp([:])
        let before = try outside.snapshot()
        for options in Self.modes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            // `..` above the root stays at the root, so the outside folder's name is looked up inside: missing.
            assertEveryOperationRefused(fs, through: "../\(outside.name)", "\(GoferError(.noSuchFileOrDirectory).errno)", "\(options.mode) ..")
            assertEveryOperationRefused(fs, through: "a/../../../\(outside.name)", "\(GoferError(.noSuchFileOrDirectory).errno)", "\(options.mode) ..")
        }
        XCTAssertEqual(try outside.snapshot(), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.export.appending("stolen")))
    }

    func testAbsoluteSymlinksAreRefusedWhereverTheyPoint() throws {
        let (fx, outside) = try setUp(["abs": "OUTSIDE", "d/abs": "OUTSIDE/sub", "inward": "/inside"])
        let before = try outside.snapshot()
        for options in Self.modes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            assertEveryOperationRefused(fs, through: "abs", exdev, "\(options.mode) absolute symlink")
            assertEveryOperationRefused(fs, through: "d/abs", exdev, "\(options.mode) absolute symlink below the root")
            // Absolute means the host's root, not the export's: refused even where it names nothing outside.
            XCTAssertEqual(errnoOf { _ = try fs.stat("inward") }, exdev)
            // The link itself is inside: lstat and readlink see it.
            XCTAssertTrue(try fs.lstat("abs").isSymlink)
            XCTAssertEqual(try fs.readlink("abs"), outside.dir.path)
        }
        XCTAssertEqual(try outside.snapshot(), before)
    }

    func testSymlinksToEtcAreRefused() throws {
        let (fx, _) = try setUp(["etc": "/etc", "passwd": "/etc/passwd"])
        for options in Self.modes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            XCTAssertEqual(errnoOf { _ = try fs.stat("etc/passwd") }, exdev)
            XCTAssertEqual(errnoOf { _ = try fs.stat("passwd") }, exdev)
            XCTAssertEqual(errnoOf { try fs.open("passwd", flags: O_RDONLY).close() }, exdev)
            XCTAssertEqual(errnoOf { try fs.open("etc/hostname", flags: O_RDONLY).close() }, exdev)
            XCTAssertEqual(errnoOf { _ = try fs.readdir("etc") }, exdev)
        }
    }

    func testSymlinksClimbingAboveTheRootAreRefusedAndOnesStayingInsideFollowed() throws {
        let (fx, outside) = try setUp(["up": "..", "sibling": "../SIBLING", "d/e/up2": "../../..", "d/e/in": "../../inside",
                                       "d/up-and-back": "../d/e/../../inside"])
        let before = try outside.snapshot()
        for options in Self.modes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            assertEveryOperationRefused(fs, through: "up/\(outside.name)", exdev, "\(options.mode) symlink to ..")
            assertEveryOperationRefused(fs, through: "sibling", exdev, "\(options.mode) symlink to ../outside")
            assertEveryOperationRefused(fs, through: "d/e/up2/\(outside.name)", exdev, "\(options.mode) symlink to ../../..")
            XCTAssertEqual(errnoOf { _ = try fs.stat("up") }, exdev)
            // `..` that stays beneath the root is fine.
            XCTAssertEqual(try fs.stat("d/e/in").size, 6)
            XCTAssertEqual(try fs.stat("d/up-and-back").size, 6)
            let f = try fs.open("d/e/in", flags: O_RDONLY)
            var buf = [UInt8](repeating: 0, count: 16)
            XCTAssertEqual(String(decoding: buf[..<(try buf.withUnsafeMutableBytes { try f.read(into: $0) })], as: UTF8.self), "inside")
            try f.close()
        }
        XCTAssertEqual(try outside.snapshot(), before)
    }

    func testADirectorySwappedForASymlinkIsNeverFollowedOut() throws {
        let (fx, outside) = try setUp([:])
        try fx.makePath("sw/f", contents: Array("inside".utf8))
        let before = try outside.snapshot()
        for options in Self.modes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            // Cached (Exclusive) or not (Shared), the client knew sw as a directory.
            XCTAssertEqual(try fs.stat("sw/f").size, 6)
            XCTAssertEqual(Foundation.rename(fx.export.appending("sw"), fx.export.appending("sw.orig")), 0)
            XCTAssertEqual(Foundation.symlink(outside.dir.path, fx.export.appending("sw")), 0)
            defer {
                XCTAssertEqual(unlink(fx.export.appending("sw")), 0)
                XCTAssertEqual(Foundation.rename(fx.export.appending("sw.orig"), fx.export.appending("sw")), 0)
            }
            if options.mode == .shared {
                assertEveryOperationRefused(fs, through: "sw", exdev, "shared, swapped")
            } else {
                // The trusted cache answers what it knows without asking the host (nothing outside is read) ...
                XCTAssertNotEqual(try fs.stat("sw/f").ino, outside.fIno)
                // ... and whatever it must ask the host about is refused.
                XCTAssertEqual(errnoOf { _ = try fs.stat("sw/sub") }, exdev)
                XCTAssertEqual(errnoOf { try fs.open("sw/f", flags: O_RDONLY).close() }, exdev)
                XCTAssertEqual(errnoOf { try fs.open("sw/evil", flags: O_WRONLY | O_CREAT).close() }, exdev)
                XCTAssertEqual(errnoOf { try fs.mkdir("sw/evil-dir") }, exdev)
                XCTAssertEqual(errnoOf { try fs.unlink("sw/f") }, exdev)
                XCTAssertEqual(errnoOf { try fs.truncate("sw/f", size: 0) }, exdev)
                XCTAssertEqual(errnoOf { _ = try fs.readdir("sw") }, exdev)
            }
        }
        XCTAssertEqual(try outside.snapshot(), before)
    }

    /// A directory swapped with a symlink to the outside folder over and over while the client works through it:
    /// the kernel's checks make every result either the inside file's or an error, never the outside's.
    func testADirectorySwappedMidWalkLeaksNothing() throws {
        let (fx, outside) = try setUp([:])
        try fx.makePath("race/deep/f", contents: Array("inside".utf8))
        try outside.dir.write("deep/f", Array("OUTSIDE".utf8))
        let outsideDeepIno = DirectResolverTests.hostIno(outside.dir.appending("deep/f"))
        let before = try outside.snapshot()
        let race = fx.export.appending("race"), parked = fx.export.appending("race.dir"), link = fx.export.appending("race.link")
        XCTAssertEqual(Foundation.symlink(outside.dir.path, link), 0)
        let control = SwapControl()
        let finished = DispatchSemaphore(value: 0)
        let swapper = Thread {
            // race: directory -> symlink to outside -> directory, each step an atomic rename.
            while !control.stopping {
                _ = Foundation.rename(race, parked)
                _ = Foundation.rename(link, race)
                _ = Foundation.rename(race, link)
                _ = Foundation.rename(parked, race)
                control.swapped()
            }
            finished.signal()
        }
        swapper.start()
        var inside = 0, refused = 0
        for options in Self.modes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            for i in 0..<1500 {
                if options.mode != .shared { try fs.dropCaches() }  // every walk asks the host
                if let st = try? fs.stat("race/deep/f") {
                    XCTAssertNotEqual(st.ino, outsideDeepIno, "stat reached the outside file")
                }
                do {
                    let f = try fs.open("race/deep/f", flags: O_RDONLY)
                    var buf = [UInt8](repeating: 0, count: 16)
                    let n = try buf.withUnsafeMutableBytes { try f.read(into: $0) }
                    XCTAssertEqual(String(decoding: buf[..<n], as: UTF8.self), "inside", "read the outside file")
                    try f.close()
                    inside += 1
                } catch {
                    refused += 1
                }
                try? fs.open("race/deep/evil\(i)", flags: O_WRONLY | O_CREAT | O_EXCL).close()
                try? fs.mkdir("race/deep/evil-dir\(i)")
            }
        }
        control.stop()
        finished.wait()
        XCTAssertGreaterThan(control.swaps, 0)
        XCTAssertGreaterThan(inside + refused, 0)
        XCTAssertEqual(try outside.snapshot(), before, "nothing written outside")
    }
}

/// Tells the swapping thread to stop and counts its swaps.
final class SwapControl: Sendable {
    private let state = Locked((stop: false, swaps: 0))
    var stopping: Bool { state.withLock { $0.stop } }
    var swaps: Int { state.withLock { $0.swaps } }
    func swapped() { state.withLock { $0.swaps += 1 } }
    func stop() { state.withLock { $0.stop = true } }
}
