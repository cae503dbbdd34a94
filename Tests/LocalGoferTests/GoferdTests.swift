import Foundation
import Glibc
import P9
import SystemPackage
import TestSupport
import XCTest

/// The goferd executable: listens, serves, stops cleanly on SIGTERM.
final class GoferdTests: XCTestCase {
    /// goferd next to the test bundle (SwiftPM builds every product before testing).
    private func goferdURL() throws -> URL {
        // On Linux the test bundle is itself the running executable, in the products directory.
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        let url = exe.deletingLastPathComponent().appendingPathComponent("goferd")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("goferd is not built next to the tests at \(url.path)")
        }
        return url
    }

    func testServesUnixSocketAndStopsOnSIGTERM() throws {
        let tmp = try TemporaryDirectory(prefix: "goferd")
        defer { tmp.remove() }
        try tmp.write("export/hello", Array("hello".utf8))
        let socket = tmp.appending("g.sock")
        let p = Process()
        p.executableURL = try goferdURL()
        p.arguments = ["--root", tmp.appending("export"), "--listen", "unix:\(socket)", "--workers", "2", "--log-level", "warning"]
        try p.run()
        defer { if p.isRunning { p.terminate() } }

        var client: Client?
        XCTAssertTrue(waitUntil { client = try? Client(transport: StreamTransport.connect(unixPath: socket)); return client != nil })
        let c = try XCTUnwrap(client)
        XCTAssertEqual(c.version, 13)
        let root = try c.attach()
        let (_, f) = try root.walk(["hello"])
        let opened = try f.open(.readOnly)
        let fd = try XCTUnwrap(opened.hostFD, "goferd donates over a Unix socket").rawValue
        var buf = [UInt8](repeating: 0, count: 5)
        XCTAssertEqual(pread(fd, &buf, 5, 0), 5)
        XCTAssertEqual(buf, Array("hello".utf8))
        close(fd)
        c.close()

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 0)
        var st = stat()
        XCTAssertNotEqual(lstat(socket, &st), 0, "the socket file is removed")
    }

    func testServesAnInheritedSocketAndExitsWhenItCloses() throws {
        let tmp = try TemporaryDirectory(prefix: "goferd")
        defer { tmp.remove() }
        try tmp.write("export/x", patternBytes(3000))
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sv), 0)
        let p = Process()
        p.executableURL = try goferdURL()
        p.arguments = ["--root", tmp.appending("export"), "--fd", "0", "--no-donate", "--log-level", "error"]
        p.standardInput = FileHandle(fileDescriptor: sv[1], closeOnDealloc: true)
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        close(sv[1])
        let c = try Client(transport: StreamTransport(fd: sv[0]))
        let root = try c.attach()
        let (_, f) = try root.walk(["x"])
        XCTAssertNil(try f.open(.readOnly).hostFD, "--no-donate")
        var buf = [UInt8](repeating: 0, count: 3000)
        XCTAssertEqual(try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }, 3000)
        XCTAssertEqual(buf, patternBytes(3000))
        c.close()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    func testSpinsWhenAskedAndRejectsAMalformedDuration() throws {
        let tmp = try TemporaryDirectory(prefix: "goferd")
        defer { tmp.remove() }
        try tmp.write("export/x", patternBytes(100))
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sv), 0)
        let p = Process()
        p.executableURL = try goferdURL()
        p.arguments = ["--root", tmp.appending("export"), "--fd", "0", "--spin", "50us", "--log-level", "error"]
        p.standardInput = FileHandle(fileDescriptor: sv[1], closeOnDealloc: true)
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        close(sv[1])
        let c = try Client(transport: StreamTransport(fd: sv[0]), options: ClientOptions(spin: .microseconds(50)))
        let root = try c.attach()
        let (_, f) = try root.walk(["x"])
        for _ in 0..<100 { XCTAssertEqual(try f.getAttr().attr.size, 100) }
        c.close()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)

        let bad = Process()
        bad.executableURL = try goferdURL()
        bad.arguments = ["--root", tmp.appending("export"), "--listen", "unix:\(tmp.appending("s.sock"))", "--spin", "soon"]
        bad.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try bad.run()
        bad.waitUntilExit()
        XCTAssertEqual(bad.terminationStatus, 64, "a usage error")
    }

    func testRejectsBadArguments() throws {
        let p = Process()
        p.executableURL = try goferdURL()
        p.arguments = ["--root", "/nonexistent-dir", "--listen", "bogus"]
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 64, "a usage error")
    }
}
