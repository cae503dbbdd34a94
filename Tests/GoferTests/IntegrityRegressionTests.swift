import Foundation
import Glibc
import Gofer
import P9
import TestSupport
import XCTest

/// Divergences the integrity sequences found (IntegrityTests), each reduced to its few operations.
final class IntegrityRegressionTests: XCTestCase {
    /// rename(x, x) changes nothing; the caching modes used to remember x as missing (unlink then failed ENOENT).
    func testRenameOntoItselfKeepsTheName() throws {
        for mode in InteropMode.allCases {
            let fx = try Fixture(.goferd)
            let fs = try fx.filesystem(FilesystemOptions(mode: mode))
            defer { fs.release() }
            try fs.open("f", flags: O_CREAT | O_RDWR).close()
            try fs.rename("f", to: "f")
            XCTAssertEqual(try fs.stat("f").size, 0, "\(mode)")
            XCTAssertNoThrow(try fs.unlink("f"), "\(mode)")
            XCTAssertEqual((try? fx.export.read("f")) == nil, true, "\(mode): unlinked on the server")
            XCTAssertThrowsError(try fs.rename("f", to: "f"), "\(mode): a missing name renamed onto itself") { error in
                XCTAssertEqual((error as? GoferError)?.errno, .noSuchFileOrDirectory)
            }
        }
    }

    /// dropCaches must keep the directories above a file that is still open: otherwise the next lookup makes a
    /// second dentry for that file, and a size the open description changes is not the size stat reports.
    func testDropCachesKeepsTheDirectoriesAboveAnOpenFile() throws {
        for hostFDs in [true, false] {
            let fx = try Fixture(.goferd)
            let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, hostFDs: hostFDs))
            defer { fs.release() }
            try fs.mkdir("d")
            let first = try fs.open("d/f", flags: O_CREAT | O_RDWR)
            try fs.dropCaches()
            let second = try fs.open("d/f", flags: O_RDWR | O_TRUNC)
            let bytes = patternBytes(12_656, seed: 4)
            XCTAssertEqual(try bytes.withUnsafeBytes { try first.write(from: $0, at: 0) }, bytes.count)
            XCTAssertEqual(try fs.stat("d/f").size, UInt64(bytes.count), "hostFDs \(hostFDs)")
            XCTAssertEqual(second.size(), UInt64(bytes.count), "hostFDs \(hostFDs): both descriptions see one file")
            try first.fsync()
            XCTAssertEqual(try fx.export.read("d/f"), bytes)
            try first.close()
            try second.close()
        }
    }
}
