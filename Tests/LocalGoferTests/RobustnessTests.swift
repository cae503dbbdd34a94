import Dispatch
import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// A frame that cannot be parsed closes only its own connection.
final class RobustnessTests: XCTestCase {
    private func assertClosedByServer(_ raw: RawConnection, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(try raw.receive(), "the server closed the connection", file: file, line: line)
    }

    func testMalformedFramesCloseOnlyTheirConnection() throws {
        let h = try Harness()
        try h.tmp.write("export/f", patternBytes(1000))
        let good = try h.client()
        let root = try good.attach()

        // size < 7
        let tiny = try h.raw()
        try tiny.handshake()
        try tiny.send(bytes: [3, 0, 0, 0, 110, 1, 0])
        try assertClosedByServer(tiny)

        // size > msize
        let huge = try h.raw()
        try huge.handshake()  // msize 65536
        try huge.send(bytes: [0x01, 0x00, 0x01, 0x00, 116, 1, 0] + [UInt8](repeating: 0, count: 16))
        try assertClosedByServer(huge)

        // a truncated body: Twalk claiming two names but carrying one
        let truncated = try h.raw()
        try truncated.handshake()
        let walk: [UInt8] = [4, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0, 0x61]
        try truncated.send(bytes: [UInt8(7 + walk.count), 0, 0, 0, 110, 2, 0] + walk)
        try assertClosedByServer(truncated)

        // nwname above 16
        let many = try h.raw()
        try many.handshake()
        try many.send(Twalk(fid: 1, newFid: 2, names: Array(repeating: "a", count: 17)), tag: 3)
        try assertClosedByServer(many)

        // The well-behaved connection keeps working, and the server dropped the broken ones.
        let (_, f) = try root.walk(["f"])
        _ = try f.open(.readOnly).hostFD.map { close($0.rawValue) }
        var buf = [UInt8](repeating: 0, count: 1000)
        XCTAssertEqual(try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }, 1000)
        XCTAssertEqual(buf, patternBytes(1000))
        XCTAssertTrue(waitUntil { h.server.connectionCount == 1 })
        good.close()
    }

    func testClientsInParallelOnOneServer() throws {
        let h = try Harness()
        for i in 0..<4 { try h.tmp.write("export/f\(i)", patternBytes(100_000, seed: UInt64(i + 1))) }
        let clients = try (0..<4).map { _ in try h.client(ClientOptions(msize: 64 << 10)) }
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            do {
                let root = try clients[i].attach()
                for _ in 0..<20 {
                    let (_, f) = try root.walk(["f\(i)"])
                    _ = try f.open(.readOnly).hostFD.map { close($0.rawValue) }
                    var buf = [UInt8](repeating: 0, count: 100_000)
                    let n = try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
                    if n != 100_000 || buf != patternBytes(100_000, seed: UInt64(i + 1)) { failures.withLock { $0 += 1 } }
                    try f.clunk()
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        for c in clients { c.close() }
    }

    func testOneClientManyThreads() throws {
        let h = try Harness()
        for i in 0..<4 { try h.tmp.write("export/f\(i)", patternBytes(50_000, seed: UInt64(i + 7))) }
        let client = try h.client(ClientOptions(msize: 16 << 10))  // several Treads per file, interleaved on one socket
        let root = try client.attach()
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                for _ in 0..<10 {
                    let (_, f) = try root.walk(["f\(i % 4)"])
                    _ = try f.open(.readOnly).hostFD.map { close($0.rawValue) }
                    var buf = [UInt8](repeating: 0, count: 50_000)
                    let n = try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
                    if n != 50_000 || buf != patternBytes(50_000, seed: UInt64(i % 4 + 7)) { failures.withLock { $0 += 1 } }
                    try f.clunk()
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        XCTAssertEqual(client.fidsInUse, 1)
        XCTAssertEqual(client.tagsInUse, 0)
        client.close()
    }

    func testCIDRMatching() {
        let net = CIDR("10.1.0.0/16")!
        XCTAssertTrue(net.contains([10, 1, 200, 3]))
        XCTAssertFalse(net.contains([10, 2, 0, 1]))
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1]
        XCTAssertTrue(CIDR.loopback.contains { $0.contains(mapped) }, "IPv4-mapped loopback")
        XCTAssertTrue(CIDR("::1")!.contains([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))
        XCTAssertNil(CIDR("10.0.0.0/33"))
        XCTAssertNil(CIDR("not-an-address"))
        XCTAssertEqual(CIDR("192.168.0.0/24")?.description, "192.168.0.0/24")
    }
}
