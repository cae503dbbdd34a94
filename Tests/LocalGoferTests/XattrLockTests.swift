import CShims
import Foundation
import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// goferd's xattrs (gVisor messages and 9P2000.L xattr fids), OFD locks between clients, FIFOs and links, checked
/// against the host.
final class XattrLockTests: XCTestCase {
    /// The host's value of `name` on `path`, or nil when unset.
    private func hostXattr(_ path: String, _ name: String) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, $0.count) }
        return n < 0 ? nil : Array(buf[..<n])
    }

    private func expectErrno(_ e: Errno, _ body: () throws -> Void, _ line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual(($0 as? P9Error)?.errno, e, "\($0)", line: line) }
    }

    /// Sets, reads, lists and removes at version `n`, with the message types each call sends.
    private func roundTrip(version n: UInt32, expect: [String: [String]]) throws {
        let h = try Harness()
        try h.tmp.write("export/f", Array("data".utf8))
        let client = try h.client(ClientOptions(maxVersion: n))
        XCTAssertEqual(client.version, n)
        let root = try client.attach()
        let (_, f) = try root.walk(["f"])
        let fidsBefore = client.fidsInUse
        func types(_ body: () throws -> Void) rethrows -> [String] {
            client.stats.startTrace()
            defer { _ = client.stats.stopTrace() }
            try body()
            return client.stats.stopTrace().map(\.type.description)
        }
        let value = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        XCTAssertEqual(try types { try f.setXattr("user.big", value: value) }, expect["set"])
        XCTAssertEqual(hostXattr(h.path("f"), "user.big"), value)
        var got: [UInt8] = []
        XCTAssertEqual(try types { got = try f.getXattr("user.big") }, expect["get"])
        XCTAssertEqual(got, value)
        try f.setXattr("user.two", value: [1])
        var names: [String] = []
        XCTAssertEqual(try types { names = try f.listXattr() }, expect["list"])
        XCTAssertEqual(Set(names), ["user.big", "user.two"])
        expectErrno(.fileExists) { try f.setXattr("user.two", value: [2], flags: 1) }
        expectErrno(.noData) { try f.setXattr("user.none", value: [2], flags: 2) }
        XCTAssertEqual(hostXattr(h.path("f"), "user.two"), [1], "XATTR_CREATE left the value")
        try f.setXattr("user.two", value: [3], flags: 2)
        XCTAssertEqual(hostXattr(h.path("f"), "user.two"), [3])
        XCTAssertEqual(try types { try f.removeXattr("user.big") }, expect["remove"])
        XCTAssertNil(hostXattr(h.path("f"), "user.big"))
        expectErrno(.noData) { _ = try f.getXattr("user.big") }
        expectErrno(.noData) { try f.removeXattr("user.big") }
        expectErrno(.notSupported) { try f.setXattr("trusted.x", value: [1]) }
        XCTAssertNil(hostXattr(h.path("f"), "trusted.x"))
        XCTAssertEqual(client.fidsInUse, fidsBefore, "every xattr fid was clunked")
    }

    func testGVisorMessagesAtVersion13() throws {
        try roundTrip(version: 13, expect: [
            "set": ["Tsetxattr"], "get": ["Tgetxattr"], "list": ["Tlistxattr"], "remove": ["Tremovexattr"],
        ])
    }

    func testXattrFidsAtVersion0() throws {
        try roundTrip(version: 0, expect: [
            "set": ["Twalk", "Txattrcreate", "Twrite", "Tclunk"], "get": ["Txattrwalk", "Tread", "Tclunk"],
            "list": ["Txattrwalk", "Tread", "Tclunk"], "remove": ["Twalk", "Txattrcreate", "Tclunk"],
        ])
    }

    func testShortXattrWriteFailsAtClunkAndFreesTheFid() throws {
        let h = try Harness()
        try h.tmp.write("export/f", [])
        let raw = try h.raw()
        XCTAssertEqual(try raw.call(Tversion(msize: 65536, version: "9P2000.L"), tag: Tag.none).type, .rversion)
        XCTAssertEqual(try raw.call(Tattach(fid: 1, uname: "root", aname: "", nUname: 0)).type, .rattach)
        XCTAssertEqual(try raw.call(Twalk(fid: 1, newFid: 2, names: ["f"])).type, .rwalk)
        XCTAssertEqual(try raw.call(Txattrcreate(fid: 2, name: "user.a", attrSize: 4, flags: 0)).type, .rxattrcreate)
        let two: [UInt8] = [1, 2]
        XCTAssertEqual(try two.withUnsafeBytes { try raw.call(Twrite(fid: 2, offset: 0, data: $0)).type }, .rwrite)
        XCTAssertEqual(try two.withUnsafeBytes { try raw.callErrno(Twrite(fid: 2, offset: 3, data: $0)) }, EINVAL,
                       "past the declared size")
        XCTAssertEqual(try raw.callErrno(Tclunk(fid: 2)), EINVAL, "2 of 4 bytes written")
        XCTAssertEqual(try raw.callErrno(Tclunk(fid: 2)), EBADF, "the fid is gone all the same")
        XCTAssertNil(hostXattr(h.path("f"), "user.a"))
        XCTAssertEqual(try raw.callErrno(Txattrwalk(fid: 1, newFid: 3, name: "user.a")), ENODATA)
        XCTAssertEqual(try raw.callErrno(Tclunk(fid: 3)), EBADF, "a failed Txattrwalk binds no fid")
    }

    func testLockConflictBetweenClientsIsBlockedUntilUnlocked() throws {
        let h = try Harness()
        try h.tmp.write("export/f", [UInt8](repeating: 0, count: 100))
        let a = try h.client(), b = try h.client()
        let (_, fa) = try a.attach().walk(["f"])
        let (_, fb) = try b.attach().walk(["f"])
        _ = try fa.open(.readWrite)
        _ = try fb.open(.readWrite)
        XCTAssertEqual(try fa.lock(type: .writeLock, start: 0, length: 10, procID: 1, clientID: "a"), .success)
        XCTAssertEqual(try fb.lock(type: .readLock, start: 5, length: 10, procID: 2, clientID: "b"), .blocked)
        XCTAssertEqual(try fb.lock(type: .writeLock, start: 10, length: 10, procID: 2, clientID: "b"), .success, "no overlap")
        let conflict = try fb.getLock(type: .writeLock, start: 0, length: 0, procID: 2, clientID: "b")
        XCTAssertEqual(conflict.type, .writeLock)
        XCTAssertEqual(conflict.start, 0)
        XCTAssertEqual(conflict.length, 10)
        XCTAssertEqual(try fa.lock(type: .unlock, start: 0, length: 10, procID: 1, clientID: "a"), .success)
        XCTAssertEqual(try fb.getLock(type: .writeLock, start: 0, length: 10, procID: 2, clientID: "b").type, .unlock)
        XCTAssertEqual(try fb.lock(type: .readLock, start: 5, length: 10, procID: 2, clientID: "b"), .success)
    }

    func testFIFOIsMadeAndDevicesAreRefused() throws {
        let h = try Harness()
        let root = try h.client().attach()
        let qid = try root.mknod("pipe", mode: 0o010640)
        XCTAssertEqual(qid.type, .append)
        var st = stat()
        XCTAssertEqual(lstat(h.path("pipe"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
        XCTAssertEqual(st.st_mode & 0o777, 0o640)
        expectErrno(.notPermitted) { _ = try root.mknod("null", mode: 0o020666, major: 1, minor: 3) }
        expectErrno(.notPermitted) { _ = try root.mknod("disk", mode: 0o060600, major: 8, minor: 0) }
        XCTAssertFalse(h.exists(h.path("null")))
        XCTAssertFalse(h.exists(h.path("disk")))
    }

    func testLinkNamesTheSameInodeAndRefusesAnExistingName() throws {
        let h = try Harness()
        try h.tmp.write("export/f", Array("abc".utf8))
        try h.tmp.write("export/g", [])
        let root = try h.client().attach()
        let (_, f) = try root.walk(["f"])
        try root.link(f, name: "h")
        var a = stat(), b = stat()
        XCTAssertEqual(lstat(h.path("f"), &a), 0)
        XCTAssertEqual(lstat(h.path("h"), &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino)
        XCTAssertEqual(a.st_nlink, 2)
        expectErrno(.fileExists) { try root.link(f, name: "g") }
        expectErrno(.invalidArgument) { try root.link(f, name: "..") }
        let (_, dir) = try root.walk([])
        expectErrno(.notPermitted) { try root.link(dir, name: "rootlink") }
    }
}
