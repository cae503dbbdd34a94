import Foundation
import Gofer
import LocalGofer
import P9
import TestSupport
import XCTest

/// The direct resolver (directfs): no RPC for stat, open or create on goferd at any depth, state or mode, and the
/// vfs2 route, RPC for RPC, where nothing was donated (diod).
final class DirectResolverTests: XCTestCase {
    typealias State = StatState

    /// Every mode, cacheNone included, with the direct resolver.
    static let allModes: [(String, FilesystemOptions)] = {
        var none = FilesystemOptions.cacheNone
        none.resolver = .direct
        return [("exclusive", FilesystemOptions(mode: .exclusive, resolver: .direct)),
                ("writethrough", FilesystemOptions(mode: .writethrough, resolver: .direct)),
                ("shared", FilesystemOptions(mode: .shared, resolver: .direct)), ("none", none)]
    }()

    /// (device, inode) of a host path, not following a final symlink.
    static func hostIno(_ path: String) -> UInt64 {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, path)
        return UInt64(st.st_ino)
    }

    // MARK: 0 RPCs on goferd

    func testStatCostsNoRPCAtDepths1_3_20InEveryStateAndMode() throws {
        let fx = try Fixture(.goferd)
        for (mode, options) in Self.allModes {
            for depth in [1, 3, 20] {
                for state in State.allCases {
                    let path = deepPath(depth)
                    try fx.makePath(path)
                    let fs = try fx.filesystem(options)
                    defer { fs.release() }
                    if state != .cold { _ = try fs.stat(path) }
                    let cachedIno = Self.hostIno(fx.export.appending(path))
                    if state == .replaced { try fx.replace(path) }
                    let (st, types) = try rpcs(fs) { try fs.stat(path) }
                    let label = "\(mode) depth \(depth) \(state)"
                    XCTAssertEqual(names(types), [], label)
                    if options.mode != .shared && state == .replaced {
                        XCTAssertEqual(st.ino, cachedIno, "\(label): the trusted cache does not notice, as with vfs2")
                    } else {
                        XCTAssertEqual(st.ino, Self.hostIno(fx.export.appending(path)), "\(label): the host's file now")
                    }
                    XCTAssertEqual(st.size, 1, label)
                }
            }
        }
    }

    func testOpenReadCloseCostsNoRPCAtDepths1_3_20InEveryStateAndMode() throws {
        let fx = try Fixture(.goferd)
        for (mode, options) in Self.allModes {
            for depth in [1, 3, 20] {
                for state in State.allCases {
                    let path = deepPath(depth)
                    try fx.makePath(path, contents: Array("x".utf8))
                    let fs = try fx.filesystem(options)
                    defer { fs.release() }
                    let openRead = { () throws -> [UInt8] in
                        let f = try fs.open(path, flags: O_RDONLY)
                        defer { try? f.close() }
                        XCTAssertTrue(f.handle.hasHostFD)
                        XCTAssertNil(f.handle.file, "the handle is the host descriptor only: no fid")
                        var buf = [UInt8](repeating: 0, count: 8)
                        let n = try buf.withUnsafeMutableBytes { try f.read(into: $0) }
                        return Array(buf[..<n])
                    }
                    if state != .cold { XCTAssertEqual(try openRead(), Array("x".utf8)) }
                    if state == .replaced { try fx.replace(path) }
                    let (got, types) = try rpcs(fs, openRead)
                    let label = "\(mode) depth \(depth) \(state)"
                    XCTAssertEqual(names(types), [], label)
                    // Exclusive and Writethrough keep the handle with the dentry (the old file's), as vfs2 does.
                    let expected = state == .replaced && options.mode != .shared ? "x" : (state == .replaced ? "y" : "x")
                    XCTAssertEqual(got, Array(expected.utf8), label)
                }
            }
        }
    }

    /// create (O_CREAT|O_EXCL) + write + close, then unlink: cold, nothing cached; warm, the parent folder cached;
    /// replaced, the parent folder replaced in the export after it was cached (at depth 1 the parent is the root,
    /// which cannot be: there a cached entry of the root is replaced instead).
    func testCreateAndUnlinkCostNoRPCAtDepths1_3_20InEveryStateAndMode() throws {
        let fx = try Fixture(.goferd)
        for (mode, options) in Self.allModes {
            for depth in [1, 3, 20] {
                for state in State.allCases {
                    let leaf = deepPath(depth)
                    try fx.makePath(leaf)
                    let parent = leaf.split(separator: "/").dropLast().joined(separator: "/")
                    let path = parent.isEmpty ? "new" : parent + "/new"
                    let fs = try fx.filesystem(options)
                    defer { fs.release() }
                    if state != .cold { _ = try fs.stat(parent.isEmpty ? leaf : parent) }
                    if state == .replaced {
                        if parent.isEmpty {
                            try fx.replace(leaf)
                        } else {
                            XCTAssertEqual(Foundation.rename(fx.export.appending(parent), fx.export.appending(parent + ".old")), 0)
                            try fx.makePath(leaf)
                        }
                    }
                    let label = "\(mode) depth \(depth) \(state)"
                    let (_, created) = try rpcs(fs) { () throws in
                        let f = try fs.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
                        _ = try Array("z".utf8).withUnsafeBytes { try f.write(from: $0) }
                        try f.close()
                    }
                    XCTAssertEqual(names(created), [], label)
                    XCTAssertEqual(try fx.export.read(path), Array("z".utf8), "\(label): made in the export's folder of that name")
                    let (_, unlinked) = try rpcs(fs) { try fs.unlink(path) }
                    XCTAssertEqual(names(unlinked), [], label)
                    XCTAssertFalse(FileManager.default.fileExists(atPath: fx.export.appending(path)), label)
                    if state == .replaced && !parent.isEmpty {
                        try FileManager.default.removeItem(atPath: fx.export.appending(parent + ".old"))
                    }
                }
            }
        }
    }

    func testEveryOtherOperationCostsNoRPCOnGoferd() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/f", contents: [1, 2, 3, 4])
        for (mode, options) in Self.allModes {
            let fs = try fx.filesystem(options)
            defer { fs.release() }
            let (_, types) = try rpcs(fs) { () throws in
                try fs.mkdir("a/d", mode: 0o750)
                XCTAssertEqual(try fs.stat("a/d").mode & 0o777, 0o750)
                try fs.symlink("../f", at: "a/d/l")
                XCTAssertEqual(try fs.readlink("a/d/l"), "../f")
                XCTAssertEqual(try fs.stat("a/d/l").size, 4, "a relative symlink that stays inside is followed")
                XCTAssertTrue(try fs.lstat("a/d/l").isSymlink)
                let listing = try fs.readdir("a")
                XCTAssertEqual(Set(listing.map(\.name)), ["f", "d"])
                XCTAssertEqual(listing.first { $0.name == "f" }?.ino, Self.hostIno(fx.export.appending("a/f")))
                XCTAssertEqual(listing.first { $0.name == "d" }?.type, .directory)
                try fs.truncate("a/f", size: 2)
                XCTAssertEqual(try fx.export.read("a/f"), [1, 2])
                XCTAssertEqual(try fs.stat("a/f").size, 2)
                try fs.chmod("a/f", mode: 0o604)
                XCTAssertEqual(try fs.stat("a/f").mode & 0o7777, 0o604)
                try fs.setTimes("a/f", atime: Timespec(sec: 1_000_000, nsec: 7), mtime: Timespec(sec: 2_000_000, nsec: 9))
                let st = try fs.stat("a/f")
                XCTAssertEqual(st.mtime, Timespec(sec: 2_000_000, nsec: 9))
                XCTAssertEqual(st.atime, Timespec(sec: 1_000_000, nsec: 7))
                let host = try FileManager.default.attributesOfItem(atPath: fx.export.appending("a/f"))
                XCTAssertEqual((host[.modificationDate] as? Date)?.timeIntervalSince1970, 2_000_000, "written at once, every mode")
                try fs.rename("a/f", to: "a/d/g")
                XCTAssertThrowsError(try fs.stat("a/f")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) }
                XCTAssertEqual(try fs.stat("a/d/g").size, 2)
                XCTAssertThrowsError(try fs.stat("a/d/l")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) }
                // The errors of the syscalls.
                XCTAssertThrowsError(try fs.mkdir("a/d")) { XCTAssertEqual(($0 as? GoferError)?.errno, .fileExists) }
                XCTAssertThrowsError(try fs.rmdir("a/d/g")) { XCTAssertEqual(($0 as? GoferError)?.errno, .notDirectory) }
                XCTAssertThrowsError(try fs.unlink("a/d")) { XCTAssertEqual(($0 as? GoferError)?.errno, .isDirectory) }
                XCTAssertThrowsError(try fs.readlink("a/d/g")) { XCTAssertEqual(($0 as? GoferError)?.errno, .invalidArgument) }
                XCTAssertThrowsError(try fs.rmdir("a/d")) { XCTAssertEqual(($0 as? GoferError)?.errno, .directoryNotEmpty) }
                XCTAssertThrowsError(try fs.stat("a/d/g/x")) { XCTAssertEqual(($0 as? GoferError)?.errno, .notDirectory) }
                // Back to the start.
                try fs.unlink("a/d/l")
                try fs.rename("a/d/g", to: "a/f")
                try fs.rmdir("a/d")
                XCTAssertThrowsError(try fs.unlink("a/d/g")) { XCTAssertEqual(($0 as? GoferError)?.errno, .noSuchFileOrDirectory) }
            }
            XCTAssertEqual(names(types), [], mode)
            try fx.export.write("a/f", [1, 2, 3, 4])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fx.export.appending("a")), ["f"], mode)
        }
    }

    func testStatMatchesTheVFS2Route() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/f", contents: patternBytes(3000))
        XCTAssertEqual(Foundation.symlink("b/f", fx.export.appending("a/l")), 0)
        let direct = try fx.filesystem(FilesystemOptions(mode: .shared, resolver: .direct))
        let vfs2 = try fx.filesystem(FilesystemOptions(mode: .shared))
        defer { direct.release(); vfs2.release() }
        for path in ["a", "a/b", "a/b/f", "a/l", "./a/b/f", "a//b/f", "/a/b/f", "a/b/../b/f", "a/b/f/", "a/.", "a/..", ".", "..",
                     "a/./l", "a/b/../l"] {
            XCTAssertEqual(try direct.stat(path), try vfs2.stat(path), path)
            XCTAssertEqual(try direct.lstat(path), try vfs2.lstat(path), path)
        }
        XCTAssertEqual(try direct.readdir("a/b"), try vfs2.readdir("a/b"))
        for path in ["a/b/g", "a/x/f", "x", "a/b/f/x"] {
            var errors: [GoferError?] = []
            for fs in [direct, vfs2] { XCTAssertThrowsError(try fs.stat(path)) { errors.append($0 as? GoferError) } }
            XCTAssertEqual(errors.map { $0?.errno }, [errors[0]?.errno, errors[0]?.errno], path)
            XCTAssertNotNil(errors.first ?? nil, path)
        }
    }

    // MARK: mounting, and what the server still does

    /// Descriptors a mount adds to this process (client and in-process server together), and its RPCs.
    private func mount(_ client: Client, _ options: FilesystemOptions) throws -> (fs: Filesystem, descriptors: Int, rpcs: [String]) {
        let before = openDescriptorCount()
        let (fs, types) = try rpcsOn(client) { try Filesystem(client: client, options: options) }
        return (fs, openDescriptorCount() - before, names(types))
    }

    func testMountAsksForTheRootOnceAndReleaseClosesIt() throws {
        let fx = try Fixture(.goferd)
        let client = try fx.connect()
        let before = openDescriptorCount()
        let vfs2 = try mount(client, FilesystemOptions())
        XCTAssertEqual(vfs2.rpcs, ["Tattach", "Tgetattr"], "other resolvers never ask")
        let direct = try mount(client, FilesystemOptions(resolver: .direct))
        XCTAssertEqual(direct.rpcs, ["Tattach", "Tgetattr", "Tdonateroot"])
        // The in-process server closes its copy of the donated root after the reply is out: wait for that, then
        // this mount holds exactly one descriptor more than the vfs2 one (the donated root).
        XCTAssertTrue(waitUntil { openDescriptorCount() - before == 2 * vfs2.descriptors + 1 },
                      "the donated root (\(openDescriptorCount() - before) descriptors for two mounts)")
        direct.fs.release()
        vfs2.fs.release()
        XCTAssertEqual(openDescriptorCount(), before, "closed on release")
    }

    func testWhatNeedsTheServerTakesTheVFS2Route() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("d/f", contents: [5, 6])
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, resolver: .direct))
        defer { fs.release() }
        // statfs describes the export as the server reports it.
        let (_, statfs) = try rpcs(fs) { _ = try fs.statfs() }
        XCTAssertEqual(names(statfs), ["Tstatfs"])
        // A directory is opened by the server (stat first, so that only the open's own RPCs remain).
        _ = try fs.stat("d")
        let (_, dir) = try rpcs(fs) { try fs.open("d", flags: O_RDONLY).close() }
        XCTAssertEqual(names(dir), ["Twalk", "Twalk", "Tlopen", "Tclunk"],
                       "a fid walked for the fid-less dentry (kept), its clone opened, the clone clunked at close")
        // hostFDs off asks for the 9P data path: the open is the vfs2 route, stat stays direct.
        let nineP = try fx.filesystem(FilesystemOptions(mode: .exclusive, resolver: .direct, hostFDs: false))
        defer { nineP.release() }
        XCTAssertEqual(try rpcs(nineP) { try nineP.stat("d/f") }.types, [])
        let (_, open) = try rpcs(nineP) { () throws -> Int in
            let f = try nineP.open("d/f", flags: O_RDONLY)
            defer { try? f.close() }
            XCTAssertFalse(f.handle.hasHostFD)
            var buf = [UInt8](repeating: 0, count: 4)
            return try buf.withUnsafeMutableBytes { try f.read(into: $0) }
        }
        XCTAssertEqual(names(open), ["Twalk", "Tlopen", "Tread"])
    }

    func testAReadOnlyGoferdDonatesNothingAndDirectIsTheVFS2Route() throws {
        let export = try TemporaryDirectory(prefix: "direct-ro")
        defer { export.remove() }
        try export.write("a/b/f", [1])
        let server = Server(fileServer: try LocalGofer(root: export.path, options: LocalGoferOptions(readOnly: true)),
                            options: ServerOptions(workers: 2, readOnly: true))
        defer { server.stop() }
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv), 0)
        server.serve(fd: sv[1])
        let client = try Client(transport: StreamTransport(fd: sv[0]))
        defer { client.close() }
        let vfs2 = try mount(client, FilesystemOptions(mode: .shared))
        vfs2.fs.release()
        let (fs, descriptors, mountRPCs) = try mount(client, FilesystemOptions(mode: .shared, resolver: .direct))
        defer { fs.release() }
        XCTAssertEqual(mountRPCs, ["Tattach", "Tgetattr", "Tdonateroot"], "asked, refused (EROFS)")
        XCTAssertEqual(descriptors, vfs2.descriptors, "nothing donated that could be opened for writing")
        let (_, types) = try rpcs(fs) { try fs.stat("a/b/f") }
        XCTAssertEqual(names(types), ["Tgetattr", "Twalkgetattr", "Twalkgetattr", "Twalkgetattr"], "vfs2 Shared cold: N+1")
        XCTAssertThrowsError(try fs.open("a/new", flags: O_WRONLY | O_CREAT)) {
            XCTAssertEqual(($0 as? GoferError)?.errno, .readOnlyFileSystem)
        }
        XCTAssertThrowsError(try fs.open("a/b/f", flags: O_WRONLY)) { XCTAssertEqual(($0 as? GoferError)?.errno, .readOnlyFileSystem) }
    }

    // MARK: the trusted cache

    func testExclusiveCacheFollowsTheResolversOwnChanges() throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("d/keep")
        XCTAssertEqual(Foundation.symlink("d", fx.export.appending("l")), 0)
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive, resolver: .direct))
        defer { fs.release() }
        func failure(_ body: () throws -> Void) -> GoferError? {
            do { try body(); return nil } catch { return error as? GoferError }
        }
        // A cached negative entry, then the file made through the cached folder and through a symlink to it.
        XCTAssertEqual(failure { _ = try fs.stat("d/x") }?.errno, .noSuchFileOrDirectory)
        try fs.open("d/x", flags: O_WRONLY | O_CREAT).close()
        XCTAssertEqual(try fs.stat("d/x").size, 0)
        XCTAssertEqual(failure { _ = try fs.stat("d/y") }?.errno, .noSuchFileOrDirectory)
        try fs.open("l/y", flags: O_WRONLY | O_CREAT).close()
        XCTAssertEqual(try fs.stat("d/y").size, 0, "made through a symlink: the aliased negative entry is gone")
        try fs.unlink("l/y")
        XCTAssertEqual(failure { _ = try fs.stat("d/y") }?.errno, .noSuchFileOrDirectory)
        try fs.mkdir("l/sub")
        XCTAssertTrue(try fs.stat("d/sub").isDirectory)
        XCTAssertEqual(Set(try fs.readdir("d").map(\.name)), ["keep", "x", "sub"])
        try fs.rename("d/x", to: "d/sub/x")
        XCTAssertEqual(Set(try fs.readdir("d").map(\.name)), ["keep", "sub"], "the cached listing was dropped")
        XCTAssertEqual(try fs.stat("d/sub/x").size, 0)
        try fs.truncate("l/sub/x", size: 10)
        XCTAssertEqual(try fs.stat("d/sub/x").size, 10, "changed through a symlink: the cached attributes are gone")
        // The trusted cache does not notice changes made behind its back, by design.
        XCTAssertEqual(Set(try fs.readdir("d").map(\.name)), ["keep", "sub"])
        try fx.export.write("d/behind", [1])
        XCTAssertEqual(Set(try fs.readdir("d").map(\.name)), ["keep", "sub"])
        try fs.dropCaches()
        XCTAssertEqual(Set(try fs.readdir("d").map(\.name)), ["keep", "sub", "behind"])
    }
}

/// The operation suite with the direct resolver: against goferd (direct) and diod (the vfs2 route).
final class DirectOperationSuite: XCTestCase {
    func testGoferdExclusive() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .exclusive, resolver: .direct)) }
    func testGoferdWritethrough() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .writethrough, resolver: .direct)) }
    func testGoferdShared() throws { try OperationSuite.run(.goferd, FilesystemOptions(mode: .shared, resolver: .direct)) }
    func testGoferdCacheNone() throws { try OperationSuite.run(.goferd, DirectResolverTests.allModes[3].1) }
    func testGoferdNoHostFDs() throws {
        try OperationSuite.run(.goferd, FilesystemOptions(mode: .exclusive, resolver: .direct, hostFDs: false))
    }
    func testDiodExclusive() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .exclusive, resolver: .direct)) }
    func testDiodShared() throws { try OperationSuite.run(.diod, FilesystemOptions(mode: .shared, resolver: .direct)) }
}
