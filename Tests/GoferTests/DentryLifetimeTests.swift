import Foundation
@testable import Gofer
import P9
import TestSupport
import XCTest

/// Dentries hold their parents strongly (as gVisor's do): every one of them must still be freed with its filesystem.
final class DentryLifetimeTests: XCTestCase {
    /// Weak references to the dentries at `paths` (the root first), read from the tree.
    private func dentries(_ fs: Filesystem, _ paths: [String]) -> [Dentry] {
        var out = [fs.root]
        for path in paths {
            var d = fs.root
            for name in path.split(separator: "/") {
                guard let c = d.children[String(name)] else {
                    XCTFail("\(path) is not cached")
                    return out
                }
                d = c
            }
            out.append(d)
        }
        return out
    }

    func testTheTreeIsFreedWithItsFilesystem() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/c/f")
        try fx.makePath("a/b/g")
        var watched: [Weak] = []
        do {
            let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
            _ = try fs.stat("a/b/c/f")
            _ = try fs.stat("a/b/g")
            watched = dentries(fs, ["a", "a/b", "a/b/c", "a/b/c/f", "a/b/g"]).map(Weak.init)
            XCTAssertEqual(watched.count, 6)
        }
        XCTAssertEqual(watched.filter { $0.value != nil }.count, 0, "dentries outlived their filesystem")
    }

    func testOpenAndStaleDentriesAreFreedOnceClosedAfterARelease() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/f")
        try fx.makePath("a/b/g")
        var watched: [Weak] = []
        do {
            let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
            let f = try fs.open("a/b/f", flags: O_RDONLY)
            let g = try fs.open("a/b/g", flags: O_RDONLY)
            watched = dentries(fs, ["a", "a/b", "a/b/f", "a/b/g"]).map(Weak.init)
            // f goes stale while open (its dentry leaves the tree, holding its parent); g stays in the tree. The
            // filesystem is released around both, and both outlive that release.
            try fs.unlink("a/b/f")
            fs.release()
            XCTAssertNotNil(watched[3].value, "an open file keeps its dentry")
            XCTAssertNotNil(watched[2].value.flatMap { $0.children["g"] }, "release keeps an open file in the tree")
            try f.close()
            try g.close()
        }
        XCTAssertEqual(watched.filter { $0.value != nil }.count, 0, "dentries outlived their filesystem")
    }
}

/// A weak reference to a dentry.
private struct Weak {
    weak var value: Dentry?
    init(_ value: Dentry) { self.value = value }
}
