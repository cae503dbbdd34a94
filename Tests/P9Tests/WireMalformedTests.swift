import P9
import XCTest

/// Malformed input gives a specific typed WireError, never a crash.
final class WireMalformedTests: XCTestCase {
    typealias F = WireFixture

    private func expect(_ bytes: [UInt8], limit: Int = 1 << 20, _ expected: WireError,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(F.decodeAnyError(bytes, limit: limit), expected, file: file, line: line)
    }

    /// Sets the size field (bytes 0..<4) of a frame.
    private func withSize(_ bytes: [UInt8], _ size: UInt32) -> [UInt8] {
        var b = bytes
        b[0] = UInt8(size & 0xff); b[1] = UInt8(size >> 8 & 0xff); b[2] = UInt8(size >> 16 & 0xff); b[3] = UInt8(size >> 24)
        return b
    }

    func testEveryPrefixOfEveryGoldenFrameIsTruncated() {
        let frames = WireGoldenTests.allFrames
        XCTAssertEqual(frames.count, 33)
        for frame in frames {
            XCTAssertNil(F.decodeAnyError(frame), "golden frame must decode: \(frame)")
            for k in 0..<frame.count {
                let prefix = Array(frame[..<k])
                if k < Frame.headerSize {
                    expect(prefix, .truncated(field: "header", offset: 0, needed: 7, available: k))
                } else {
                    expect(prefix, .truncated(field: "frame", offset: 0, needed: frame.count, available: k))
                }
            }
        }
    }

    func testEveryShortenedBodyIsTruncated() {
        for frame in WireGoldenTests.allFrames {
            for k in 0..<(frame.count - Frame.headerSize) {
                let shortened = withSize(Array(frame[..<(Frame.headerSize + k)]), UInt32(Frame.headerSize + k))
                guard case .truncated? = F.decodeAnyError(shortened) else {
                    return XCTFail("type \(frame[4]) body cut to \(k) bytes: \(String(describing: F.decodeAnyError(shortened)))")
                }
            }
        }
    }

    func testZeroLengthAndTinySizes() {
        expect([], .truncated(field: "header", offset: 0, needed: 7, available: 0))
        expect(F.hex("06 00 00 00 64 ff ff"), .frameTooSmall(size: 6))
        expect(F.hex("00 00 00 00 64 ff ff"), .frameTooSmall(size: 0))
        expect(F.hex("00 00 00 00 64 ff ff 00 00 00 00 00"), .frameTooSmall(size: 0))
    }

    func testSizeLargerThanMsizeOrFrame() {
        let tversion = F.hex(WireGoldenTests.protocolExamples[0])
        expect(tversion, limit: 20, .frameTooLarge(size: 21, limit: 20))
        expect(withSize(tversion, 0xFFFF_FFFF), .frameTooLarge(size: 0xFFFF_FFFF, limit: 1 << 20))
        let twalk = F.hex(WireGoldenTests.protocolExamples[1])
        expect(withSize(twalk, 24), .truncated(field: "frame", offset: 0, needed: 24, available: 23))
        expect(withSize(twalk, 22), .sizeMismatch(size: 22, expected: 23))
        XCTAssertThrowsError(try F.decode(Twalk.self, twalk, limit: 22)) { XCTAssertEqual($0 as? WireError, .frameTooLarge(size: 23, limit: 22)) }
    }

    func testStringLengthPastTheEnd() {
        // Twalk, one name whose length says 256 but one byte follows.
        expect(F.hex("14 00 00 00 6e 01 00  01 00 00 00  02 00 00 00  01 00  00 01 61"),
               .truncated(field: "wname", offset: 12, needed: 256, available: 1))
        // Tversion whose version string says 5 bytes, 1 present.
        expect(F.hex("0e 00 00 00 64 ff ff  00 20 00 00  05 00 39"),
               .truncated(field: "version", offset: 6, needed: 5, available: 1))
        // Rgetxattr value length 4, 3 present.
        expect(F.hex("0c 00 00 00 23 01 00  04 00 00 ff 41"), .truncated(field: "value", offset: 2, needed: 4, available: 3))
    }

    func testCountsPastTheEnd() {
        // Rwalk: nwqid 2, one qid.
        expect(F.hex("16 00 00 00 6f 01 00  02 00  \(F.q1Hex)"), .truncated(field: "qid", offset: 2, needed: 26, available: 13))
        // Rwalkgetattr: nwqid 3, two qids (nwqid sits after valid[8] attr[132]).
        var rwga = F.hex(WireGoldenTests.rwalkgetattr)
        rwga[7 + 140] = 3
        expect(rwga, .truncated(field: "qid", offset: 142, needed: 39, available: 26))
        // Rmultigetattr: nstat 3, two stats.
        var rmga = F.hex(WireGoldenTests.rmultigetattr)
        rmga[7] = 3
        expect(rmga, .truncated(field: "stat", offset: 2, needed: 459, available: 306))
        // Rreaddir: count 51 with 50 bytes of entries.
        var rd = F.hex(WireGoldenTests.rreaddirDiod)
        rd[7] = 51
        expect(rd, .truncated(field: "data", offset: 4, needed: 51, available: 50))
        // Rreaddir: count 49 cuts the second entry's name.
        rd[7] = 49
        expect(rd, .truncated(field: "dirent.name", offset: 49, needed: 1, available: 0))
        // Rread / Twrite: count 8, 4 bytes of data.
        expect(F.hex("0f 00 00 00 75 01 00  08 00 00 00  61 62 63 64"), .truncated(field: "data", offset: 4, needed: 8, available: 4))
        expect(F.hex("1b 00 00 00 76 01 00  01 00 00 00  00 00 00 00 00 00 00 00  08 00 00 00  61 62 63 64"),
               .truncated(field: "data", offset: 16, needed: 8, available: 4))
        // Rlistxattr: 3 names announced, room for fewer than 3 length fields.
        expect(F.hex("0c 00 00 00 1d 01 00  03 00  01 00 61"), .truncated(field: "wname", offset: 2, needed: 6, available: 3))
    }

