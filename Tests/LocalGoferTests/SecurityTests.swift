import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// Every way out of the export is refused, and nothing outside it is read or written.
final class SecurityTests: XCTestCase {
    func testDotDotFromTheRootIsRefused() throws {
        let h = try Harness()
        let before = try h.outsideSnapshot()
        let client = try h.client()
        let root = try client.attach()
        XCTAssertEqual(errnoOf { _ = try root.walk([".."]) }, .invalidArgument)
        XCTAssertEqual(errnoOf { _ = try root.walk(["..", "outside", "secret"]) }, .invalidArgument)
        XCTAssertEqual(errnoOf { _ = try root.walkGetAttr([".."]) }, .invalidArgument)
        XCTAssertEqual(errnoOf { _ = try root.walk(["../outside"]) }, .invalidArgument)
        XCTAssertEqual(errnoOf { _ = try root.walk(["."]) }, .invalidArgument)
        XCTAssertEqual(errnoOf { _ = try root.multiGetAttr(["..", "outside"]) }, .invalidArgument)
        XCTAssertEqual(errnoOf { _ = try client.attach(aname: "/../outside") }, .invalidArgument)
        XCTAssertEqual(client.fidsInUse, 1, "no fid was created by a refused walk")
        XCTAssertEqual(try h.outsideSnapshot().names, before.names)
        client.close()
    }

    func testWalkThroughSymlinkToEtcIsRefused() throws {
        let h = try Harness()
        XCTAssertEqual(symlink("/etc", h.path("link")), 0)
        XCTAssertEqual(symlink(h.outside, h.path("out")), 0)
        let client = try h.client()
        let root = try client.attach()
        XCTAssertNotNil(errnoOf { _ = try root.walk(["link", "passwd"]) })
        XCTAssertNotNil(errnoOf { _ = try root.walkGetAttr(["out", "secret"]) })
        // multigetattr stops at the symlink and reports the link itself, never its target.
        let stats = try root.multiGetAttr(["link", "passwd"])
        XCTAssertEqual(stats.count, 1)
        XCTAssertTrue(stats[0].qid.type.contains(.symlink))
        // The link itself can be walked to, but not opened (that would follow it).
        let (_, link) = try root.walk(["link"])
        XCTAssertEqual(errnoOf { _ = try link.open(.readOnly) }, .tooManySymbolicLinkLevels)
        XCTAssertNotNil(errnoOf { _ = try link.readdir(offset: 0, count: 4096) })
        XCTAssertEqual(client.fidsInUse, 2)
        client.close()
    }

    func testAbsoluteSymlinkTargetIsDataNotAPath() throws {
        let h = try Harness()
        let before = try h.outsideSnapshot()
        let client = try h.client()
        let root = try client.attach()
        let target = h.outside + "/secret"
        _ = try root.symlink("abs", target: target, uid: getuid())
        let (_, abs) = try root.walk(["abs"])
        XCTAssertEqual(try abs.readlink(), target, "readlink returns the text")
        XCTAssertTrue(try abs.getAttr().attr.isSymlink, "getattr describes the link, not the target")
        XCTAssertEqual(errnoOf { _ = try abs.open(.readOnly) }, .tooManySymbolicLinkLevels)
        XCTAssertNotNil(errnoOf { _ = try root.walk(["abs", "x"]) })
        XCTAssertEqual(errnoOf { try abs.setAttr(.size, SetAttr(size: 0)) }, .invalidArgument)
        let after = try h.outsideSnapshot()
        XCTAssertEqual(after.names, before.names)
        XCTAssertEqual(after.secret, before.secret, "the target was not truncated")
        client.close()
    }

