import Gofer
import P9
import XCTest

/// DESIGN.md's RPC model: RPCs on the wire during one stat of a path of depth N.
class RPCModelTests: XCTestCase {
    /// How the fixture's clients reach the server (`RPCModelChannelTests` runs every test over channels).
    var transport: Fixture.Transport { .socket }

    typealias State = StatState

    // MARK: the seed's listings (depth 3, last component replaced)

    func testSeedListingVFS1Replaced() throws {
        let fx = try Fixture(.goferd, transport: transport)
        let types = try statRPCs(fx, FilesystemOptions(mode: .shared, resolver: .vfs1), depth: 3, state: .replaced)
        XCTAssertEqual(names(types), [
            "Tgetattr", "Twalkgetattr", "Tclunk",
            "Tgetattr", "Twalkgetattr", "Tclunk",
            "Tgetattr", "Twalkgetattr", "Tclunk", "Twalkgetattr",
            "Tgetattr",
        ])
    }

    func testSeedListingVFS2SharedReplaced() throws {
        let fx = try Fixture(.goferd, transport: transport)
        let types = try statRPCs(fx, FilesystemOptions(mode: .shared, resolver: .vfs2), depth: 3, state: .replaced)
        XCTAssertEqual(names(types), ["Tgetattr", "Twalkgetattr", "Tclunk", "Twalkgetattr", "Tclunk", "Twalkgetattr"])
    }

    // MARK: DESIGN.md's formulas at depths 1, 5, 20 against goferd

    func testFormulasAgainstGoferd() throws {
        let fx = try Fixture(.goferd, transport: transport)
        typealias Row = (name: String, options: FilesystemOptions, formula: [State: (Int) -> Int])
        let rows: [Row] = [
            ("vfs1 shared", FilesystemOptions(mode: .shared, resolver: .vfs1),
             [.cold: { 2 * $0 + 1 }, .warm: { 3 * $0 + 1 }, .replaced: { 3 * $0 + 2 }]),
            ("vfs2 shared", FilesystemOptions(mode: .shared, resolver: .vfs2),
             [.cold: { $0 + 1 }, .warm: { 2 * $0 + 1 }, .replaced: { 2 * $0 }]),
            ("vfs2 none (cacheNone)", .cacheNone,
             [.cold: { $0 + 1 }, .warm: { 2 * $0 + 1 }, .replaced: { 2 * $0 }]),
            ("vfs2 exclusive", FilesystemOptions(mode: .exclusive, resolver: .vfs2),
             [.cold: { $0 }, .warm: { _ in 0 }, .replaced: { _ in 0 }]),
            ("vfs2 writethrough", FilesystemOptions(mode: .writethrough, resolver: .vfs2),
             [.cold: { $0 }, .warm: { _ in 0 }, .replaced: { _ in 0 }]),
        ]
        for depth in [1, 5, 20] {
            for row in rows {
                for state in State.allCases {
                    let got = try statRPCs(fx, row.options, depth: depth, state: state).count
                    XCTAssertEqual(got, row.formula[state]!(depth), "\(row.name) \(state) depth \(depth)")
                }
            }
        }
    }

    // MARK: plain 9P2000.L server rows (diod), depth 3

    func testPlainServerRowsAgainstDiod() throws {
        let fx = try Fixture(.diod, transport: transport)
        let n = 3
        let expected: [(String, FilesystemOptions, [State: Int])] = [
            ("vfs2 shared", FilesystemOptions(mode: .shared, resolver: .vfs2),
             [.cold: 2 * n + 1, .warm: 3 * n + 1, .replaced: 3 * n]),
            ("vfs1 shared", FilesystemOptions(mode: .shared, resolver: .vfs1),
             [.cold: 3 * n + 1, .warm: 4 * n + 1, .replaced: 4 * n + 3]),
            ("vfs2 exclusive", FilesystemOptions(mode: .exclusive, resolver: .vfs2),
             [.cold: 2 * n, .warm: 0, .replaced: 0]),
        ]
        for (name, options, counts) in expected {
            for state in State.allCases {
                let types = try statRPCs(fx, options, depth: n, state: state)
                XCTAssertFalse(types.contains(.twalkgetattr), "extension sent to diod")
                XCTAssertEqual(types.count, counts[state]!, "\(name) \(state): \(names(types))")
            }
        }
        // The VFS2 Shared replaced sequence on a plain server, message by message.
        let types = try statRPCs(fx, FilesystemOptions(mode: .shared), depth: n, state: .replaced)
        XCTAssertEqual(names(types), ["Tgetattr", "Twalk", "Tgetattr", "Tclunk", "Twalk", "Tgetattr", "Tclunk", "Twalk", "Tgetattr"])
    }
}

/// The same RPC model over shared-memory channels: identical RPCs (diod refuses channels: the socket).
final class RPCModelChannelTests: RPCModelTests {
    override var transport: Fixture.Transport { .channel }

    // Linux test discovery lists only a class's own methods: each inherited test is named here.
    override func testSeedListingVFS1Replaced() throws { try super.testSeedListingVFS1Replaced() }
    override func testSeedListingVFS2SharedReplaced() throws { try super.testSeedListingVFS2SharedReplaced() }
    override func testFormulasAgainstGoferd() throws { try super.testFormulasAgainstGoferd() }
    override func testPlainServerRowsAgainstDiod() throws { try super.testPlainServerRowsAgainstDiod() }
}
