import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// The client's operation list against LocalGofer, over a socketpair (FDs donated) and TCP (no FDs).
final class OperationTests: XCTestCase {
    func testOperationsOverSocketpairWithDonatedFDs() throws {
        let h = try Harness()
        let client = try h.client()
        XCTAssertEqual(client.version, 13)
        try runOperations(h, client, expectDonation: true)
        client.close()
    }

    func testOperationsOverTCPWithoutFDs() throws {
        let h = try Harness()
        let bound = try h.server.listen(.tcp(host: "127.0.0.1", port: 0))
        guard case let .tcp(_, port) = bound else { return XCTFail("not a TCP address: \(bound)") }
        XCTAssertNotEqual(port, 0)
        h.server.start()
        let client = try Client(transport: StreamTransport.connect(host: "127.0.0.1", port: port))
        XCTAssertFalse(client.transport.canCarryFDs)
        try runOperations(h, client, expectDonation: false)
        client.close()
    }

    func testUnixListenerRemovesSocketFileOnStop() throws {
        let h = try Harness()
        let path = h.tmp.appending("gofer.sock")
        try h.server.listen(.unix(path))
        h.server.start()
        let client = try Client(transport: StreamTransport.connect(unixPath: path))
        let root = try client.attach()
        XCTAssertTrue(try root.getAttr().qid.type.contains(.directory))
        client.close()
        h.server.stop()
        XCTAssertTrue(waitUntil { !h.exists(path) }, "the socket file is removed on stop")
    }

