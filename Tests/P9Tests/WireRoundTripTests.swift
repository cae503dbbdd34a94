import P9
import XCTest

/// Encode then decode gives an equal value, for every message type.
final class WireRoundTripTests: XCTestCase {
    private var covered = Set<MessageType>()

    private func roundTrip<M: Message & Equatable>(_ m: M, tag: Tag = 0x1234, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = try WireFixture.encode(m, tag: tag)
        XCTAssertEqual(Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24, bytes.count, "size field", file: file, line: line)
        XCTAssertEqual(bytes[4], M.type.rawValue, file: file, line: line)
        let (gotTag, decoded) = try WireFixture.decode(M.self, bytes)
        XCTAssertEqual(gotTag, tag, file: file, line: line)
        XCTAssertEqual(decoded, m, file: file, line: line)
        // The type-erased path gives the same value.
        let any = try bytes.withUnsafeBytes { raw in try Frame.decodeAny(frame: raw, limit: bytes.count) }
        XCTAssertEqual(any.tag, tag, file: file, line: line)
        XCTAssertEqual(any.message as? M, m, file: file, line: line)
        XCTAssertEqual(try WireFixture.encodeAny(any.message, tag: tag), bytes, file: file, line: line)
        covered.insert(M.type)
    }

    func testEveryMessageTypeRoundTrips() throws {
        let q1 = WireFixture.q1, q2 = WireFixture.q2, attr = WireFixture.attr
        let setAttr = SetAttr(mode: 0o640, uid: 7, gid: 8, size: 1 << 40, atime: Timespec(sec: 11, nsec: 12), mtime: Timespec(sec: 13, nsec: 14))
        try roundTrip(Rlerror(errno: 2))
        try roundTrip(Tstatfs(fid: 1))
        try roundTrip(Rstatfs(stat: StatFS(type: 0x0102_1997, blockSize: 4096, blocks: 1, blocksFree: 2, blocksAvailable: 3,
                                           files: 4, filesFree: 5, fsID: 6, nameLength: 255)))
        try roundTrip(Tlopen(fid: 2, flags: [.readWrite, .truncate, .noFollow]))
        try roundTrip(Rlopen(qid: q2, ioUnit: 8192))
        try roundTrip(Tlcreate(fid: 3, name: "new file", flags: [.writeOnly, .create, .exclusive], mode: 0o644, gid: 100))
        try roundTrip(Rlcreate(qid: q2, ioUnit: 0))
        try roundTrip(Tsymlink(directoryFid: 4, name: "link", target: "../target/ü", gid: Frame.noGID))
        try roundTrip(Rsymlink(qid: QID(type: .symlink, version: 0, path: 99)))
        try roundTrip(Tmknod(directoryFid: 4, name: "fifo", mode: 0o010644, major: 1, minor: 3, gid: 5))
        try roundTrip(Rmknod(qid: q2))
        try roundTrip(Trename(fid: 5, directoryFid: 6, name: "renamed"))
        try roundTrip(Rrename())
        try roundTrip(Treadlink(fid: 7))
        try roundTrip(Rreadlink(target: "/a/b/c"))
        try roundTrip(Tgetattr(fid: 8, requestMask: .basic))
        try roundTrip(Rgetattr(valid: .all, qid: q1, attr: attr))
        try roundTrip(Tsetattr(fid: 9, valid: [.mode, .size, .atime, .atimeSet, .mtime, .mtimeSet], attr: setAttr))
        try roundTrip(Rsetattr())
        try roundTrip(Tlistxattr(fid: 10, size: 4096))
        try roundTrip(Rlistxattr(names: ["user.a", "security.selinux", ""]))
        try roundTrip(Txattrwalk(fid: 10, newFid: 11, name: ""))
        try roundTrip(Rxattrwalk(size: 123))
        try roundTrip(Txattrcreate(fid: 11, name: "user.x", attrSize: 17, flags: 1))
        try roundTrip(Rxattrcreate())
        try roundTrip(Tgetxattr(fid: 10, name: "user.y", size: 64))
        try roundTrip(Rgetxattr(value: [0, 1, 2, 0xff]))
        try roundTrip(Tsetxattr(fid: 10, name: "user.z", value: Array(repeating: 0xab, count: 300), flags: 2))
        try roundTrip(Rsetxattr())
        try roundTrip(Tremovexattr(fid: 10, name: "user.z"))
        try roundTrip(Rremovexattr())
        try roundTrip(Treaddir(fid: 12, offset: 0x7FFF_FFFF_FFFF_FFFF, count: 65512))
        try roundTrip(Rreaddir(entries: [Dirent(qid: q1, offset: 1, name: "dir"), Dirent(qid: q2, offset: 2, name: "file"),
                                         Dirent(qid: QID(type: .symlink, path: 3), offset: 3, name: "sym")]))
        try roundTrip(Rreaddir(entries: []))
        try roundTrip(Tfsync(fid: 13, datasync: 1))
        try roundTrip(Tfsync(fid: 13))
        try roundTrip(Rfsync())
        try roundTrip(Tlock(fid: 14, type: .writeLock, flags: .block, start: 10, length: 0, procID: 77, clientID: "host"))
        try roundTrip(Rlock(status: .blocked))
        try roundTrip(Tgetlock(fid: 14, type: .readLock, start: 0, length: 100, procID: 78, clientID: "h2"))
        try roundTrip(Rgetlock(type: .unlock, start: 0, length: 0, procID: 0, clientID: ""))
        try roundTrip(Tlink(directoryFid: 15, fid: 16, name: "hard"))
        try roundTrip(Rlink())
        try roundTrip(Tmkdir(directoryFid: 15, name: "sub", mode: 0o755, gid: 20))
        try roundTrip(Rmkdir(qid: q1))
        try roundTrip(Trenameat(oldDirectoryFid: 15, oldName: "a", newDirectoryFid: 16, newName: "b"))
        try roundTrip(Rrenameat())
        try roundTrip(Tunlinkat(directoryFid: 15, name: "sub", flags: Tunlinkat.removeDirectory))
        try roundTrip(Runlinkat())
        try roundTrip(Tversion(msize: 1 << 20, version: P9Version.string(for: 13)), tag: Tag.none)
        try roundTrip(Rversion(msize: 65536, version: "9P2000.L"))
        try roundTrip(Tauth(afid: 1, uname: "root", aname: "/export", nUname: 0))
        try roundTrip(Rauth(qid: QID(type: .auth, path: 1)))
        try roundTrip(Tattach(fid: 0, afid: FID.none, uname: "", aname: "/tmp/x", nUname: 1000))
        try roundTrip(Rattach(qid: q1))
        try roundTrip(Tflush(oldTag: 3))
        try roundTrip(Rflush())
        try roundTrip(Twalk(fid: 1, newFid: 2, names: (0..<16).map { "n\($0)" }))
        try roundTrip(Twalk(fid: 1, newFid: 2, names: []))
        try roundTrip(Rwalk(qids: [q1, q2]))
        try roundTrip(Tread(fid: 3, offset: 4096, count: 65512))
        try roundTrip(Rwrite(count: 5))
        try roundTrip(Tclunk(fid: 17))
        try roundTrip(Rclunk())
        try roundTrip(Tremove(fid: 18))
        try roundTrip(Rremove())
        try roundTrip(Tflushf(fid: 19))
        try roundTrip(Rflushf())
        try roundTrip(Twalkgetattr(fid: 1, newFid: 20, names: ["a", "b", "c"]))
        try roundTrip(Rwalkgetattr(valid: .all, attr: attr, qids: [q1, q1, q2]))
        try roundTrip(Rwalkgetattr(valid: .basic, attr: attr, qids: []))
        try roundTrip(Tucreate(fid: 21, name: "u", flags: [.readWrite, .create], mode: 0o600, gid: 5, uid: 6))
        try roundTrip(Rucreate(qid: q2, ioUnit: 1))
        try roundTrip(Tumkdir(directoryFid: 21, name: "ud", mode: 0o700, gid: 5, uid: 6))
        try roundTrip(Rumkdir(qid: q1))
        try roundTrip(Tumknod(directoryFid: 21, name: "un", mode: 0o020600, major: 4, minor: 64, gid: 5, uid: 6))
        try roundTrip(Rumknod(qid: q2))
        try roundTrip(Tusymlink(directoryFid: 21, name: "us", target: "x", gid: 5, uid: 6))
        try roundTrip(Rusymlink(qid: q2))
        try roundTrip(Tlconnect(fid: 22, socketType: 3))
        try roundTrip(Rlconnect())
        try roundTrip(Tallocate(fid: 23, mode: 0x03, offset: 1 << 33, length: 4096))
        try roundTrip(Rallocate())
        try roundTrip(Tsetattrclunk(fid: 24, valid: [.uid, .gid, .ctime], attr: setAttr))
        try roundTrip(Rsetattrclunk())
        try roundTrip(Tmultigetattr(fid: 25, names: [""] + (0..<20).map { "m\($0)" }))
        try roundTrip(Rmultigetattr(stats: [FullStat(qid: q1, valid: .all, attr: attr), FullStat(qid: q2, valid: .basic, attr: Attr())]))
        try roundTrip(Rmultigetattr(stats: []))
        try roundTrip(Tbind(directoryFid: 26, socketType: 0, name: "sock", uid: 1, gid: 2, newFid: 27))
        try roundTrip(Rbind(qid: q2, valid: .all, attr: attr))
        try roundTrip(Tdonateroot(fid: 28))
        try roundTrip(Rdonateroot(qid: q1))
        try roundTrip(Tchannel(id: 0, control: 1))
        try roundTrip(Rchannel(offset: 4096, length: 1 << 20))

        // The pointer-carrying messages: compare the payload bytes.
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try payload.withUnsafeBytes { p in
            let w = try WireFixture.encode(Twrite(fid: 28, offset: 512, data: p), tag: 9)
            XCTAssertEqual(w.count, Twrite.headerSize + payload.count)
            try w.withUnsafeBytes { raw in
                let (tag, m) = try Frame.decode(Twrite.self, frame: raw)
                XCTAssertEqual(tag, 9); XCTAssertEqual(m.fid, 28); XCTAssertEqual(m.offset, 512)
                XCTAssertEqual(Array(m.data), payload)
                // Zero copy: the view points into the frame.
                XCTAssertEqual(m.data.baseAddress, raw.baseAddress! + Twrite.headerSize)
                let any = try Frame.decodeAny(frame: raw, limit: raw.count)
                XCTAssertEqual((any.message as? Twrite).map { Array($0.data) }, payload)
            }
            covered.insert(.twrite)
            let r = try WireFixture.encode(Rread(data: p), tag: 10)
            XCTAssertEqual(r.count, Rread.headerSize + payload.count)
            try r.withUnsafeBytes { raw in
                let (tag, m) = try Frame.decode(Rread.self, frame: raw)
                XCTAssertEqual(tag, 10); XCTAssertEqual(Array(m.data), payload)
                XCTAssertEqual(m.data.baseAddress, raw.baseAddress! + Rread.headerSize)
            }
            covered.insert(.rread)
        }

        let expected = Set(MessageType.allCases).subtracting([.tlerror])
        XCTAssertEqual(covered, expected, "missing: \(expected.subtracting(covered).map(\.description).sorted())")
    }

