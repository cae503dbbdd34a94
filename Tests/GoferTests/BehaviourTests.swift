import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// InteropMode behaviours of DESIGN.md and the seed's commit message, against goferd.
final class BehaviourTests: XCTestCase {
    func testUnlinkSendsOneTunlinkatAndMakesNoDentry() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("dir/victim")
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        _ = try fs.stat("dir")
        let before = fs.cachedDentryCount
        let (_, types) = try rpcs(fs) { try fs.unlink("dir/victim") }
        XCTAssertEqual(names(types), ["Tunlinkat"])
        XCTAssertEqual(fs.cachedDentryCount, before, "unlink instantiated a dentry")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.export.appending("dir/victim")))
        // The negative entry it leaves costs nothing on the next stat.
        let (_, again) = try rpcs(fs) { XCTAssertThrowsError(try fs.stat("dir/victim")) }
        XCTAssertEqual(again, [])
    }

    func testFlushfOnCloseExceptInExclusive() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [1, 2, 3])
        for mode in InteropMode.allCases {
            let fs = try fx.filesystem(FilesystemOptions(mode: mode))
            let file = try fs.open("f", flags: O_RDWR)
            let (_, types) = try rpcs(fs) { try file.close() }
            XCTAssertEqual(types.filter { $0 == .tflushf }.count, mode == .exclusive ? 0 : 1, "\(mode)")
            fs.release()
        }
    }

    func testSharedSeesDirectChangesExclusiveDoesNot() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/f", contents: [1])
        let shared = try fx.filesystem(FilesystemOptions(mode: .shared))
        let exclusive = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        let s0 = try shared.stat("a/f"), e0 = try exclusive.stat("a/f")
        try fx.replace("a/f")
        try fx.export.write("a/f", [1, 2, 3, 4, 5])
        let s1 = try shared.stat("a/f"), e1 = try exclusive.stat("a/f")
        XCTAssertNotEqual(s1.ino, s0.ino)
        XCTAssertEqual(s1.size, 5)
        XCTAssertEqual(e1, e0, "Exclusive trusts its cache by design")
    }

    func testSymlinkTargetCachedExceptInShared() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("t")
        XCTAssertEqual(Foundation.symlink("t", fx.export.appending("l")), 0)
        for mode in InteropMode.allCases {
            let fs = try fx.filesystem(FilesystemOptions(mode: mode))
            XCTAssertEqual(try fs.readlink("l"), "t")
            let (target, types) = try rpcs(fs) { try fs.readlink("l") }
            XCTAssertEqual(target, "t")
            XCTAssertEqual(types.contains(.treadlink), mode == .shared, "\(mode): \(names(types))")
            fs.release()
        }
    }

    func testNegativeLookupCachedInExclusive() throws {
        let fx = try Fixture(.goferd)
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        XCTAssertThrowsError(try fs.stat("missing")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) }
        let (_, types) = try rpcs(fs) { XCTAssertThrowsError(try fs.stat("missing")) }
        XCTAssertEqual(types, [])
    }

    func testErrorsAreGoferErrorsNamingTheOperation() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("d/f")
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        defer { fs.release() }
        XCTAssertThrowsError(try fs.stat("d/missing")) {
            XCTAssertEqual($0 as? GoferError, GoferError(.noSuchFileOrDirectory, "stat d/missing: No such file or directory"))
        }
        XCTAssertThrowsError(try fs.open("d", flags: O_WRONLY)) {
            XCTAssertEqual(($0 as? GoferError)?.errno, .isDirectory)
            XCTAssertEqual(($0 as? GoferError)?.message.hasPrefix("open d: "), true)
        }
        // A server's refusal keeps its errno.
        XCTAssertThrowsError(try fs.rmdir("d/f")) { XCTAssertEqual(($0 as? GoferError)?.errno, .notDirectory) }
        // Options that cannot work are refused before any RPC.
        let client = try fx.connect()
        let (_, types) = try rpcsOn(client) {
            XCTAssertThrowsError(try Filesystem(client: client, options: FilesystemOptions(mode: .exclusive, resolver: .vfs1))) {
                XCTAssertEqual(($0 as? GoferError)?.errno, .invalidArgument)
            }
        }
        XCTAssertEqual(types, [])
    }

    func testExplicitMTimeSurvivesDropCachesInExclusive() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f")
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        let when = Timespec(sec: 1_000_000_000, nsec: 5)
        _ = try fs.stat("f")
        let (_, types) = try rpcs(fs) { try fs.setTimes("f", atime: nil, mtime: when) }
        XCTAssertEqual(types, [], "Exclusive keeps explicit timestamps on the dentry until write-back")
        XCTAssertEqual(try fs.stat("f").mtime, when)
        try fs.dropCaches()
        XCTAssertEqual(try fs.stat("f").mtime, when)
        let attrs = try FileManager.default.attributesOfItem(atPath: fx.export.appending("f"))
        XCTAssertEqual((attrs[.modificationDate] as? Date)?.timeIntervalSince1970, 1_000_000_000)
    }

    func testSharedWritesTimestampsAtOnce() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f")
        let fs = try fx.filesystem(FilesystemOptions(mode: .shared))
        let when = Timespec(sec: 1_200_000_000, nsec: 0)
        let (_, types) = try rpcs(fs) { try fs.setTimes("f", atime: when, mtime: when) }
        XCTAssertEqual(types.last, .tsetattr)
        let attrs = try FileManager.default.attributesOfItem(atPath: fx.export.appending("f"))
        XCTAssertEqual((attrs[.modificationDate] as? Date)?.timeIntervalSince1970, 1_200_000_000)
    }

    func testCachedOpenReadCloseCostsNothingInExclusiveWithHostFD() throws {
        let fx = try Fixture(.goferd)
        let data = patternBytes(10_000)
        try fx.makePath("f", contents: data)
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, hostFDs: true))
        let first = try fs.open("f", flags: O_RDONLY)
        XCTAssertTrue(first.handle.hasHostFD, "goferd over a socketpair donates a host FD")
        try first.close()
        var buf = [UInt8](repeating: 0, count: data.count)
        let (n, types) = try rpcs(fs) { () -> Int in
            let f = try fs.open("f", flags: O_RDONLY)
            let n = try buf.withUnsafeMutableBytes { try f.read(into: $0) }
            try f.close()
            return n
        }
        XCTAssertEqual(n, data.count)
        XCTAssertEqual(buf, data)
        XCTAssertEqual(types, [])
    }

    func testFirstOpenIsCloneWalkPlusLopen() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f")
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        _ = try fs.stat("f")
        let (file, types) = try rpcs(fs) { try fs.open("f", flags: O_RDONLY) }
        XCTAssertEqual(names(types), ["Twalk", "Tlopen"])
        try file.close()
    }

    func testCreateRPCsInExclusive() throws {
        let fx = try Fixture(.goferd)
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        let (file, types) = try rpcs(fs) { try fs.open("new", flags: O_RDWR | O_CREAT | O_EXCL) }
        XCTAssertEqual(names(types), ["Twalkgetattr", "Twalk", "Tucreate", "Twalkgetattr"])
        try file.close()
        // After an unlink the negative entry spares the first Twalkgetattr.
        try fs.unlink("new")
        let (again, types2) = try rpcs(fs) { try fs.open("new", flags: O_RDWR | O_CREAT | O_EXCL) }
        XCTAssertEqual(names(types2), ["Twalk", "Tucreate", "Twalkgetattr"])
        try again.close()
    }

    func testReaddirIsCloneLopenThenReaddirUntilEmpty() throws {
        let fx = try Fixture(.goferd)
        for i in 0..<5 { try fx.makePath("d/e\(i)") }
        let fs = try fx.filesystem(FilesystemOptions(mode: .shared))
        _ = try fs.stat("d")
        let (list, types) = try rpcs(fs) { try fs.readdir("d") }
        XCTAssertEqual(Set(list.map(\.name)), Set((0..<5).map { "e\($0)" }))
        XCTAssertEqual(Array(names(types).suffix(4)), ["Twalk", "Tlopen", "Treaddir", "Treaddir"])
    }
}