    /// Every operation of the client, with its effect checked on the host tree.
    private func runOperations(_ h: Harness, _ client: Client, expectDonation: Bool) throws {
        let root = try client.attach()
        let uid = getuid(), gid = getgid()

        // mkdir / Tumkdir
        let dirQID = try root.mkdir("dir", mode: 0o755, gid: gid, uid: uid)
        XCTAssertTrue(dirQID.type.contains(.directory))
        let (_, dir) = try root.walk(["dir"])

        // create (Tucreate): the fid becomes the open file; a host FD is donated only over a Unix socket.
        let (_, fileFid) = try dir.walk([])
        let created = try fileFid.create("data.bin", flags: .readWrite, mode: 0o644, gid: gid, uid: uid)
        XCTAssertFalse(created.qid.type.contains(.directory))
        XCTAssertEqual(created.hostFD != nil, expectDonation)

        // write through 9P, in several RPCs, then read back through 9P and through the donated FD.
        let payload = patternBytes(3 * client.payloadSize + 1234)
        let written = try payload.withUnsafeBytes { try fileFid.write(from: $0, at: 0) }
        XCTAssertEqual(written, payload.count)
        var back = [UInt8](repeating: 0, count: payload.count + 100)
        let n = try back.withUnsafeMutableBytes { try fileFid.read(into: $0, at: 0) }
        XCTAssertEqual(n, payload.count)
        XCTAssertEqual(Array(back[0..<n]), payload)
        XCTAssertEqual(try h.tmp.read("export/dir/data.bin"), payload, "host file holds what was written")
        if let fd = created.hostFD?.rawValue {
            var viaFD = [UInt8](repeating: 0, count: payload.count)
            XCTAssertEqual(pread(fd, &viaFD, viaFD.count, 0), payload.count)
            XCTAssertEqual(viaFD, payload, "the donated FD reads the same file")
            close(fd)
        }

        // open (Tlopen) of a second fid read-only: donated FD, read through it.
        let (_, reader) = try dir.walk(["data.bin"])
        let opened = try reader.open(.readOnly)
        XCTAssertEqual(opened.hostFD != nil, expectDonation)
        if let fd = opened.hostFD?.rawValue {
            var first = [UInt8](repeating: 0, count: 4096)
            XCTAssertEqual(pread(fd, &first, first.count, 0), 4096)
            XCTAssertEqual(first, Array(payload[0..<4096]))
            XCTAssertEqual(Glibc.write(fd, first, 1), -1, "the donated FD has the requested (read-only) access")
            close(fd)
        }

        // getattr / setattr (size, mtime with the not-system-time flag, mode)
        var attr = try reader.getAttr()
        XCTAssertEqual(attr.attr.size, UInt64(payload.count))
        XCTAssertEqual(attr.attr.uid, uid)
        try fileFid.setAttr([.size, .mtime, .mtimeSet, .mode],
                            SetAttr(mode: 0o600, size: 100, mtime: Timespec(sec: 1_000_000_000, nsec: 5)))
        attr = try reader.getAttr()
        XCTAssertEqual(attr.attr.size, 100)
        XCTAssertEqual(attr.attr.mtime, Timespec(sec: 1_000_000_000, nsec: 5))
        XCTAssertEqual(attr.attr.mode & 0o7777, 0o600)

        // fsync, flushf, allocate (KEEP_SIZE leaves the size; mode 0 grows it)
        try fileFid.fsync()
        try fileFid.fsync(datasync: true)
        try fileFid.flushf()
        try fileFid.allocate(mode: 0, offset: 0, length: 8192)
        XCTAssertEqual(try reader.getAttr().attr.size, 8192)

        // locks: OFD locks per open fid; a second open conflicts.
        XCTAssertEqual(try fileFid.lock(type: .writeLock, start: 0, length: 100, procID: 1, clientID: "a"), .success)
        let (_, other) = try dir.walk(["data.bin"])
        _ = try other.open(.readWrite).hostFD.map { close($0.rawValue) }
        XCTAssertEqual(try other.getLock(type: .writeLock, start: 0, length: 10, procID: 2, clientID: "b").type, .writeLock)
        XCTAssertEqual(try other.lock(type: .writeLock, start: 0, length: 10, procID: 2, clientID: "b"), .blocked)
        XCTAssertEqual(try fileFid.lock(type: .unlock, start: 0, length: 100, procID: 1, clientID: "a"), .success)
        XCTAssertEqual(try other.getLock(type: .writeLock, start: 0, length: 10, procID: 2, clientID: "b").type, .unlock)
        try other.clunk()

        // symlink + readlink, link, mknod (FIFO)
        let linkQID = try dir.symlink("sym", target: "data.bin", gid: gid, uid: uid)
        XCTAssertTrue(linkQID.type.contains(.symlink))
        let (_, sym) = try dir.walk(["sym"])
        XCTAssertEqual(try sym.readlink(), "data.bin")
        try sym.clunk()
        try dir.link(reader, name: "hard")
        XCTAssertEqual(try reader.getAttr().attr.nlink, 2)
        let fifo = try dir.mknod("fifo", mode: 0o010644, gid: gid, uid: uid)
        XCTAssertTrue(fifo.type.contains(.append), "FIFOs get the append-only QID type (gVisor)")

        // readdir: every entry, no "." or "..", in several Treaddir calls with cookies.
        let (_, lister) = try dir.walk([])
        _ = try lister.open(.readOnly).hostFD.map { close($0.rawValue) }
        var names: [String] = []
        var offset: UInt64 = 0
        while true {
            let entries = try lister.readdir(offset: offset, count: 64)  // small: forces several calls
            if entries.isEmpty { break }
            names += entries.map(\.name)
            offset = entries.last!.offset
        }
        XCTAssertEqual(names.sorted(), ["data.bin", "fifo", "hard", "sym"])
        try lister.clunk()

        // renameAt (Trenameat), rename (Trename), unlinkAt (Tunlinkat), statfs, remove
        try dir.renameAt("hard", to: root, "moved")
        XCTAssertTrue(h.exists(h.path("moved")))
        XCTAssertFalse(h.exists(h.path("dir/hard")))
        try reader.rename(to: root, name: "renamed.bin")
        XCTAssertTrue(h.exists(h.path("renamed.bin")))
        XCTAssertFalse(h.exists(h.path("dir/data.bin")))
        XCTAssertEqual(try reader.getAttr().attr.size, 8192, "the fid follows its file across the rename")
        try dir.unlinkAt("sym", flags: 0)
        try dir.unlinkAt("fifo", flags: 0)
        XCTAssertFalse(h.exists(h.path("dir/sym")))
        XCTAssertGreaterThan(try root.statfs().blockSize, 0)
        try reader.remove()
        XCTAssertFalse(h.exists(h.path("renamed.bin")))
        try fileFid.clunk()
        try root.unlinkAt("moved", flags: 0)
        try root.unlinkAt("dir", flags: 0x200)
        XCTAssertEqual(try h.listing(h.export), [".keep"])

        // setAttrClunk frees the fid.
        let (_, keep) = try root.walk([".keep"])
        try keep.setAttrClunk([.mtime, .mtimeSet], SetAttr(mtime: Timespec(sec: 12345)))
        XCTAssertEqual(try root.walkGetAttr([".keep"]).attr.mtime.sec, 12345)

        try dir.clunk()
        try root.clunk()
    }
}
