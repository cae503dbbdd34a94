import P9
import XCTest

final class ClientPoolTests: XCTestCase {
    func testTagPoolIsLIFOAndStartsAtOne() throws {
        var pool = IDPool<Tag>(what: "tags")
        XCTAssertEqual(try pool.allocate(), 1)
        XCTAssertEqual(try pool.allocate(), 2)
        XCTAssertEqual(try pool.allocate(), 3)
        XCTAssertEqual(pool.inUse, 3)
        pool.release(2)
        pool.release(3)
        XCTAssertEqual(try pool.allocate(), 3, "the most recently freed id comes back first")
        XCTAssertEqual(try pool.allocate(), 2)
        XCTAssertEqual(try pool.allocate(), 4)
        XCTAssertEqual(pool.inUse, 4)
    }

    func testTagPoolNeverHandsOutNOTAGAndReportsExhaustion() throws {
        var pool = IDPool<Tag>(first: 0xFFFC, what: "tags")
        XCTAssertEqual(pool.last, 0xFFFE)
        let got = try (0..<3).map { _ in try pool.allocate() }
        XCTAssertEqual(got, [0xFFFC, 0xFFFD, 0xFFFE])
        XCTAssertFalse(got.contains(Tag.none))
        XCTAssertThrowsError(try pool.allocate()) { error in
            XCTAssertEqual(error as? P9Error, .exhausted("tags"))
        }
        pool.release(0xFFFD)
        XCTAssertEqual(try pool.allocate(), 0xFFFD)
        XCTAssertThrowsError(try pool.allocate())
        XCTAssertEqual(pool.inUse, 3)
    }

    func testFidPoolNeverHandsOutNOFIDAndReportsExhaustion() throws {
        var pool = IDPool<FID>(first: 0xFFFF_FFFD, what: "fids")
        XCTAssertEqual(try pool.allocate(), 0xFFFF_FFFD)
        XCTAssertEqual(try pool.allocate(), 0xFFFF_FFFE)
        XCTAssertThrowsError(try pool.allocate()) { error in
            XCTAssertEqual(error as? P9Error, .exhausted("fids"))
        }
        pool.release(0xFFFF_FFFE)
        pool.release(0xFFFF_FFFD)
        XCTAssertEqual(pool.inUse, 0)
        XCTAssertEqual(try pool.allocate(), 0xFFFF_FFFD)
    }

    func testFidPoolDefaultsAvoidZeroAndNOFID() throws {
        var pool = IDPool<FID>()
        XCTAssertEqual(pool.first, 1)
        XCTAssertEqual(pool.last.rawValue, FID.none.rawValue - 1)
        XCTAssertEqual(try pool.allocate(), 1)
    }
}

final class ClientAddressTests: XCTestCase {
    func testParsesUnixAndTCP() {
        XCTAssertEqual(Address("unix:/tmp/s.sock"), .unix("/tmp/s.sock"))
        XCTAssertEqual(Address("/run/goferd.sock"), .unix("/run/goferd.sock"))
        XCTAssertEqual(Address("tcp:127.0.0.1:564"), .tcp(host: "127.0.0.1", port: 564))
        XCTAssertEqual(Address("tcp:localhost:65535"), .tcp(host: "localhost", port: 65535))
        XCTAssertEqual(Address("tcp:[::1]:5640"), .tcp(host: "::1", port: 5640))
    }

    func testRejectsMalformed() {
        for bad in ["", "unix:", "tcp:", "tcp:host", "tcp:host:", "tcp::80", "tcp:host:0", "tcp:host:65536",
                    "tcp:host:-1", "tcp:host:8x", "tcp:::1:80", "tcp:[::1:80", "tcp:[]:80", "udp:host:1", "relative/path"] {
            XCTAssertNil(Address(bad), "\(bad) should not parse")
        }
    }

    func testDescriptionRoundTrips() {
        for a in [Address.unix("/tmp/x"), .tcp(host: "127.0.0.1", port: 99), .tcp(host: "::1", port: 7)] {
            XCTAssertEqual(Address(a.description), a)
        }
        XCTAssertEqual(Address.tcp(host: "::1", port: 7).description, "tcp:[::1]:7")
        XCTAssertEqual(Address.unix("/a").transportName, "unix")
    }

    func testConnectToNothingFailsWithErrno() {
        XCTAssertThrowsError(try Address.unix("/nonexistent/dir/sock").connect())
        XCTAssertThrowsError(try StreamTransport.connect(unixPath: String(repeating: "x", count: 200)))
    }
}
