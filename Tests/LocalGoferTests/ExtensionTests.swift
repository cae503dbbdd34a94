import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// Version negotiation and the gVisor extensions as LocalGofer serves them.
final class ExtensionTests: XCTestCase {
    func testClientOfferingN14StepsDownTo13() throws {
        let h = try Harness()
        // A gVisor-style client offering a newer N gets EAGAIN and steps down (our Client caps at 13 itself).
        let raw = try h.raw()
        XCTAssertEqual(try raw.callErrno(Tversion(msize: 1 << 20, version: "9P2000.L.Google.14"), tag: 1), EAGAIN)
        let r = try raw.call(Tversion(msize: 1 << 20, version: "9P2000.L.Google.13"), tag: 1)
        XCTAssertEqual(r.type, .rversion)
        var d = WireDecoder(UnsafeRawBufferPointer(start: r.body, count: r.body.count))
        XCTAssertEqual(try Rversion(from: &d), Rversion(msize: 1 << 20, version: "9P2000.L.Google.13"))
        XCTAssertEqual(try raw.call(Tattach(fid: 1, uname: "root", aname: "", nUname: 0)).type, .rattach)
        XCTAssertEqual(try raw.call(Tmultigetattr(fid: 1, names: [""])).type, .rmultigetattr, "N=13 messages served")

        let client = try h.client(ClientOptions(maxVersion: 14))
        XCTAssertEqual(client.version, 13)
        XCTAssertEqual(client.versionString, "9P2000.L.Google.13")
        client.close()
    }

    func testServerCappedAt5NegotiatesN5() throws {
        let h = try Harness(options: ServerOptions(maxVersion: 5, workers: 2))
        let client = try h.client()
        XCTAssertEqual(client.version, 5)
        XCTAssertEqual(client.stats.snapshot().count(.tversion), 9, "13 down to 5, one Tversion each")
        client.close()
    }

    func testVersionErrors() throws {
        let h = try Harness()
        let raw = try h.raw()
        XCTAssertEqual(try raw.callErrno(Tversion(msize: 0, version: "9P2000.L"), tag: Tag.none), EINVAL)
        XCTAssertEqual(try raw.callErrno(Tversion(msize: 65536, version: "9P2000.u"), tag: Tag.none), EINVAL)
        XCTAssertEqual(try raw.callErrno(Tversion(msize: 65536, version: "9P2000.L.Google.13.1"), tag: Tag.none), EINVAL)
        XCTAssertEqual(try raw.callErrno(Tversion(msize: 65536, version: "9P2000.L.Google.14"), tag: Tag.none), EAGAIN)
        // Above the 8 MiB ceiling: clamped, not refused.
        let r = try raw.call(Tversion(msize: 64 << 20, version: "9P2000.L"), tag: Tag.none)
        XCTAssertEqual(r.type, .rversion)
        var d = WireDecoder(UnsafeRawBufferPointer(start: r.body, count: r.body.count))
        XCTAssertEqual(try Rversion(from: &d), Rversion(msize: 8 << 20, version: "9P2000.L"))
    }

    func testPlainClientSendsNoExtension() throws {
        let h = try Harness()
        try h.tmp.write("export/a/b/file", patternBytes(100))
        let client = try h.client(ClientOptions(maxVersion: 0))
        XCTAssertEqual(client.version, 0)
        XCTAssertEqual(client.versionString, "9P2000.L")
        XCTAssertEqual(client.extensions, [])
        let root = try client.attach()
        let walked = try root.walkGetAttr(["a", "b", "file"])
        XCTAssertEqual(walked.attr.size, 100)
        let (_, dir) = try root.walk(["a"])
        _ = try dir.create("new", flags: .writeOnly, mode: 0o644, uid: getuid()).hostFD.map { close($0.rawValue) }
        let (_, parent) = try root.walk(["a"])
        try parent.unlinkAt("new", flags: 0)
        try dir.flushf()
        XCTAssertFalse(h.exists(h.path("a/new")))
        let stats = client.stats.snapshot()
        for t in MessageType.allCases where t.isRequest && t.minimumVersion >= 1 {
            XCTAssertEqual(stats.count(t), 0, "\(t) must not be sent at N=0")
        }
        XCTAssertEqual(stats.count(.twalk), 4, "walkGetAttr, walk, walk, unlinkAt's walk")
        XCTAssertEqual(stats.count(.tgetattr), 1)
        XCTAssertEqual(stats.count(.tlcreate), 1)
        XCTAssertEqual(stats.count(.tremove), 1)
        client.close()
    }

