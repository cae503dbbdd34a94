import Foundation
import Gofer
import P9
import SafeMem
import TestSupport
import XCTest

/// Owns aligned buffers and hands out BlockSeqs of chosen layouts over them.
final class Buffers {
    private var owned: [UnsafeMutableRawBufferPointer] = []
    func seq(_ sizes: [Int], fill: UInt8 = 0) -> BlockSeq {
        BlockSeq(sizes.map { n -> Block in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 64)
            b.initializeMemory(as: UInt8.self, repeating: fill)
            owned.append(b)
            return Block(b)
        })
    }
    func seq(_ sizes: [Int], bytes: [UInt8]) -> BlockSeq {
        let s = seq(sizes)
        var off = 0
        s.forEachBlock { b in
            b.buffer.copyBytes(from: bytes[off..<off + b.count])
            off += b.count
        }
        return s
    }
    deinit { owned.forEach { $0.deallocate() } }
}

func contents(_ seq: BlockSeq) -> [UInt8] {
    var out: [UInt8] = []
    seq.forEachBlock { out += Array(UnsafeRawBufferPointer($0.buffer)) }
    return out
}

final class DataPathTests: XCTestCase {
    static let layouts: [String: [Int]] = [
        "single": [100_000],
        "uneven3": [1, 70_001, 29_998],
        "sixteen": Array(repeating: 6_250, count: 16),
    ]

    /// Reads and writes `layout` at offset 1000 through one handle path; checks bytes and the copy counter.
    func check(path hostFD: Bool, multiblock: MultiBlockStrategy, layout: String, mode: InteropMode = .shared) throws {
        let fx = try Fixture(.goferd)
        let original = patternBytes(120_000, seed: 5)
        try fx.makePath("f", contents: original)
        let fs = try fx.filesystem(FilesystemOptions(mode: mode, hostFDs: hostFD, multiblock: multiblock))
        defer { fs.release() }
        let file = try fs.open("f", flags: O_RDWR)
        XCTAssertEqual(file.handle.hasHostFD, hostFD)
        let sizes = Self.layouts[layout]!
        let total = sizes.reduce(0, +)
        let bufs = Buffers()
        // read
        let dst = bufs.seq(sizes)
        let copiesBefore = fs.stats.payloadBytesCopied
        XCTAssertEqual(try file.read(into: dst, at: 1000), total)
        XCTAssertEqual(contents(dst), Array(original[1000..<1000 + total]), "\(layout) read")
        let expectedCopies = (!hostFD && multiblock == .buffered && sizes.count > 1) ? total : 0
        XCTAssertEqual(fs.stats.payloadBytesCopied - copiesBefore, expectedCopies, "copies on read, \(layout) \(multiblock) hostFD=\(hostFD)")
        // write
        let newBytes = patternBytes(total, seed: 77)
        let src = bufs.seq(sizes, bytes: newBytes)
        let copiesBeforeWrite = fs.stats.payloadBytesCopied
        XCTAssertEqual(try file.write(from: src, at: 500), total)
        XCTAssertEqual(fs.stats.payloadBytesCopied - copiesBeforeWrite, expectedCopies, "copies on write")
        try file.close()
        var expected = original
        expected.replaceSubrange(500..<500 + total, with: newBytes)
        XCTAssertEqual(try fx.export.read("f"), expected, "\(layout) write reached the export")
    }

    func testHostFDPaths() throws {
        for layout in Self.layouts.keys.sorted() { try check(path: true, multiblock: .buffered, layout: layout) }
    }

    func test9PBuffered() throws {
        for layout in Self.layouts.keys.sorted() { try check(path: false, multiblock: .buffered, layout: layout) }
    }

    func test9PScatter() throws {
        for layout in Self.layouts.keys.sorted() { try check(path: false, multiblock: .scatter, layout: layout) }
    }

