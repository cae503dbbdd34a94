import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// The multi resolver: stat of any depth in a constant number of RPCs.
final class MultiResolverTests: XCTestCase {
    let shared = FilesystemOptions(mode: .shared, resolver: .multi)

    func testStatInSharedCostsOneTmultigetattrAtAnyDepth() throws {
        let fx = try Fixture(.goferd)
        for depth in [1, 3, 20, 40] {
            for state in StatState.allCases {
                let types = try statRPCs(fx, shared, depth: depth, state: state)
                XCTAssertEqual(names(types), ["Tmultigetattr"], "depth \(depth) \(state)")
                XCTAssertLessThanOrEqual(types.count, state == .warm ? 2 : 3)
            }
        }
    }

    func testExclusiveMultiIsOneRPCColdAndFreeWarm() throws {
        let fx = try Fixture(.goferd)
        let options = FilesystemOptions(mode: .exclusive, resolver: .multi)
        XCTAssertEqual(names(try statRPCs(fx, options, depth: 20, state: .cold)), ["Tmultigetattr"])
        XCTAssertEqual(try statRPCs(fx, options, depth: 20, state: .warm), [])
    }

    func testStatDoesNotCreateFids() throws {
        let fx = try Fixture(.goferd)
        let path = deepPath(20)
        try fx.makePath(path)
        let fs = try fx.filesystem(shared)
        let before = fs.client.fidsInUse
        _ = try fs.stat(path)
        XCTAssertEqual(fs.client.fidsInUse, before, "the multi resolver's dentries are fid-less")
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0)
    }

    func testOpenReadAtDepth20() throws {
        let fx = try Fixture(.goferd)
        let path = deepPath(20)
        let data = patternBytes(5000)
        try fx.makePath(path, contents: data)
        let fs = try fx.filesystem(shared)
        defer { fs.release() }
        var buf = [UInt8](repeating: 0, count: data.count)
        let openRead = { () throws -> Int in
            let f = try fs.open(path, flags: O_RDONLY)
            defer { try? f.close() }
            return try buf.withUnsafeMutableBytes { try f.read(into: $0) }
        }
        // Cold: Twalk of the first 16 names, Twalkgetattr of the last 4 (its new fid is the handle's), Tlopen;
        // the read goes to the donated host FD. A cold stat is one Tmultigetattr: two RPCs more.
        let (n, cold) = try rpcs(fs, openRead)
        XCTAssertEqual(n, data.count)
        XCTAssertEqual(buf, data)
        XCTAssertEqual(names(cold), ["Twalk", "Twalkgetattr", "Tlopen"])
        let (_, stat) = try rpcs(fs) { try fs.stat(path) }
        XCTAssertEqual(names(stat), ["Tmultigetattr"])
        XCTAssertLessThanOrEqual(cold.count, stat.count + 2)
        // Warm: the handle lives with the dentry; only the revalidating Tmultigetattr.
        let (_, warm) = try rpcs(fs, openRead)
        XCTAssertEqual(names(warm), ["Tmultigetattr"])
        // After a cold stat (fid-less dentries, no handle) the open is the same three RPCs.
        let fresh = try fx.filesystem(shared)
        defer { fresh.release() }
        _ = try fresh.stat(path)
        let (_, afterStat) = try rpcs(fresh) { () throws -> Int in
            let f = try fresh.open(path, flags: O_RDONLY)
            defer { try? f.close() }
            return try buf.withUnsafeMutableBytes { try f.read(into: $0) }
        }
        XCTAssertEqual(names(afterStat), ["Twalk", "Twalkgetattr", "Tlopen"])
        XCTAssertEqual(buf, data)
        // A replaced file: Tmultigetattr revalidates the cached dentry and finds a new file; its handle's fid is walked
        // from the depth-16 directory, which kept the fid of the first open's Twalk. The new handle reads the new bytes.
        try fx.replace(path)
        let (_, replaced) = try rpcs(fresh) { () throws -> Int in
            let f = try fresh.open(path, flags: O_RDONLY)
            defer { try? f.close() }
            return try buf.withUnsafeMutableBytes { try f.read(into: $0) }
        }
        XCTAssertEqual(names(replaced), ["Tmultigetattr", "Twalk", "Tlopen"])
        XCTAssertEqual(buf[0], UInt8(ascii: "y"))
    }

    func testReplacedIntermediateDirectoryIsDetected() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/c/f", contents: [1])
        let fs = try fx.filesystem(shared)
        defer { fs.release() }
        let before = try fs.stat("a/b/c/f")
        // Move the middle directory away and put a new one with the same names in its place.
        XCTAssertEqual(Foundation.rename(fx.export.appending("a/b"), fx.export.appending("a/old-b")), 0)
        try fx.makePath("a/b/c/f", contents: [1, 2, 3])
        let (after, types) = try rpcs(fs) { try fs.stat("a/b/c/f") }
        XCTAssertEqual(names(types), ["Tmultigetattr"])
        XCTAssertNotEqual(after.ino, before.ino)
        XCTAssertEqual(after.size, 3)
        // A missing component is ENOENT, with no more RPCs than one.
        XCTAssertEqual(Foundation.rename(fx.export.appending("a/b"), fx.export.appending("a/gone")), 0)
        let (_, missing) = try rpcs(fs) { XCTAssertThrowsError(try fs.stat("a/b/c/f")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) } }
        XCTAssertEqual(names(missing), ["Tmultigetattr"])
    }

    func testFallbackAgainstDiodIsWalksPlusGetattr() throws {
        let fx = try Fixture(.diod)
        for depth in [3, 16, 20, 40] {
            let types = try statRPCs(fx, shared, depth: depth, state: .cold)
            let walks = (depth + 15) / 16
            XCTAssertEqual(types.filter { $0 == .twalk }.count, walks, "depth \(depth): \(names(types))")
            XCTAssertEqual(types.count, walks + 1, "depth \(depth): \(names(types))")
            XCTAssertEqual(types.last, .tgetattr)
        }
    }
}