    func testWalkGetAttrAndMultiGetAttrEqualWalkPlusGetattr() throws {
        let h = try Harness()
        try h.tmp.write("export/a/b/c/file", patternBytes(4321))
        XCTAssertEqual(symlink("c/file", h.path("a/b/link")), 0)
        let client = try h.client()
        let root = try client.attach()
        let names = ["a", "b", "c", "file"]

        // Reference: one Twalk per component and a Tgetattr on each.
        var reference: [FullStat] = []
        var current = root
        for name in names {
            let (qids, next) = try current.walk([name])
            let a = try next.getAttr()
            XCTAssertEqual(qids, [a.qid])
            reference.append(FullStat(qid: a.qid, valid: a.valid, attr: a.attr))
            current = next
        }

        let fused = try root.walkGetAttr(names)
        XCTAssertEqual(fused.qids, reference.map(\.qid))
        XCTAssertEqual(fused.attr, reference.last!.attr)
        XCTAssertEqual(fused.valid, reference.last!.valid)
        XCTAssertEqual(try fused.file.getAttr().qid, reference.last!.qid)

        // An empty walkgetattr clones and returns the fid's own attributes, with no QIDs.
        let clone = try root.walkGetAttr([])
        XCTAssertEqual(clone.qids, [])
        XCTAssertEqual(clone.attr, try root.getAttr().attr)

        let before = client.stats.snapshot()
        let multi = try root.multiGetAttr([""] + names)
        XCTAssertEqual((client.stats.snapshot() - before).total, 1, "one RPC")
        XCTAssertEqual(multi.first?.qid, try root.getAttr().qid)
        XCTAssertEqual(Array(multi.dropFirst()), reference)

        // Stops without error at ENOENT, and after a non-directory (a symlink included).
        XCTAssertEqual(try root.multiGetAttr(["a", "missing", "x"]), [reference[0]])
        XCTAssertEqual(try root.multiGetAttr(["a", "b", "c", "file", "beyond"]), reference)
        let viaLink = try root.multiGetAttr(["a", "b", "link", "file"])
        XCTAssertEqual(viaLink.count, 3)
        XCTAssertTrue(viaLink[2].qid.type.contains(.symlink))
        XCTAssertEqual(errnoOf { _ = try root.multiGetAttr(["a", ".."]) }, .invalidArgument)
        XCTAssertEqual(client.fidsInUse, names.count + 3, "multigetattr creates no fid")
        client.close()
    }

    func testAuthIsAnsweredAsDiodDoesWithoutAuthentication() throws {
        // diod's libnpclient tools send Tauth first and take ENOENT for "attach without authentication".
        let h = try Harness()
        let raw = try h.raw()
        let v = try raw.call(Tversion(msize: 65536, version: "9P2000.L"), tag: Tag.none)
        XCTAssertEqual(v.type, .rversion)
        XCTAssertEqual(try raw.callErrno(Tauth(afid: 1, uname: "root", aname: "", nUname: 0), tag: 1), ENOENT)
        XCTAssertEqual(try raw.call(Tattach(fid: 1, uname: "root", aname: "", nUname: 0), tag: 2).type, .rattach,
                       "the afid named in Tauth is not taken: the attach that follows may use it")
        XCTAssertEqual(try raw.call(Tgetattr(fid: 1), tag: 3).type, .rgetattr)
    }

    func testChannelGetsENOSYSAndConnectionStaysUsable() throws {
        let h = try Harness()
        let raw = try h.raw()
        try raw.handshake()
        XCTAssertEqual(try raw.callErrno(Tchannel(id: 0, control: 0), tag: 2), ENOSYS)
        // Tauth is served (ENOENT: no authentication configured), see testAuthIsAnsweredAsDiodDoesWithoutAuthentication.
        XCTAssertEqual(try raw.callErrno(Tauth(afid: 5, uname: "root", aname: ""), tag: 3), ENOENT)
        XCTAssertEqual(try raw.callErrno(Rgetattr(valid: [], qid: QID(path: 1), attr: Attr()), tag: 4), ENOSYS,
                       "an R message sent as a request")
        try raw.send(bytes: [7, 0, 0, 0, 200, 5, 0])  // unknown type 200, empty body
        let unknown = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(unknown.type, MessageType.rlerror.rawValue)
        XCTAssertEqual(unknown.tag, 5)
        XCTAssertEqual(RawConnection.errno(unknown.body), ENOSYS)
        // Still usable: walk and getattr answer normally.
        XCTAssertEqual(try raw.call(Twalk(fid: 1, newFid: 2, names: [".keep"]), tag: 6).type, .rwalk)
        XCTAssertEqual(try raw.call(Tgetattr(fid: 2), tag: 7).type, .rgetattr)
    }