    func testEveryDonatedDescriptorIsClosedOnce() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: patternBytes(1000))
        for options in [FilesystemOptions(mode: .exclusive), FilesystemOptions(mode: .exclusive, hostFDs: false), .cacheNone] {
            let client = try fx.connect()
            let before = openDescriptorCount()
            try {
                let fs = try Filesystem(client: client, options: options, aname: fx.aname)
                let r = try fs.open("f", flags: O_RDONLY)
                XCTAssertEqual(r.handle.hasHostFD, options.hostFDs)
                let rw = try fs.open("f", flags: O_RDWR)  // a second handle (an upgrade, or cacheNone's own)
                let created = try fs.open("new", flags: O_RDWR | O_CREAT | O_EXCL)
                XCTAssertEqual(created.handle.hasHostFD, options.hostFDs)
                for f in [r, rw, created] { try f.close() }
                try fs.unlink("new")
                fs.release()
            }()
            XCTAssertEqual(openDescriptorCount(), before, "\(options.mode) hostFDs=\(options.hostFDs)")
        }
    }

    func testReadAcrossEOFIsShortThenZero() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: patternBytes(1000))
        for hostFD in [true, false] {
            let fs = try fx.filesystem(FilesystemOptions(mode: .shared, hostFDs: hostFD))
            let file = try fs.open("f", flags: O_RDONLY)
            let bufs = Buffers()
            XCTAssertEqual(try file.read(into: bufs.seq([600, 600]), at: 500), 500)
            XCTAssertEqual(try file.read(into: bufs.seq([10]), at: 1000), 0)
            try file.close()
            fs.release()
        }
    }

    func testExclusiveWritebackWaitsForFsync() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [UInt8](repeating: 0, count: 10_000))
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, hostFDs: false))
        let file = try fs.open("f", flags: O_RDWR)
        let data = patternBytes(5000, seed: 9)
        let (_, types) = try rpcs(fs) { try data.withUnsafeBytes { try file.write(from: $0, at: 100) } }
        XCTAssertFalse(types.contains(.twrite), "Exclusive writes back lazily: \(names(types))")
        XCTAssertEqual(Array(try fx.export.read("f")[100..<5100]), [UInt8](repeating: 0, count: 5000))
        // Served from the cache: no RPC.
        var back = [UInt8](repeating: 0, count: 5000)
        let (_, readTypes) = try rpcs(fs) { try back.withUnsafeMutableBytes { try file.read(into: $0, at: 100) } }
        XCTAssertEqual(back, data)
        XCTAssertEqual(readTypes, [])
        let (_, closeTypes) = try rpcs(fs) { try file.close() }
        XCTAssertFalse(closeTypes.contains(.twrite), "not written back on close")
        let again = try fs.open("f", flags: O_RDWR)
        let (_, syncTypes) = try rpcs(fs) { try again.fsync() }
        XCTAssertTrue(syncTypes.contains(.twrite))
        XCTAssertEqual(Array(try fx.export.read("f")[100..<5100]), data)
        try again.close()
        fs.release()
    }

    func testDirtyPagesAreWrittenBeforeATruncatingUpgradeOpens() throws {
        for resolver in [ResolverKind.vfs2, .multi] {
            let fx = try Fixture(.goferd)
            try fx.makePath("f", contents: [UInt8](repeating: 1, count: 100))
            let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, resolver: resolver, hostFDs: false))
            let w = try fs.open("f", flags: O_WRONLY)
            XCTAssertEqual(try ([7, 7, 7] as [UInt8]).withUnsafeBytes { try w.write(from: $0, at: 0) }, 3)  // dirty, not sent
            // O_RDWR needs a new handle; O_TRUNC empties the file: the dirty bytes must not come back after it.
            let rw = try fs.open("f", flags: O_RDWR | O_TRUNC)
            try rw.fsync()
            XCTAssertEqual(try fx.export.read("f"), [], "\(resolver)")
            XCTAssertEqual(rw.size(), 0)
            try rw.close()
            try w.close()
            fs.release()
            XCTAssertEqual(try fx.export.read("f"), [], "\(resolver): write-back after release resurrected data")
        }
    }

    func testWritethroughWritesAtOnce() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [UInt8](repeating: 0, count: 8192))
        let fs = try fx.filesystem(FilesystemOptions(mode: .writethrough, hostFDs: false))
        let file = try fs.open("f", flags: O_RDWR)
        for i in 0..<4 {
            let chunk = patternBytes(1000, seed: UInt64(i + 1))
            XCTAssertEqual(try chunk.withUnsafeBytes { try file.write(from: $0, at: UInt64(i * 1000)) }, 1000)
            XCTAssertEqual(Array(try fx.export.read("f")[i * 1000..<(i + 1) * 1000]), chunk, "write \(i) not on the server")
        }
        try file.close()
        fs.release()
    }

    func testSharedReadsSeeDirectChanges() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [1, 1, 1, 1])
        let fs = try fx.filesystem(FilesystemOptions(mode: .shared, hostFDs: false))
        let file = try fs.open("f", flags: O_RDONLY)
        var b = [UInt8](repeating: 0, count: 4)
        XCTAssertEqual(try b.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }, 4)
        XCTAssertEqual(b, [1, 1, 1, 1])
        let h = FileHandle(forWritingAtPath: fx.export.appending("f"))!
        h.write(Data([2, 2, 2, 2]))
        try h.close()
        XCTAssertEqual(try b.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }, 4)
        XCTAssertEqual(b, [2, 2, 2, 2])
        try file.close()
        fs.release()
    }

    func testSafeCopyBlockOverInaccessiblePageFailsCleanly() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: patternBytes(16384))
        let fs = try fx.filesystem(FilesystemOptions(mode: .shared, hostFDs: false))
        let file = try fs.open("f", flags: O_RDONLY)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let map = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(map, 2 * page) }
        // PROT_NONE, not munmap: the page stays reserved, so nothing else (a sanitizer's allocator) can map it meanwhile.
        XCTAssertEqual(mprotect(map + page, page, PROT_NONE), 0)
        let bufs = Buffers()
        let dst = BlockSeq([Block(base: map, count: 2 * page, needsSafeCopy: true)] + [bufs.seq([10]).head])
        XCTAssertThrowsError(try file.read(into: dst, at: 0)) { error in
            XCTAssertEqual((error as? GoferError)?.transferred, page)
        }
        try file.close()
        fs.release()
    }
}