    func testUnknownTypes() {
        let known = Set(MessageType.allCases.map(\.rawValue)).subtracting([6])
        for t in 0...255 where !known.contains(UInt8(t)) {
            expect([7, 0, 0, 0, UInt8(t), 1, 0], .unknownType(UInt8(t)))
        }
        XCTAssertEqual(256 - known.count, 165)  // 9P2000.L, gVisor's extensions and Tdonateroot/Rdonateroot
        var d = WireDecoder(UnsafeRawBufferPointer(start: nil, count: 0))
        XCTAssertThrowsError(try MessageRegistry.decode(type: 200, body: &d)) { XCTAssertEqual($0 as? WireError, .unknownType(200)) }
        let rlerror = F.hex(WireGoldenTests.protocolExamples[2])
        XCTAssertThrowsError(try F.decode(Twalk.self, rlerror)) { XCTAssertEqual($0 as? WireError, .unexpectedType(expected: 110, got: 7)) }
    }

    func testSeventeenWalkNames() {
        let names = String(repeating: "01 00 61 ", count: 17)
        // 4 + 4 + 2 + 17 * 3 = 61 body bytes, 68 total (0x44).
        expect(F.hex("44 00 00 00 6e 01 00  01 00 00 00  02 00 00 00  11 00  \(names)"), .tooManyWalkNames(17))
        expect(F.hex("44 00 00 00 7e 01 00  01 00 00 00  02 00 00 00  11 00  \(names)"), .tooManyWalkNames(17))
        expect(F.hex("09 00 00 00 6f 01 00  11 00"), .tooManyWalkNames(17))
        // Sixteen is fine.
        let sixteen = String(repeating: "01 00 61 ", count: 16)
        XCTAssertNil(F.decodeAnyError(F.hex("41 00 00 00 6e 01 00  01 00 00 00  02 00 00 00  10 00  \(sixteen)")))
    }

    func testInvalidEnumsAndHeaderHelpers() {
        expect(F.hex("26 00 00 00 34 01 00  01 00 00 00  03  00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00  00 00"),
               .invalid("lock type 3"))
        expect(F.hex("08 00 00 00 35 01 00  04"), .invalid("lock status 4"))

        func rreadHeader(_ hex: String) -> WireError? {
            F.hex(hex).withUnsafeBytes { raw -> WireError? in
                do throws(WireError) { _ = try Rread.decodeHeader(raw, limit: 1 << 20); return nil } catch { return error }
            }
        }
        XCTAssertEqual(rreadHeader("0f 00 00 00 75 01 00 05 00 00 00"), .sizeMismatch(size: 15, expected: 16))
        XCTAssertEqual(rreadHeader("0b 00 00 00 07 01 00 05 00 00 00"), .unexpectedType(expected: 117, got: 7))
        XCTAssertEqual(rreadHeader("0b 00 00 00 75"), .truncated(field: "header", offset: 0, needed: 7, available: 5))
        XCTAssertEqual(rreadHeader("0b 00 00 00 75 01 00 00 00"), .truncated(field: "count", offset: 7, needed: 4, available: 2))
        XCTAssertEqual(rreadHeader("0b 00 20 00 75 01 00 00 00 20 00"), .frameTooLarge(size: 0x200000 + 11, limit: 1 << 20))
        XCTAssertNil(rreadHeader("10 00 00 00 75 01 00 05 00 00 00"))

        let twriteErr = F.hex("1b 00 00 00 76 01 00 01 00 00 00 00 00 00 00 00 00 00 00 05 00 00 00").withUnsafeBytes { raw -> WireError? in
            do throws(WireError) { _ = try Twrite.decodeHeader(raw, limit: 1 << 20); return nil } catch { return error }
        }
        XCTAssertEqual(twriteErr, .sizeMismatch(size: 27, expected: 28))
    }

    func testTrailingBytesAreIgnoredLikeBothServers() {
        // Tclunk with 2 extra body bytes.
        XCTAssertNil(F.decodeAnyError(F.hex("0d 00 00 00 78 01 00 05 00 00 00 aa bb")))
    }

    /// Deterministic mutations of the golden frames: the decoder must only ever throw WireError.
    func testMutatedFramesNeverCrash() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let frames = WireGoldenTests.allFrames
        var decoded = 0, failed = 0
        for _ in 0..<20_000 {
            var f = frames[Int(next() % UInt64(frames.count))]
            for _ in 0..<(1 + Int(next() % 4)) {
                let i = Int(next() % UInt64(f.count))
                f[i] = UInt8(truncatingIfNeeded: next())
            }
            if next() % 2 == 0 { f = Array(f[..<Int(next() % UInt64(f.count + 1))]) }
            if next() % 2 == 0, f.count >= 4 { f = withSize(f, UInt32(f.count)) }
            if F.decodeAnyError(f) == nil { decoded += 1 } else { failed += 1 }
        }
        XCTAssertEqual(decoded + failed, 20_000)
        XCTAssertGreaterThan(failed, 0)
    }
}