    /// A client may make FIFOs and sockets but no device node: opening one would reach host devices
    /// (a root server would otherwise create /dev/mem or a disk inside the export on request).
    func testDeviceNodesAreRefused() throws {
        let h = try Harness()
        let client = try h.client()
        let root = try client.attach()
        XCTAssertEqual(errnoOf { _ = try root.mknod("mem", mode: 0o020644, major: 1, minor: 1) }, .notPermitted)
        XCTAssertEqual(errnoOf { _ = try root.mknod("disk", mode: 0o060644, major: 8, minor: 0, uid: getuid()) }, .notPermitted)
        XCTAssertFalse(h.exists(h.path("mem")))
        XCTAssertFalse(h.exists(h.path("disk")))
        XCTAssertTrue(try root.mknod("fifo", mode: 0o010644).type.contains(.append))
        XCTAssertTrue(h.exists(h.path("fifo")))
        client.close()
    }

    func testCreateThroughSymlinkedDirectoryIsRefused() throws {
        let h = try Harness()
        XCTAssertEqual(symlink(h.outside, h.path("dirlink")), 0)
        let before = try h.outsideSnapshot()
        let client = try h.client()
        let root = try client.attach()
        let (_, link) = try root.walk(["dirlink"])
        XCTAssertNotNil(errnoOf { _ = try link.create("planted", flags: .readWrite, mode: 0o644) })
        XCTAssertNotNil(errnoOf { _ = try link.mkdir("planted-dir", mode: 0o755) })
        XCTAssertNotNil(errnoOf { _ = try link.symlink("planted-link", target: "/etc/passwd") })
        XCTAssertNotNil(errnoOf { _ = try link.mknod("planted-fifo", mode: 0o010644) })
        // Creating over an existing symlink name never follows it (O_EXCL|O_NOFOLLOW).
        XCTAssertEqual(symlink(h.outside + "/new-file", h.path("dangling")), 0)
        let (_, dir) = try root.walk([])
        XCTAssertEqual(errnoOf { _ = try dir.create("dangling", flags: .readWrite, mode: 0o644) }, .fileExists)
        XCTAssertEqual(try h.outsideSnapshot().names, before.names, "nothing appeared outside the export")
        client.close()
    }

    func testRenameOutOfTheExportIsRefused() throws {
        let h = try Harness()
        try h.tmp.write("export/victim", patternBytes(64))
        XCTAssertEqual(symlink(h.outside, h.path("dirlink")), 0)
        let before = try h.outsideSnapshot()
        let client = try h.client()
        let root = try client.attach()
        XCTAssertEqual(errnoOf { try root.renameAt("victim", to: root, "../outside/victim") }, .invalidArgument)
        XCTAssertEqual(errnoOf { try root.renameAt("victim", to: root, "..") }, .invalidArgument)
        let (_, victim) = try root.walk(["victim"])
        XCTAssertEqual(errnoOf { try victim.rename(to: root, name: "../outside/x") }, .invalidArgument)
        // A symlinked directory as the destination is not a directory fid: the host refuses.
        let (_, link) = try root.walk(["dirlink"])
        XCTAssertNotNil(errnoOf { try victim.rename(to: link, name: "x") })
        XCTAssertNotNil(errnoOf { try root.renameAt("victim", to: link, "x") })
        XCTAssertEqual(try h.tmp.read("export/victim"), patternBytes(64))
        XCTAssertEqual(try h.outsideSnapshot().names, before.names)
        client.close()
    }