/// Permission checks run on the cached attributes against the attach identity.
final class PermissionTests: XCTestCase {
    func testOwnerGroupOtherBitsAgainstAttachIdentity() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("private", contents: [1])
        try fx.makePath("public", contents: [2])
        XCTAssertEqual(Foundation.chmod(fx.export.appending("private"), 0o600), 0)
        XCTAssertEqual(Foundation.chmod(fx.export.appending("public"), 0o604), 0)
        XCTAssertEqual(Foundation.chmod(fx.export.path, 0o755), 0)  // mkdtemp made it 0700
        let fs = try Filesystem(client: try fx.connect(), options: FilesystemOptions(mode: .exclusive), nUname: 54321)
        defer { fs.release() }
        XCTAssertThrowsError(try fs.open("private", flags: O_RDONLY)) { XCTAssertEqual(($0 as? GoferError)?.errno, .permissionDenied) }
        let f = try fs.open("public", flags: O_RDONLY)
        try f.close()
        XCTAssertThrowsError(try fs.open("public", flags: O_WRONLY)) { XCTAssertEqual(($0 as? GoferError)?.errno, .permissionDenied) }
        // The root directory (0755, root-owned) refuses creation to others.
        XCTAssertThrowsError(try fs.mkdir("nope")) { XCTAssertEqual(($0 as? GoferError)?.errno, .permissionDenied) }
    }
}
