import Foundation
import Glibc
import LocalGofer
import P9
import TestSupport
import XCTest

/// diod's own clients (libnpclient: diodcat, diodls, diodload) against our server: they send Tauth first and
/// take ENOENT for "no authentication needed"; diodload attaches the aname `ctl` and getattrs its `null`.
final class DiodClientTests: XCTestCase {
    private func tool(_ name: String) throws -> String {
        let path = "/usr/sbin/" + name
        guard access(path, X_OK) == 0 else { throw XCTSkip("\(name) is not installed (diod package)") }
        return path
    }

    /// Runs `path` with `arguments`; returns its exit status and standard output.
    private func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testDiodClientsWorkAgainstOurServer() throws {
        let diodcat = try tool("diodcat"), diodls = try tool("diodls"), diodload = try tool("diodload")
        let h = try Harness()
        try h.tmp.write("export/ctl/null", [])
        try h.tmp.write("export/ctl/hello", Array("hello from goferd\n".utf8))
        let bound = try h.server.listen(.tcp(host: "127.0.0.1", port: 0))
        guard case let .tcp(_, port) = bound else { return XCTFail("not a TCP address: \(bound)") }
        h.server.start()
        let address = "127.0.0.1:\(port)"

        let cat = try run(diodcat, ["-s", address, "-a", "ctl", "hello"])
        XCTAssertEqual(cat.status, 0, cat.output)
        XCTAssertEqual(cat.output, "hello from goferd\n")

        let ls = try run(diodls, ["-s", address, "-a", h.gofer.root])
        XCTAssertEqual(ls.status, 0, ls.output)
        XCTAssertTrue(ls.output.split(separator: "\n").contains("ctl"), ls.output)

        let load = try run(diodload, ["-s", address, "-n", "2", "-r", "1", "-g"])
        XCTAssertEqual(load.status, 0, load.output)
        let ops = load.output.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        XCTAssertGreaterThan(ops, 0, load.output)
    }
}
