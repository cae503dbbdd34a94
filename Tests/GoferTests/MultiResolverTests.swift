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
        // Cold: the stat's Tmultigetattr, then one multi-name walk (16 + 4 names) straight to the handle's fid, and Tlopen.
        let (n, cold) = try rpcs(fs, openRead)
        XCTAssertEqual(n, data.count)
        XCTAssertEqual(buf, data)
        XCTAssertEqual(names(cold), ["Tmultigetattr", "Twalk", "Twalk", "Tlopen"])
        // Warm: the handle lives with the dentry; only the revalidating Tmultigetattr, the read goes to the host FD.
        let (_, warm) = try rpcs(fs, openRead)
        XCTAssertEqual(names(warm), ["Tmultigetattr"])
        let (_, stat) = try rpcs(fs) { try fs.stat(path) }
        XCTAssertLessThanOrEqual(warm.count, stat.count + 2)
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
        let (_, missing) = try rpcs(fs) { XCTAssertThrowsError(try fs.stat("a/b/c/f")) { XCTAssertEqual(errnoOf($0), .noSuchFileOrDirectory) } }
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