    func testFidReuseAfterClunkIsEBADF() throws {
        let h = try Harness()
        let raw = try h.raw()
        try raw.handshake()
        XCTAssertEqual(try raw.call(Twalk(fid: 1, newFid: 2, names: [".keep"])).type, .rwalk)
        XCTAssertEqual(try raw.call(Tclunk(fid: 2)).type, .rclunk)
        XCTAssertEqual(try raw.callErrno(Tgetattr(fid: 2)), EBADF)
        XCTAssertEqual(try raw.callErrno(Tlopen(fid: 2, flags: .readOnly)), EBADF)
        XCTAssertEqual(try raw.callErrno(Twalk(fid: 2, newFid: 3, names: [])), EBADF)
        XCTAssertEqual(try raw.callErrno(Tclunk(fid: 2)), EBADF)
        // A failed Tremove frees the fid too.
        try h.tmp.write("export/d/inner", [])
        XCTAssertEqual(try raw.call(Twalk(fid: 1, newFid: 4, names: ["d"])).type, .rwalk)
        XCTAssertEqual(try raw.callErrno(Tremove(fid: 4)), ENOTEMPTY)
        XCTAssertEqual(try raw.callErrno(Tgetattr(fid: 4)), EBADF)
        // A walk onto a fid in use is refused and leaves both fids as they were.
        XCTAssertEqual(try raw.call(Twalk(fid: 1, newFid: 5, names: ["d"])).type, .rwalk)
        XCTAssertEqual(try raw.callErrno(Twalk(fid: 1, newFid: 5, names: [".keep"])), EBADF)
        XCTAssertEqual(try raw.call(Twalk(fid: 5, newFid: 6, names: ["inner"])).type, .rwalk, "fid 5 still names d")
    }

    func testAttachTwiceOnOneFidIsRefused() throws {
        let h = try Harness()
        let raw = try h.raw()
        try raw.handshake()
        XCTAssertEqual(try raw.callErrno(Tattach(fid: 1, uname: "root", aname: "", nUname: 0)), EBADF)
        XCTAssertEqual(try raw.callErrno(Tattach(fid: 2, afid: 7, uname: "root", aname: "", nUname: 0)), EINVAL,
                       "no auth fids")
        XCTAssertEqual(try raw.call(Tattach(fid: 2, uname: "root", aname: "/", nUname: 0)).type, .rattach)
        XCTAssertEqual(try raw.call(Tgetattr(fid: 1)).type, .rgetattr, "the first attach is intact")
    }

    func testReadOnAWriteOnlyFidIsRefused() throws {
        let h = try Harness()
        try h.tmp.write("export/w", patternBytes(100))
        let client = try h.client()
        let root = try client.attach()
        let (_, f) = try root.walk(["w"])
        let opened = try f.open(.writeOnly)
        if let fd = opened.hostFD?.rawValue {
            var b: UInt8 = 0
            XCTAssertEqual(pread(fd, &b, 1, 0), -1, "the donated FD is write-only too")
            close(fd)
        }
        var buf = [UInt8](repeating: 0, count: 100)
        XCTAssertEqual(errnoOf { _ = try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 0) } }, .badFileDescriptor)
        XCTAssertEqual(buf, [UInt8](repeating: 0, count: 100))
        XCTAssertEqual(errnoOf { _ = try f.open(.readOnly) }, .invalidArgument, "a fid is opened once")
        let (_, unopened) = try root.walk(["w"])
        XCTAssertEqual(errnoOf { _ = try buf.withUnsafeMutableBytes { try unopened.read(into: $0, at: 0) } }, .invalidArgument)
        client.close()
    }

    func testDisconnectReleasesEveryDescriptor() throws {
        let h = try Harness()
        for i in 0..<10 { try h.tmp.write("export/f\(i)", patternBytes(10)) }
        let before = openDescriptorCount()
        let client = try h.client()
        let root = try client.attach()
        var files: [ClientFile] = []
        for i in 0..<5000 {
            let (_, f) = try root.walk(["f\(i % 10)"])
            if i % 2 == 0, let fd = try f.open(.readOnly).hostFD?.rawValue { close(fd) }
            files.append(f)
        }
        XCTAssertEqual(client.fidsInUse, 5001)
        XCTAssertGreaterThanOrEqual(openDescriptorCount(), before + 7500, "the server holds a descriptor per fid")
        client.close()
        files.removeAll()
        XCTAssertTrue(waitUntil(timeout: 20) { openDescriptorCount() == before },
                      "descriptors: \(openDescriptorCount()) now, \(before) before")
        XCTAssertTrue(waitUntil { h.server.connectionCount == 0 })
    }
}
