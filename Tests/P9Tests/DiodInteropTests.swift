import Foundation
import P9
import SystemPackage
import TestSupport
import XCTest

/// The client against a real diod 1.0.24 (plain 9P2000.L) over a Unix socket and over loopback TCP.
final class DiodInteropTests: XCTestCase {
    func testInteropOverUnixSocket() throws { try runInterop(.unix) }

    func testInteropOverTCP() throws { try runInterop(.tcp) }

    private func runInterop(_ listen: Diod.Listen) throws {
        try XCTSkipUnless(Diod.isInstalled, "diod is not installed at \(Diod.path)")
        let dir = try TemporaryDirectory(prefix: "diod-interop")
        defer { dir.remove() }
        let big = patternBytes(1 << 20)
        try dir.write("a/b/c/big", big)
        let deep = (1...17).map { "d\($0)" }
        try dir.write(deep.joined(separator: "/") + "/leaf", [1, 2, 3])
        let diod = try Diod(export: dir.path, listen: listen)
        defer { diod.stop() }

        let descriptorsBefore = openDescriptorCount()
        let transport = try diod.address.connect()
        XCTAssertEqual(transport.canCarryFDs, listen == .unix)
        let client = try Client(transport: transport)
        defer { client.close() }
        // diod refuses 9P2000.L.Google.13 with EIO; the client falls back to plain 9P2000.L once.
        XCTAssertEqual(client.stats.snapshot().count(.tversion), 2)
        XCTAssertEqual(client.version, 0)
        XCTAssertEqual(client.versionString, "9P2000.L")
        XCTAssertEqual(client.msize, 65536)
        XCTAssertEqual(client.payloadSize, 65512)
        XCTAssertEqual(client.extensions, [])

        let root = try client.attach(aname: dir.path)
        XCTAssertEqual(client.fidsInUse, 1)
        let before = client.stats.snapshot()
        client.stats.startTrace()

        // Walk of a 3-component path, then the file; getattr; lopen; read 1 MiB.
        let (dirQids, c) = try root.walk(["a", "b", "c"])
        XCTAssertEqual(dirQids.count, 3)
        XCTAssertTrue(dirQids.allSatisfy { $0.type.contains(.directory) })
        let (fileQids, file) = try c.walk(["big"])
        let attr = try file.getAttr()
        XCTAssertEqual(attr.qid, fileQids[0])
        XCTAssertEqual(attr.attr.size, UInt64(big.count))
        XCTAssertTrue(attr.attr.isRegular)
        let opened = try file.open(.readOnly)
        XCTAssertNil(opened.hostFD, "diod donates no descriptors")
        var got = [UInt8](repeating: 0, count: big.count + 100)
        let n = try got.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        XCTAssertEqual(n, big.count)
        XCTAssertTrue(got[..<n].elementsEqual(big), "1 MiB read back differs")
        try file.clunk()

        // Create, write, read back, fsync.
        let (_, created) = try c.walk([])
        let made = try created.create("new", flags: .readWrite, mode: 0o644)
        XCTAssertFalse(made.qid.type.contains(.directory))
        let payload = patternBytes(100_000, seed: 7)
        XCTAssertEqual(try payload.withUnsafeBytes { try created.write(from: $0, at: 0) }, payload.count)
        var back = [UInt8](repeating: 0, count: payload.count)
        XCTAssertEqual(try back.withUnsafeMutableBytes { try created.read(into: $0, at: 0) }, payload.count)
        XCTAssertEqual(back, payload)
        try created.fsync()
        try created.clunk()
        XCTAssertEqual(try dir.read("a/b/c/new"), payload)

        // mkdir, readdir listing.
        let sub = try c.mkdir("sub", mode: 0o755)
        XCTAssertTrue(sub.type.contains(.directory))
        let (_, lister) = try c.walk([])
        _ = try lister.open(.readOnly)
        var names: [String] = []
        var offset: UInt64 = 0
        while true {
            let entries = try lister.readdir(offset: offset, count: UInt32(client.payloadSize))
            guard let last = entries.last else { break }
            names += entries.map(\.name)
            offset = last.offset
        }
        try lister.clunk()
        XCTAssertEqual(Set(names).subtracting([".", ".."]), ["big", "new", "sub"])

        // renameAt and unlinkAt through their plain fallbacks (diod refuses Trenameat/Tunlinkat).
        try c.renameAt("new", to: c, "renamed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appending("a/b/c/renamed")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appending("a/b/c/new")))
        try c.unlinkAt("renamed", flags: 0)
        try c.unlinkAt("sub", flags: 0x200)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appending("a/b/c/renamed")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appending("a/b/c/sub")))
        XCTAssertThrowsError(try c.unlinkAt("missing", flags: 0)) { error in
            XCTAssertEqual((error as? P9Error)?.errno, .noSuchFileOrDirectory)
        }

        // walkGetAttr falls back to Twalk + Tgetattr.
        let wga = try root.walkGetAttr(["a", "b", "c", "big"])
        XCTAssertEqual(wga.qids.last, fileQids[0])
        XCTAssertEqual(wga.attr.size, UInt64(big.count))
        try wga.file.clunk()

        // 17 names go in two Twalks; a short walk clunks its newfid and throws ENOENT.
        let (deepQids, deepDir) = try root.walk(deep)
        XCTAssertEqual(deepQids.count, 17)
        try deepDir.clunk()
        XCTAssertThrowsError(try root.walk(["a", "b", "nope"])) { error in
            XCTAssertEqual((error as? P9Error)?.errno, .noSuchFileOrDirectory)
        }
        try c.clunk()

        let trace = client.stats.stopTrace()
        let counts = client.stats.snapshot() - before
        let expected: [MessageType: Int] = [
            .twalk: 12,  // a/b/c, big, 2 clones, renameAt, 3 unlinkAt (one missing), walkGetAttr, 2 for 17 names, short walk
            .tgetattr: 2, .tlopen: 2,
            .tread: 19,  // 1 MiB in 65512-byte chunks = 17, read back 100000 = 2
            .twrite: 2, .tlcreate: 1, .tfsync: 1, .tmkdir: 1, .treaddir: 2, .trename: 1, .tremove: 2,
            .tclunk: 8,  // big, created, lister, renameAt's, walkGetAttr's, deep, short walk's, c
        ]
        XCTAssertEqual(counts.byType, expected)
        XCTAssertEqual(trace.count, expected.values.reduce(0, +))
        XCTAssertGreaterThan(counts.bytesReceived, big.count + payload.count)
        XCTAssertGreaterThan(counts.bytesSent, payload.count)
        let renameAndUnlink = trace.map(\.type).drop { $0 != .trename }.prefix(7)
        XCTAssertEqual(Array(renameAndUnlink), [.trename, .tclunk, .twalk, .tremove, .twalk, .tremove, .twalk])
        let shortWalk = trace.suffix(3).map(\.type)
        XCTAssertEqual(shortWalk, [.twalk, .tclunk, .tclunk], "short Rwalk: newfid clunked, then c")

        try root.clunk()
        XCTAssertEqual(client.fidsInUse, 0)
        XCTAssertEqual(client.tagsInUse, 0)
        XCTAssertThrowsError(try root.getAttr(), "a clunked file refuses calls")
        client.close()
        XCTAssertEqual(openDescriptorCount(), descriptorsBefore, "the client leaked a descriptor")
    }
}
