import P9
import XCTest

/// P9Version parse/format rules (PROTOCOL.md §4.1) and which N enables which message.
final class WireVersionTests: XCTestCase {
    func testValidStrings() {
        XCTAssertEqual(P9Version.parse("9P2000.L"), 0)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.0"), 0)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.1"), 1)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.13"), 13)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.14"), 14)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.013"), 13)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.0000000000000000000007"), 7)
        XCTAssertEqual(P9Version.parse("9P2000.L.Google.4294967295"), UInt32.max)
    }

    func testInvalidStrings() {
        for s in ["9P2000.L.Google.13.1", "9P2000.L.Google.0x1", "9P2000.L.Google.4294967296",
                  "9P2000.L.Google.99999999999999999999999999", "9P2000.L.Google.", "9P2000.L.Google",
                  "9P2000.L.", "9P2000.l", "9P2000.l.Google.1", "9P2000.L.google.1", "9p2000.L.Google.1",
                  "9P2000.u", "9P2000", "", "9P2000.L.Google.+1", "9P2000.L.Google.-1", "9P2000.L.Google. 1",
                  "9P2000.L.Google.1 ", " 9P2000.L", "9P2000.L ", "9P2000.L.Google.1e3", "9P2000.L.Google.١",
                  ".9P2000.L.Google.1", "9P2000.L..Google.1", "9P2000.L.Google.1_0"] {
            XCTAssertNil(P9Version.parse(s), s)
        }
    }

    func testFormatting() {
        XCTAssertEqual(P9Version.string(for: 0), "9P2000.L")
        XCTAssertEqual(P9Version.string(for: 1), "9P2000.L.Google.1")
        XCTAssertEqual(P9Version.string(for: P9Version.highest), "9P2000.L.Google.13")
        for n in UInt32(0)...20 { XCTAssertEqual(P9Version.parse(P9Version.string(for: n)), n) }
    }

    func testWhichVersionEnablesWhichMessage() {
        XCTAssertEqual(P9Version.extensions(version: 0), [])
        XCTAssertEqual(P9Version.extensions(version: 1), [.tflushf])
        XCTAssertEqual(P9Version.extensions(version: 3), [.tflushf, .twalkgetattr, .tucreate, .tumkdir, .tumknod, .tusymlink])
        XCTAssertEqual(P9Version.extensions(version: 13),
                       [.tflushf, .twalkgetattr, .tucreate, .tumkdir, .tumknod, .tusymlink, .tlconnect, .tallocate, .tchannel,
                        .tgetxattr, .tsetxattr, .tlistxattr, .tremovexattr, .tsetattrclunk, .tmultigetattr])
        XCTAssertEqual(P9Version.extensions(version: UInt32.max), P9Version.extensions(version: 13))
        let counts = (UInt32(0)...13).map { P9Version.extensions(version: $0).count }
        XCTAssertEqual(counts, [0, 1, 2, 6, 7, 7, 7, 8, 9, 9, 11, 13, 14, 15])

        XCTAssertFalse(P9Version.supports(.tflushf, version: 0))
        XCTAssertTrue(P9Version.supports(.tflushf, version: 1))
        XCTAssertTrue(P9Version.supports(.rflushf, version: 1))
        XCTAssertFalse(P9Version.supports(.tmultigetattr, version: 12))
        XCTAssertTrue(P9Version.supports(.tmultigetattr, version: 13))
        XCTAssertFalse(P9Version.supports(.tbind, version: UInt32.max))
        // The root donation is a probe no version enables (sent on N >= 1 connections; never listed as an extension).
        XCTAssertFalse(P9Version.supports(.tdonateroot, version: UInt32.max))
        XCTAssertFalse(P9Version.extensions(version: UInt32.max).contains(.tdonateroot))
        XCTAssertFalse(P9Version.supports(.rbind, version: 13))
        XCTAssertTrue(P9Version.supports(.twalk, version: 0))
        XCTAssertTrue(P9Version.supports(.tlock, version: 0))
        XCTAssertTrue(P9Version.supports(.tsetattrclunk, version: 12))
        XCTAssertFalse(P9Version.supports(.tgetxattr, version: 9))
        XCTAssertFalse(P9Version.supports(.tlistxattr, version: 10))
    }
}
