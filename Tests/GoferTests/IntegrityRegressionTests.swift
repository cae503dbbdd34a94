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
}
