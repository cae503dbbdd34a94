import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// The filesystem's operations end to end; the same suite runs against goferd and diod.
enum OperationSuite {
    static func run(_ kind: Fixture.Kind, _ options: FilesystemOptions, transport: Fixture.Transport = .socket) throws {
        let fx = try Fixture(kind, transport: transport)
        let fs = try fx.filesystem(options)
        defer { fs.release() }
        try fs.mkdir("dir", mode: 0o755)
        XCTAssertTrue(try fs.stat("dir").isDirectory)
        // create, write, read back
        let data = patternBytes(200_000, seed: 11)
        let f = try fs.open("dir/file", flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o640)
        XCTAssertEqual(try data.withUnsafeBytes { try f.write(from: $0) }, data.count)
        var back = [UInt8](repeating: 0, count: data.count)
        XCTAssertEqual(try back.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }, data.count)
        XCTAssertEqual(back, data)
        try f.fsync()
        try f.close()
        XCTAssertEqual(try fx.export.read("dir/file"), data)
        XCTAssertEqual(try fs.stat("dir/file").size, UInt64(data.count))
        XCTAssertEqual(try fs.stat("dir/file").mode & 0o777, 0o640)
        // O_EXCL on an existing name
        XCTAssertThrowsError(try fs.open("dir/file", flags: O_RDWR | O_CREAT | O_EXCL)) { XCTAssertEqual(($0 as? GoferError)?.errno, .fileExists) }
        // O_TRUNC
        let t = try fs.open("dir/file", flags: O_WRONLY | O_TRUNC)
        XCTAssertEqual(try ([9, 9] as [UInt8]).withUnsafeBytes { try t.write(from: $0) }, 2)
        try t.fsync()
        try t.close()
        XCTAssertEqual(try fx.export.read("dir/file"), [9, 9])
        // append
        let a = try fs.open("dir/file", flags: O_WRONLY | O_APPEND)
        XCTAssertEqual(try ([7] as [UInt8]).withUnsafeBytes { try a.write(from: $0) }, 1)
        try a.fsync()
        try a.close()
        XCTAssertEqual(try fx.export.read("dir/file"), [9, 9, 7])
        // truncate, chmod
        try fs.truncate("dir/file", size: 1)
        XCTAssertEqual(try fx.export.read("dir/file"), [9])
        try fs.chmod("dir/file", mode: 0o600)
        XCTAssertEqual(try fs.stat("dir/file").mode & 0o777, 0o600)
        // symlink, readlink, stat through it
        try fs.symlink("file", at: "dir/link")
        XCTAssertEqual(try fs.readlink("dir/link"), "file")
        XCTAssertTrue(try fs.lstat("dir/link").isSymlink)
        XCTAssertEqual(try fs.stat("dir/link").size, 1)
        // readdir
        XCTAssertEqual(Set(try fs.readdir("dir").map(\.name)), ["file", "link"])
        // rename
        try fs.rename("dir/file", to: "dir/renamed")
        XCTAssertThrowsError(try fs.stat("dir/file")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) }
        XCTAssertEqual(try fs.stat("dir/renamed").size, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: fx.export.appending("dir/renamed")))
        // unlink, rmdir
        try fs.unlink("dir/link")
        try fs.unlink("dir/renamed")
        XCTAssertThrowsError(try fs.unlink("dir/renamed")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) }
        try fs.rmdir("dir")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.export.appending("dir")))
        XCTAssertGreaterThan(try fs.statfs().blockSize, 0)
        // dropCaches then release: every fid back.
        try fs.dropCaches()
        fs.reclaim()
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0, "fids leaked")
    }

}

class GoferdOperationSuite: XCTestCase {
    /// How the client reaches goferd (`GoferdChannelOperationSuite` runs the suite over channels).
    var transport: Fixture.Transport { .socket }

    func testSuiteExclusive() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .exclusive), transport: transport) }
    func testSuiteWritethrough() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .writethrough), transport: transport) }
    func testSuiteShared() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .shared), transport: transport) }
    func testSuiteCacheNone() throws { try OperationSuite.run(.goferd, .cacheNone, transport: transport) }
    func testSuiteNoHostFDs() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .exclusive, hostFDs: false), transport: transport) }
    func testSuiteVFS1() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .shared, resolver: .vfs1), transport: transport) }
}

/// The same suite against diod, the independent 9P2000.L server.
class DiodOperationSuite: XCTestCase {
    /// How the client reaches diod (it refuses channels: `DiodChannelOperationSuite` checks the socket fallback).
    var transport: Fixture.Transport { .socket }

    func testSuiteExclusive() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .exclusive), transport: transport) }
    func testSuiteWritethrough() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .writethrough), transport: transport) }
    func testSuiteShared() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .shared), transport: transport) }
    func testSuiteCacheNone() throws { try OperationSuite.run(.diod, .cacheNone, transport: transport) }
    func testSuiteVFS1() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .shared, resolver: .vfs1), transport: transport) }
}

/// The suite over shared-memory channels.
final class GoferdChannelOperationSuite: GoferdOperationSuite {
    override var transport: Fixture.Transport { .channel }

    // Linux test discovery lists only a class's own methods: each inherited test is named here.
    override func testSuiteExclusive() throws { try super.testSuiteExclusive() }
    override func testSuiteWritethrough() throws { try super.testSuiteWritethrough() }
    override func testSuiteShared() throws { try super.testSuiteShared() }
    override func testSuiteCacheNone() throws { try super.testSuiteCacheNone() }
    override func testSuiteNoHostFDs() throws { try super.testSuiteNoHostFDs() }
    override func testSuiteVFS1() throws { try super.testSuiteVFS1() }
}

/// diod asked for channels: it refuses Tchannel and the suite runs over the socket.
final class DiodChannelOperationSuite: DiodOperationSuite {
    override var transport: Fixture.Transport { .channel }

    // Linux test discovery lists only a class's own methods: each inherited test is named here.
    override func testSuiteExclusive() throws { try super.testSuiteExclusive() }
    override func testSuiteWritethrough() throws { try super.testSuiteWritethrough() }
    override func testSuiteShared() throws { try super.testSuiteShared() }
    override func testSuiteCacheNone() throws { try super.testSuiteCacheNone() }
    override func testSuiteVFS1() throws { try super.testSuiteVFS1() }
}
