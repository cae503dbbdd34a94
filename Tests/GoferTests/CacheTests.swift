import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// The dentry cache limit, dropCaches and concurrent use.
final class CacheTests: XCTestCase {
    func testLRUKeepsTheCacheWithinItsLimitAndReleasesFids() throws {
        let fx = try Fixture(.goferd)
        for i in 0..<50 { try fx.makePath("f\(i)") }
        var options = FilesystemOptions(mode: .exclusive)
        options.maxCachedDentries = 20
        let fs = try fx.filesystem(options)
        for i in 0..<50 { _ = try fs.stat("f\(i)") }
        XCTAssertLessThanOrEqual(fs.cachedDentryCount, 20)
        // Only the root's fid and the cached dentries' fids are held.
        XCTAssertEqual(fs.client.fidsInUse, 1 + fs.cachedDentryCount)
        // The most recent stays cached (no RPC); the oldest was evicted: one lookup, and going over the
        // limit evicts down to 90% of it (18), clunking the three least recently used fids.
        let (_, recent) = try rpcs(fs) { try fs.stat("f49") }
        XCTAssertEqual(recent, [])
        let (_, old) = try rpcs(fs) { try fs.stat("f0") }
        XCTAssertEqual(names(old), ["Twalkgetattr", "Tclunk", "Tclunk", "Tclunk"])
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0)
    }

    func testDropCachesWritesDirtyDataBack() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [UInt8](repeating: 0, count: 100))
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, hostFDs: false))
        let f = try fs.open("f", flags: O_RDWR)
        XCTAssertEqual(try ([5, 6, 7] as [UInt8]).withUnsafeBytes { try f.write(from: $0, at: 10) }, 3)
        try f.close()
        XCTAssertEqual(Array(try fx.export.read("f")[10..<13]), [0, 0, 0])
        try fs.dropCaches()
        XCTAssertEqual(Array(try fx.export.read("f")[10..<13]), [5, 6, 7])
        XCTAssertEqual(fs.cachedDentryCount, 0)
        fs.release()
    }

    func testReleaseWritesDirtyDataBack() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [UInt8](repeating: 0, count: 10))
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, hostFDs: false))
        let f = try fs.open("f", flags: O_RDWR)
        XCTAssertEqual(try ([1, 2] as [UInt8]).withUnsafeBytes { try f.write(from: $0, at: 8) }, 2)
        try f.close()
        fs.release()
        XCTAssertEqual(try fx.export.read("f"), [0, 0, 0, 0, 0, 0, 0, 0, 1, 2])
    }

    func testStatsCountPageCacheHitsMissesAndWriteBacks() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: patternBytes(20_000))  // five pages, the last one partial
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, hostFDs: false))
        defer { fs.release() }
        let f = try fs.open("f", flags: O_RDWR)
        XCTAssertEqual(fs.stats, FilesystemStats())
        var buf = [UInt8](repeating: 0, count: 5000)
        // A miss reads page 0 and, ahead, pages 1-4 (five blocks over 9P: the buffered path copies 20000 bytes).
        XCTAssertEqual(try buf.withUnsafeMutableBytes { try f.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<100]), at: 0) }, 100)
        XCTAssertEqual(fs.stats.pageCacheMisses, 1)
        XCTAssertEqual(fs.stats.pageCacheHits, 0)
        // Pages 0, 1 and 2 are cached: three hits, no RPC.
        let (_, types) = try rpcs(fs) { try buf.withUnsafeMutableBytes { try f.read(into: $0, at: 4000) } }
        XCTAssertEqual(types, [])
        XCTAssertEqual(fs.stats.pageCacheHits, 3)
        // A partial-page write needs page 0's data (a hit); a whole-page write of page 2 needs none.
        XCTAssertEqual(try ([1, 2, 3] as [UInt8]).withUnsafeBytes { try f.write(from: $0, at: 10) }, 3)
        let page = [UInt8](repeating: 9, count: 4096)
        XCTAssertEqual(try page.withUnsafeBytes { try f.write(from: $0, at: 8192) }, 4096)
        XCTAssertEqual(fs.stats.pageCacheHits, 4)
        XCTAssertEqual(fs.stats.writeBacks, 0, "Exclusive writes back lazily")
        // Dirty pages 0 and 2 are not contiguous: two write-backs, each one block (no copy).
        try f.fsync()
        var expected = FilesystemStats()
        expected.pageCacheMisses = 1
        expected.pageCacheHits = 4
        expected.writeBacks = 2
        expected.payloadBytesCopied = 20_000 + 100 + 5000 + 3 + 4096
        XCTAssertEqual(fs.stats, expected)
        try f.close()
    }

    func testManyThreadsShareOneFilesystem() throws {
        let fx = try Fixture(.goferd)
        for t in 0..<4 { try fx.makePath("t\(t)/seed", contents: patternBytes(1000, seed: UInt64(t + 1))) }
        for mode in InteropMode.allCases {
            let fs = try fx.filesystem(FilesystemOptions(mode: mode))
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { t in
                do {
                    for i in 0..<50 {
                        let name = "t\(t)/file\(i)"
                        let f = try fs.open(name, flags: O_RDWR | O_CREAT, mode: 0o644)
                        let data = patternBytes(64 + i, seed: UInt64(t * 100 + i))
                        _ = try data.withUnsafeBytes { try f.write(from: $0, at: 0) }
                        var back = [UInt8](repeating: 0, count: data.count)
                        _ = try back.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
                        if back != data { failures.withLock { $0.append("\(mode) \(name): read back differs") } }
                        try f.close()
                        _ = try fs.stat("t\(t)/seed")
                        if i % 2 == 0 { try fs.unlink(name) }
                    }
                } catch {
                    failures.withLock { $0.append("\(mode) thread \(t): \(error)") }
                }
            }
            XCTAssertEqual(failures.withLock { $0 }, [])
            XCTAssertEqual(try fs.readdir("t0").count, 26)  // seed + 25 kept files
            fs.release()
            XCTAssertEqual(fs.client.fidsInUse, 0, "\(mode): fids leaked")
        }
    }
}