    func testPipelinedRequestsAndFlush() throws {
        let h = try Harness()
        try h.tmp.write("export/f", patternBytes(10))
        let raw = try h.raw()
        try raw.handshake()
        // 32 pipelined requests in one write: every tag is answered exactly once.
        var bytes: [UInt8] = []
        for tag in UInt16(10)..<42 { bytes += try raw.encode(Twalkgetattr(fid: 1, newFid: FID(rawValue: UInt32(tag)), names: ["f"]), tag: Tag(rawValue: tag)) }
        try raw.send(bytes: bytes)
        var seen = Set<UInt16>()
        for _ in 0..<32 {
            let r = try XCTUnwrap(try raw.receive())
            XCTAssertEqual(r.type, MessageType.rwalkgetattr.rawValue)
            XCTAssertTrue(seen.insert(r.tag.rawValue).inserted)
        }
        XCTAssertEqual(seen, Set(UInt16(10)..<42))
        // Flushing a tag that is not in flight is answered at once.
        XCTAssertEqual(try raw.call(Tflush(oldTag: 999), tag: 50).type, .rflush)
        // Flush right behind a request: either the request's reply then Rflush, or Rflush alone.
        try raw.send(bytes: try raw.encode(Tgetattr(fid: 10), tag: 60) + raw.encode(Tflush(oldTag: 60), tag: 61))
        let first = try XCTUnwrap(try raw.receive())
        if first.tag == 60 {
            XCTAssertEqual(first.type, MessageType.rgetattr.rawValue)
            let second = try XCTUnwrap(try raw.receive())
            XCTAssertEqual(second.tag, 61)
            XCTAssertEqual(second.type, MessageType.rflush.rawValue)
        } else {
            XCTAssertEqual(first.tag, 61)
            XCTAssertEqual(first.type, MessageType.rflush.rawValue)
        }
        XCTAssertEqual(try raw.call(Tclunk(fid: 10), tag: 62).type, .rclunk)
    }

    func testReadCountIsClampedToMsize() throws {
        let h = try Harness()
        try h.tmp.write("export/big", patternBytes(200_000))
        let raw = try h.raw()
        try raw.handshake()  // msize 65536
        XCTAssertEqual(try raw.call(Twalk(fid: 1, newFid: 2, names: ["big"])).type, .rwalk)
        XCTAssertEqual(try raw.call(Tlopen(fid: 2, flags: .readOnly)).type, .rlopen)
        let r = try raw.call(Tread(fid: 2, offset: 0, count: 1 << 20))
        XCTAssertEqual(r.type, .rread)
        XCTAssertEqual(r.body.count, 65536 - 7, "count[4] + data fills exactly msize")
        XCTAssertEqual(Array(r.body.dropFirst(4)), Array(patternBytes(200_000)[0..<(65536 - 11)]))
    }

    func testReadOnlyExportRefusesMutations() throws {
        let h = try Harness(options: ServerOptions(workers: 2, readOnly: true), gofer: LocalGoferOptions(readOnly: true))
        try h.tmp.write("export/f", patternBytes(10))
        let client = try h.client()
        let root = try client.attach()
        XCTAssertEqual(errnoOf { _ = try root.mkdir("d", mode: 0o755) }, .readOnlyFileSystem)
        let (_, f) = try root.walk(["f"])
        XCTAssertEqual(errnoOf { _ = try f.open(.readWrite) }, .readOnlyFileSystem)
        XCTAssertEqual(errnoOf { try f.setAttr(.size, SetAttr(size: 0)) }, .readOnlyFileSystem)
        XCTAssertEqual(errnoOf { try root.unlinkAt("f", flags: 0) }, .readOnlyFileSystem)
        let (_, dir) = try root.walk([])
        XCTAssertEqual(errnoOf { _ = try dir.create("n", flags: .readWrite, mode: 0o644) }, .readOnlyFileSystem)
        let opened = try f.open(.readOnly)
        opened.hostFD.map { _ = close($0.rawValue) }
        var buf = [UInt8](repeating: 0, count: 10)
        XCTAssertEqual(try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }, 10)
        XCTAssertEqual(try h.tmp.read("export/f"), patternBytes(10))
        XCTAssertEqual(try h.listing(h.export), [".keep", "f"])
        client.close()
    }
}
