import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// The filesystem's operations end to end; the same suite runs against goferd and diod.
enum OperationSuite {
    static func run(_ kind: Fixture.Kind, _ options: FilesystemOptions) throws {
        let fx = try Fixture(kind)
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

final class GoferdOperationSuite: XCTestCase {
    func testSuiteExclusive() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .exclusive)) }
    func testSuiteWritethrough() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .writethrough)) }
    func testSuiteShared() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .shared)) }
    func testSuiteCacheNone() throws { try OperationSuite.run(.goferd, .cacheNone) }
    func testSuiteNoHostFDs() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .exclusive, hostFDs: false)) }
    func testSuiteVFS1() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .shared, resolver: .vfs1)) }
}

/// The same suite against diod, the independent 9P2000.L server.
final class DiodOperationSuite: XCTestCase {
    func testSuiteExclusive() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .exclusive)) }
    func testSuiteWritethrough() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .writethrough)) }
    func testSuiteShared() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .shared)) }
    func testSuiteCacheNone() throws { try OperationSuite.run(.diod, .cacheNone) }
    func testSuiteVFS1() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .shared, resolver: .vfs1)) }
}