    func testHeaderOnlyHelpersMatchTheFullEncoding() throws {
        let payload: [UInt8] = Array("hello, 9p".utf8)
        try payload.withUnsafeBytes { p in
            let full = try WireFixture.encode(Twrite(fid: 3, offset: 77, data: p), tag: 5)
            var header = [UInt8](repeating: 0, count: Twrite.headerSize)
            try header.withUnsafeMutableBytes { try Twrite.encodeHeader(tag: 5, fid: 3, offset: 77, count: UInt32(payload.count), into: $0) }
            XCTAssertEqual(header + payload, full)
            let h = try full.withUnsafeBytes { try Twrite.decodeHeader(UnsafeRawBufferPointer(rebasing: $0[..<Twrite.headerSize]), limit: 1 << 20) }
            XCTAssertEqual(h.tag, 5); XCTAssertEqual(h.fid, 3); XCTAssertEqual(h.offset, 77); XCTAssertEqual(h.count, payload.count)

            let rfull = try WireFixture.encode(Rread(data: p), tag: 6)
            var rheader = [UInt8](repeating: 0, count: Rread.headerSize)
            try rheader.withUnsafeMutableBytes { try Rread.encodeHeader(tag: 6, count: UInt32(payload.count), into: $0) }
            XCTAssertEqual(rheader + payload, rfull)
            let rh = try rfull.withUnsafeBytes { try Rread.decodeHeader(UnsafeRawBufferPointer(rebasing: $0[..<Rread.headerSize]), limit: 1 << 20) }
            XCTAssertEqual(rh.tag, 6); XCTAssertEqual(rh.count, payload.count)
        }
        // A header buffer that is too small is an error, not a crash.
        var small = [UInt8](repeating: 0, count: 10)
        XCTAssertThrowsError(try small.withUnsafeMutableBytes { try Rread.encodeHeader(tag: 1, count: 0, into: $0) }) {
            XCTAssertEqual($0 as? WireError, .messageTooLarge(size: 7, limit: 10))
        }
    }

