import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// The directory descriptors a Shared direct stat keeps: bounded, closed by the client's own renames and removals,
/// dropCaches and release; a host change under them is seen on the next stat, and never leads outside the export.
final class DirectKeptDirectoryTests: XCTestCase {
    private let shared = FilesystemOptions(mode: .shared, resolver: .direct)

    /// Descriptors of this process open on directories strictly beneath `dir` (the kept ones; the root is `dir`).
    private func descriptors(beneath dir: String) -> Int {
        let prefix = (URL(fileURLWithPath: dir).resolvingSymlinksInPath().path) + "/"
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd))?.hasPrefix(prefix) ?? false
        }.count
    }

    private let enoent = "\(GoferError(.noSuchFileOrDirectory).errno)"
    private let exdev = "\(GoferError(.improperLink).errno)"

    /// The errno `body` fails with, described (nil when it succeeds).
    private func errnoOf(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let e as GoferError {
            return "\(e.errno)"
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    /// stat with no RPC sent.
    private func stat(_ fs: Filesystem, _ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> FileStat {
        let (st, types) = try rpcs(fs) { try fs.stat(path) }
        XCTAssertEqual(names(types), [], "a direct stat sends nothing", file: file, line: line)
        return st
    }

    func testKeptDescriptorsAreBoundedAndReleased() throws {
        let fx = try Fixture(.goferd)
        for i in 0..<100 { try fx.makePath("top/d\(i)/f", contents: Array("\(i)".utf8)) }
        try fx.makePath("top/g")
        let client = try fx.connect()  // the fixture holds the connection
        let before = openDescriptorCount()
        let fs = try Filesystem(client: client, options: shared)
        XCTAssertEqual(descriptors(beneath: fx.export.path), 0)
        for i in 0..<100 { XCTAssertEqual(try stat(fs, "top/d\(i)/f").size, UInt64("\(i)".utf8.count)) }
        XCTAssertEqual(fs.keptHostDescriptorCount, 64, "at most 64 kept")
        XCTAssertEqual(descriptors(beneath: fx.export.path), 64)
        // Warm: a second round keeps no more.
        for i in 36..<100 { _ = try stat(fs, "top/d\(i)/f") }
        XCTAssertEqual(descriptors(beneath: fx.export.path), 64)
        // A stat in the root keeps nothing.
        _ = try stat(fs, "top")
        XCTAssertEqual(fs.keptHostDescriptorCount, 64)

        try fs.dropCaches()
        XCTAssertEqual(fs.keptHostDescriptorCount, 0)
        XCTAssertEqual(descriptors(beneath: fx.export.path), 0, "dropCaches closes them")

        for i in 0..<10 { _ = try stat(fs, "top/d\(i)/f") }
        _ = try stat(fs, "top/g")  // keeps top
        XCTAssertEqual(descriptors(beneath: fx.export.path), 11)
        // The client's own removal and rename close what they removed or moved, and what was beneath it.
        try fs.unlink("top/d1/f")
        try fs.rmdir("top/d1")
        XCTAssertEqual(fs.keptHostDescriptorCount, 10)
        XCTAssertEqual(descriptors(beneath: fx.export.path), 10)
        try fs.rename("top/d2", to: "top/moved")
        XCTAssertEqual(descriptors(beneath: fx.export.path), 9)
        XCTAssertEqual(try stat(fs, "top/moved/f").size, 1)
        XCTAssertEqual(errnoOf { _ = try fs.stat("top/d2/f") }, enoent)
        try fs.rename("top", to: "top2")
        XCTAssertEqual(fs.keptHostDescriptorCount, 0, "every kept one was top or beneath it")
        XCTAssertEqual(try stat(fs, "top2/d3/f").size, 1)
        XCTAssertEqual(descriptors(beneath: fx.export.path), 1)

        fs.release()
        XCTAssertEqual(descriptors(beneath: fx.export.path), 0, "release closes them")
        XCTAssertTrue(waitUntil { openDescriptorCount() == before }, "no descriptor left (\(openDescriptorCount()) vs \(before))")
    }

    func testOtherModesKeepNothing() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/c")
        var none = FilesystemOptions.cacheNone
        none.resolver = .direct
        for options in [FilesystemOptions(mode: .exclusive, resolver: .direct), FilesystemOptions(mode: .shared),
                        FilesystemOptions(mode: .writethrough, resolver: .direct)] {
            let fs = try fx.filesystem(options)
            _ = try fs.stat("a/b/c")
            XCTAssertEqual(fs.keptHostDescriptorCount, 0, "\(options.mode) \(options.resolver)")
            fs.release()
        }
        let fs = try fx.filesystem(none)
        _ = try stat(fs, "a/b/c")
        XCTAssertEqual(fs.keptHostDescriptorCount, 1, "no cached metadata: kept as in Shared")
        fs.release()
    }

    func testAHostRenameOfAnIntermediateDirectoryIsSeen() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/c", contents: Array("one".utf8))
        let fs = try fx.filesystem(shared)
        defer { fs.release() }
        XCTAssertEqual(try stat(fs, "a/b/c").size, 3)
        XCTAssertEqual(try stat(fs, "a/b/c").size, 3)  // through the kept a/b
        XCTAssertEqual(fs.keptHostDescriptorCount, 1)
        XCTAssertEqual(try stat(fs, "a/b/c").size, 3)  // the second in a row through a/b keeps c itself
        XCTAssertEqual(fs.keptHostDescriptorCount, 2)
        XCTAssertEqual(try stat(fs, "a/b/c").size, 3)  // through the kept c
        // The host replaces c (a new inode): the kept c is no longer what a/b/c names.
        try fx.replace("a/b/c")
        XCTAssertEqual(try stat(fs, "a/b/c").size, 1)
        XCTAssertEqual(try stat(fs, "a/b/c").ino, DirectResolverTests.hostIno(fx.export.appending("a/b/c")))
        XCTAssertEqual(try stat(fs, "a/b/c").size, 1)

        // The host moves a away: the kept a/b no longer is what a/b names.
        XCTAssertEqual(Foundation.rename(fx.export.appending("a"), fx.export.appending("a.old")), 0)
        XCTAssertEqual(errnoOf { _ = try fs.stat("a/b/c") }, enoent)
        XCTAssertEqual(try stat(fs, "a.old/b/c").size, 1)

        // ... and puts a new tree there: the new file.
        try fx.makePath("a/b/c", contents: Array("three".utf8))
        let st = try stat(fs, "a/b/c")
        XCTAssertEqual(st.size, 5)
        XCTAssertEqual(st.ino, DirectResolverTests.hostIno(fx.export.appending("a/b/c")))

        // The parent itself replaced (renamed aside, a new directory made), between two stats.
        XCTAssertEqual(Foundation.rename(fx.export.appending("a/b"), fx.export.appending("a/b.old")), 0)
        try fx.makePath("a/b/c", contents: Array("seven..".utf8))
        XCTAssertEqual(try stat(fs, "a/b/c").size, 7)
        XCTAssertEqual(try stat(fs, "a/b/c").ino, DirectResolverTests.hostIno(fx.export.appending("a/b/c")))

        // An intermediate directory swapped for a symlink to another directory inside the export: followed there.
        XCTAssertEqual(Foundation.rename(fx.export.appending("a"), fx.export.appending("a.new")), 0)
        XCTAssertEqual(Foundation.symlink("a.old", fx.export.appending("a")), 0)
        XCTAssertEqual(try stat(fs, "a/b/c").size, 1)
        XCTAssertEqual(try stat(fs, "a/b/c").ino, DirectResolverTests.hostIno(fx.export.appending("a.old/b/c")))
        // The parent a symlink: never kept (its final component is not followed when opened), still answered.
        XCTAssertEqual(unlink(fx.export.appending("a")), 0)
        XCTAssertEqual(Foundation.rename(fx.export.appending("a.new"), fx.export.appending("a")), 0)
        XCTAssertEqual(Foundation.rename(fx.export.appending("a/b"), fx.export.appending("a/b.gone")), 0)
        XCTAssertEqual(Foundation.symlink("../a.old/b", fx.export.appending("a/b")), 0)
        for _ in 0..<3 { XCTAssertEqual(try stat(fs, "a/b/c").size, 1) }
    }

    func testAHostSymlinkReplacingAnIntermediateDirectoryNeverStatsOutside() throws {
        let fx = try Fixture(.goferd)
        let outside = try TemporaryDirectory(prefix: "kept-outside")
        defer { outside.remove() }
        // The same shape outside: a stat that went there would find b/c and a/b/c.
        try outside.write("b/c", Array("OUTSIDE!".utf8))
        try outside.write("a/b/c", Array("OUTSIDE!".utf8))
        let outsideInos = [DirectResolverTests.hostIno(outside.appending("b/c")), DirectResolverTests.hostIno(outside.appending("a/b/c"))]
        try fx.makePath("x/a/b/c", contents: Array("in".utf8))
        let outsideName = URL(fileURLWithPath: outside.path).lastPathComponent
        let depthToRoot = "../"  // from x/ to the export's root
        // Each replacement of a directory on the path x/a/b by a symlink leading outside.
        let cases: [(replaced: String, target: String)] = [
            ("x/a", outside.path), ("x/a", depthToRoot + "../" + outsideName), ("x/a/b", outside.appending("b")),
            ("x/a/b", "../" + depthToRoot + "../" + outsideName + "/b"), ("x", outside.path),
        ]
        for (replaced, target) in cases {
            let fs = try fx.filesystem(shared)
            defer { fs.release() }
            for _ in 0..<4 { XCTAssertEqual(try stat(fs, "x/a/b/c").size, 2) }
            XCTAssertEqual(fs.keptHostDescriptorCount, 2, "x/a/b and x/a/b/c kept")
            XCTAssertEqual(Foundation.rename(fx.export.appending(replaced), fx.export.appending(replaced + ".orig")), 0)
            XCTAssertEqual(Foundation.symlink(target, fx.export.appending(replaced)), 0)
            for _ in 0..<3 {
                XCTAssertEqual(errnoOf { _ = try fs.stat("x/a/b/c") }, exdev, "\(replaced) -> \(target)")
                XCTAssertEqual(errnoOf { _ = try fs.lstat("x/a/b/c") }, exdev, "\(replaced) -> \(target)")
            }
            // Inside names still answer; nothing answered came from outside.
            XCTAssertFalse(outsideInos.contains(try stat(fs, replaced + ".orig/" + String("x/a/b/c".dropFirst(replaced.count + 1))).ino))
            XCTAssertEqual(unlink(fx.export.appending(replaced)), 0)
            XCTAssertEqual(Foundation.rename(fx.export.appending(replaced + ".orig"), fx.export.appending(replaced)), 0)
        }
        XCTAssertEqual(String(decoding: try outside.read("b/c"), as: UTF8.self), "OUTSIDE!")
    }
}
