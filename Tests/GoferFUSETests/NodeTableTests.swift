@testable import GoferFUSE
import XCTest

/// The nodeid table: the paths nodeids stand for through lookups, hard links, renames, removals and forgets.
final class NodeTableTests: XCTestCase {
    func testLookupsNameNodesByPathAndKeepOneNodeidPerInode() {
        let t = NodeTable(rootIno: 100)
        XCTAssertEqual(t.path(NodeTable.rootID), "/")
        let d = t.found("d", in: NodeTable.rootID, ino: 1, isDirectory: true)
        let f = t.found("f", in: d, ino: 2, isDirectory: false)
        XCTAssertEqual(t.path(f), "/d/f")
        XCTAssertEqual(t.path(d, "g"), "/d/g")
        XCTAssertEqual(t.found("f", in: d, ino: 2, isDirectory: false), f, "a second lookup of the same file")
        XCTAssertEqual(t.count, 2)
        // Two lookups: one forget of 1 keeps the node, the second removes it.
        t.forget(f, count: 1)
        XCTAssertEqual(t.path(f), "/d/f")
        t.forget(f, count: 1)
        XCTAssertNil(t.path(f))
        XCTAssertEqual(t.count, 1)
    }

    func testHardLinksKeepEveryNameAndRemovalFallsBackToAnother() {
        let t = NodeTable(rootIno: 100)
        let a = t.found("a", in: NodeTable.rootID, ino: 7, isDirectory: false)
        let b = t.found("b", in: NodeTable.rootID, ino: 7, isDirectory: false)
        XCTAssertEqual(a, b)
        XCTAssertEqual(t.path(a), "/b", "the most recent name first")
        t.removed("b", in: NodeTable.rootID)
        XCTAssertEqual(t.path(a), "/a")
        t.removed("a", in: NodeTable.rootID)
        XCTAssertNil(t.path(a), "no name leads to it")
        // A new file reusing the inode number gets a new nodeid while the kernel still holds the old one.
        let c = t.found("c", in: NodeTable.rootID, ino: 7, isDirectory: false)
        XCTAssertNotEqual(c, a)
    }

    func testRenamesMoveNodesAndTheirSubtreesAndReplaceTheTarget() {
        let t = NodeTable(rootIno: 100)
        let d = t.found("d", in: NodeTable.rootID, ino: 1, isDirectory: true)
        let e = t.found("e", in: NodeTable.rootID, ino: 2, isDirectory: true)
        let f = t.found("f", in: d, ino: 3, isDirectory: false)
        let g = t.found("g", in: e, ino: 4, isDirectory: false)
        t.renamed("d", in: NodeTable.rootID, to: "d2", in: e)
        XCTAssertEqual(t.path(f), "/e/d2/f")
        t.renamed("f", in: d, to: "g", in: e)
        XCTAssertEqual(t.path(f), "/e/g")
        XCTAssertNil(t.path(g), "the replaced file has no name left")
        XCTAssertEqual(t.found("g", in: e, ino: 3, isDirectory: false), f)
    }
}