    func testEncodingRespectsMsize() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        let m = Twalk(fid: 1, newFid: 2, names: ["a-long-name-that-does-not-fit-in-forty-bytes"])
        XCTAssertThrowsError(try buffer.withUnsafeMutableBytes { try Frame.encode(m, tag: 1, into: $0, msize: 40) }) {
            guard case .messageTooLarge(_, limit: 40)? = $0 as? WireError else { return XCTFail("\($0)") }
        }
        let big = String(repeating: "x", count: 70_000)
        XCTAssertThrowsError(try WireFixture.encode(Treadlink(fid: 1), tag: 1, capacity: 6)) { XCTAssertNotNil($0 as? WireError) }
        XCTAssertThrowsError(try WireFixture.encode(Rreadlink(target: big))) {
            guard case .messageTooLarge? = $0 as? WireError else { return XCTFail("\($0)") }
        }
    }

    func testReaddirPackingStopsAtCount() throws {
        let entries = (0..<10).map { Dirent(qid: QID(path: UInt64($0)), offset: UInt64($0 + 1), name: "entry\($0)") } // 30 bytes each
        let (m, packed) = Rreaddir.packing(entries, count: 100)
        XCTAssertEqual(packed, 3)
        XCTAssertEqual(m.entries, Array(entries.prefix(3)))
        let bytes = try WireFixture.encode(m)
        XCTAssertEqual(bytes.count, 7 + 4 + 90)
        XCTAssertEqual(Array(bytes[7..<11]), [90, 0, 0, 0])
        XCTAssertEqual(Rreaddir.packing(entries, count: 29).packed, 0)
        XCTAssertEqual(Rreaddir.packing(entries, count: 300).packed, 10)
    }

    func testFsyncDecodesGVisorsFourByteBody() throws {
        let gvisor = WireFixture.hex("0b 00 00 00 32 01 00 05 00 00 00")
        XCTAssertEqual(try WireFixture.decode(Tfsync.self, gvisor).message, Tfsync(fid: 5, datasync: 0))
        XCTAssertEqual(try WireFixture.encode(Tfsync(fid: 5)), WireFixture.hex("0f 00 00 00 32 01 00 05 00 00 00 00 00 00 00"))
    }
}
