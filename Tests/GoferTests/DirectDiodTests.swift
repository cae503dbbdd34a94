import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// The direct resolver on diod, which donates nothing: the vfs2 route, RPC for RPC.
final class DirectDiodTests: XCTestCase {
    typealias State = StatState

    func testMountSendsNoDonationToAPlainServer() throws {
        let fx = try Fixture(.diod)
        let client = try fx.connect()
        XCTAssertEqual(client.version, 0)
        let (fs, types) = try rpcsOn(client) { try Filesystem(client: client, options: FilesystemOptions(resolver: .direct), aname: fx.aname) }
        XCTAssertEqual(names(types), ["Tattach", "Tgetattr"], "diod closes the connection on a type it does not know")
        XCTAssertEqual(try fs.stat(".").isDirectory, true, "and the connection is still up")
        fs.release()
    }

    func testStatCountsArePlainServerRows() throws {
        let fx = try Fixture(.diod)
        let n = 3
        let rows: [(InteropMode, [State: Int])] = [
            (.shared, [.cold: 2 * n + 1, .warm: 3 * n + 1, .replaced: 3 * n]),
            (.exclusive, [.cold: 2 * n, .warm: 0, .replaced: 0]),
            (.writethrough, [.cold: 2 * n, .warm: 0, .replaced: 0]),
        ]
        for (mode, counts) in rows {
            for state in State.allCases {
                let direct = try statRPCs(fx, FilesystemOptions(mode: mode, resolver: .direct), depth: n, state: state)
                let vfs2 = try statRPCs(fx, FilesystemOptions(mode: mode), depth: n, state: state)
                XCTAssertEqual(direct.count, counts[state]!, "\(mode) \(state): \(names(direct))")
                XCTAssertEqual(names(direct), names(vfs2), "\(mode) \(state)")
            }
        }
    }

    /// RPC types of `op` on a fresh filesystem; warm runs it once before.
    private func measure(_ fx: Fixture, _ options: FilesystemOptions, warm: Bool, _ op: (Filesystem) throws -> Void) throws -> [String] {
        let fs = try fx.filesystem(options)
        defer { fs.release() }
        if warm { try op(fs); fs.reclaim() }
        return names(try rpcs(fs) { try op(fs) }.types)
    }

    func testOpenAndCreateCountsAreTheVFS2Routes() throws {
        let fx = try Fixture(.diod)
        try fx.makePath("d1/d2/f", contents: [1, 2, 3])
        let openRead = { (fs: Filesystem) throws in
            let f = try fs.open("d1/d2/f", flags: O_RDONLY)
            var buf = [UInt8](repeating: 0, count: 3)
            XCTAssertEqual(try buf.withUnsafeMutableBytes { try f.read(into: $0) }, 3)
            try f.close()
        }
        let createUnlink = { (fs: Filesystem) throws in
            try fs.open("d1/d2/new", flags: O_WRONLY | O_CREAT | O_EXCL).close()
            try fs.unlink("d1/d2/new")
        }
        // Depth 3 (two folders and the file): (mode, warm, open-read-close, create-unlink) RPC counts of the vfs2 route.
        let expected: [(InteropMode, Bool, Int, Int)] = [
            // cold: Twalk+Tgetattr per component; clone+Tlopen; Tread (no host FD from diod).
            // create: the parent's walks, the ENOENT Twalk, clone+Tlcreate, Twalk+Tgetattr, then Twalk+Tremove.
            (.exclusive, false, 9, 11),
            // warm: the cached handle serves; create skips the walks (a negative-cache hit for the name).
            (.exclusive, true, 0, 6),
            (.shared, false, 10, 19),
            (.shared, true, 11, 21),
        ]
        for (mode, warm, openCount, createCount) in expected {
            for (name, op, count) in [("open-read-close", openRead, openCount), ("create-unlink", createUnlink, createCount)] {
                let label = "\(mode) \(warm ? "warm" : "cold") \(name)"
                let direct = try measure(fx, FilesystemOptions(mode: mode, resolver: .direct), warm: warm, op)
                let vfs2 = try measure(fx, FilesystemOptions(mode: mode), warm: warm, op)
                XCTAssertEqual(direct.count, count, "\(label): \(direct)")
                XCTAssertEqual(direct, vfs2, label)
            }
        }
    }
}
