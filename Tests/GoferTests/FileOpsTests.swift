import CShims
import Foundation
import Gofer
import Glibc
import P9
import Synchronization
import SystemPackage
import TestSupport
import XCTest

/// Links, mknod, xattrs, fallocate and locks through the Filesystem API, over goferd and diod, with the RPCs each
/// sends and what the cache makes of them.
final class FileOpsTests: XCTestCase {
    private func errno(_ body: () throws -> Void, line: UInt = #line) -> Errno? {
        do { try body() } catch { return (error as? GoferError)?.errno }
        XCTFail("no error", line: line)
        return nil
    }

    private func hostStat(_ fx: Fixture, _ path: String) -> stat? {
        var st = stat()
        return lstat(fx.export.appending(path), &st) == 0 ? st : nil
    }

    private func hostXattr(_ fx: Fixture, _ path: String, _ name: String) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { getxattr(fx.export.appending(path), name, $0.baseAddress, $0.count) }
        return n < 0 ? nil : Array(buf[..<n])
    }

    // MARK: link

    /// link(2) RPCs from cold and warm, the cached nlink and new name, and EEXIST.
    private func checkLink(_ kind: Fixture.Kind, _ mode: InteropMode, cold: [String], warm: [String]) throws {
        let fx = try Fixture(kind)
        try fx.makePath("d/f", contents: Array("abc".utf8))
        try fx.makePath("d/taken")
        let fs = try fx.filesystem(FilesystemOptions(mode: mode))
        XCTAssertEqual(names(try rpcs(fs) { try fs.link("d/f", to: "d/g") }.types), cold, "\(kind) \(mode) cold")
        XCTAssertEqual(hostStat(fx, "d/g")?.st_ino, hostStat(fx, "d/f")?.st_ino)
        XCTAssertEqual(hostStat(fx, "d/f")?.st_nlink, 2)
        _ = try fs.stat("d/f")
        XCTAssertEqual(names(try rpcs(fs) { try fs.link("d/f", to: "d/h") }.types), warm, "\(kind) \(mode) warm")
        let (st, statTypes) = try rpcs(fs) { try fs.stat("d/h") }
        XCTAssertEqual(st.nlink, 3)
        XCTAssertEqual(st.size, 3)
        if mode == .exclusive {
            XCTAssertEqual(statTypes, [], "the new name is cached")
            XCTAssertEqual(try fs.stat("d/f").nlink, 3, "the target's cached nlink follows")
            let (e, types) = rpcs(fs) { self.errno { try fs.link("d/f", to: "d/h") } }
            XCTAssertEqual(e, .fileExists)
            XCTAssertEqual(types, [], "a cached name: EEXIST without an RPC")
        }
        XCTAssertEqual(errno { try fs.link("d/f", to: "d/taken") }, .fileExists)
        XCTAssertEqual(errno { try fs.link("d", to: "dirlink") }, .notPermitted)
        XCTAssertEqual(errno { try fs.link("d/missing", to: "d/x") }, .noSuchFileOrDirectory)
        // Data written through one name reads back through the other.
        let w = try fs.open("d/h", flags: O_WRONLY | O_TRUNC)
        XCTAssertEqual(try Array("xyz!".utf8).withUnsafeBytes { try w.write(from: $0) }, 4)
        try w.fsync()
        try w.close()
        XCTAssertEqual(try fx.export.read("d/f"), Array("xyz!".utf8))
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0, "fids leaked")
    }

    func testLinkOnGoferd() throws {
        try checkLink(.goferd, .exclusive, cold: ["Twalkgetattr", "Twalkgetattr", "Tlink"], warm: ["Tlink"])
        try checkLink(.goferd, .shared,
                      cold: ["Tgetattr", "Twalkgetattr", "Twalkgetattr", "Tgetattr", "Twalkgetattr", "Tclunk", "Tlink"],
                      warm: ["Tgetattr", "Twalkgetattr", "Tclunk", "Twalkgetattr", "Tclunk",
                             "Tgetattr", "Twalkgetattr", "Tclunk", "Tlink"])
    }

    func testLinkOnDiod() throws {
        try checkLink(.diod, .exclusive, cold: ["Twalk", "Tgetattr", "Twalk", "Tgetattr", "Tlink"], warm: ["Tlink"])
        try checkLink(.diod, .shared,
                      cold: ["Tgetattr", "Twalk", "Tgetattr", "Twalk", "Tgetattr",
                             "Tgetattr", "Twalk", "Tgetattr", "Tclunk", "Tlink"],
                      warm: ["Tgetattr", "Twalk", "Tgetattr", "Tclunk", "Twalk", "Tgetattr", "Tclunk",
                             "Tgetattr", "Twalk", "Tgetattr", "Tclunk", "Tlink"])
    }

    // MARK: mknod

    private func checkMknod(_ kind: Fixture.Kind, _ mode: InteropMode, rpc: String) throws {
        let fx = try Fixture(kind)
        let fs = try fx.filesystem(FilesystemOptions(mode: mode))
        XCTAssertEqual(try fs.readdir(".").map(\.name), [], "a cached listing in Exclusive")
        XCTAssertEqual(errno { _ = try fs.stat("p") }, .noSuchFileOrDirectory, "a negative entry in Exclusive")
        XCTAssertEqual(names(try rpcs(fs) { try fs.mknod("p", mode: 0o010640) }.types),
                       mode == .shared ? ["Tgetattr", rpc] : [rpc], "\(kind) \(mode)")
        XCTAssertEqual(hostStat(fx, "p").map { $0.st_mode & S_IFMT }, S_IFIFO)
        let st = try fs.stat("p")
        XCTAssertEqual(st.mode & 0o170000, 0o010000, "the negative entry was dropped")
        XCTAssertEqual(st.mode & 0o777, 0o640)
        XCTAssertEqual(try fs.readdir(".").map(\.name), ["p"], "the listing was dropped")
        XCTAssertEqual(errno { try fs.mknod("p", mode: 0o010640) }, .fileExists)
        XCTAssertEqual(errno { try fs.mknod("dir", mode: 0o040755) }, .invalidArgument)
        try fs.mknod("plain", mode: 0o644)
        XCTAssertEqual(hostStat(fx, "plain").map { $0.st_mode & S_IFMT }, S_IFREG)
        if kind == .goferd {
            XCTAssertEqual(errno { try fs.mknod("null", mode: 0o020666, device: 0x103) }, .notPermitted)
            XCTAssertNil(hostStat(fx, "null"))
        }
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0, "fids leaked")
    }

    func testMknodFIFO() throws {
        for mode in [InteropMode.exclusive, .shared] {
            try checkMknod(.goferd, mode, rpc: "Tumknod")
            try checkMknod(.diod, mode, rpc: "Tmknod")
        }
    }

    // MARK: xattrs

    private func checkXattrs(_ kind: Fixture.Kind, _ mode: InteropMode, expect: [String: [String]]) throws {
        let fx = try Fixture(kind)
        try fx.makePath("d/f")
        let fs = try fx.filesystem(FilesystemOptions(mode: mode))
        _ = try fs.stat("d/f")
        let fids = fs.client.fidsInUse
        let value = Array("hello, xattr".utf8)
        XCTAssertEqual(names(try rpcs(fs) { try fs.setxattr("d/f", name: "user.k", value: value) }.types), expect["set"])
        XCTAssertEqual(hostXattr(fx, "d/f", "user.k"), value)
        let (got, getTypes) = try rpcs(fs) { try fs.getxattr("d/f", name: "user.k") }
        XCTAssertEqual(got, value)
        XCTAssertEqual(names(getTypes), expect["get"])
        try fs.setxattr("d/f", name: "user.other", value: [0, 1, 2])
        let (list, listTypes) = try rpcs(fs) { try fs.listxattr("d/f") }
        XCTAssertEqual(Set(list.filter { $0.hasPrefix("user.") }), ["user.k", "user.other"])
        XCTAssertEqual(names(listTypes), expect["list"])
        XCTAssertEqual(errno { _ = try fs.getxattr("d/f", name: "user.missing") }, .noData)
        XCTAssertEqual(errno { try fs.setxattr("d/f", name: "user.k", value: [9], flags: 1) }, .fileExists)
        XCTAssertEqual(errno { try fs.setxattr("d/f", name: "user.new", value: [9], flags: 2) }, .noData)
        XCTAssertEqual(errno { try fs.setxattr("d/f", name: "user.k", value: [9], flags: 4) }, .invalidArgument)
        XCTAssertEqual(hostXattr(fx, "d/f", "user.k"), value, "refused changes left the value")
        try fs.setxattr("d/f", name: "user.k", value: [7], flags: 2)
        XCTAssertEqual(try fs.getxattr("d/f", name: "user.k"), [7])
        XCTAssertEqual(names(try rpcs(fs) { try fs.removexattr("d/f", name: "user.k") }.types), expect["remove"])
        XCTAssertNil(hostXattr(fx, "d/f", "user.k"))
        XCTAssertEqual(errno { try fs.removexattr("d/f", name: "user.k") }, .noData)
        XCTAssertEqual(errno { _ = try fs.getxattr("d/nope", name: "user.k") }, .noSuchFileOrDirectory)
        XCTAssertEqual(fs.client.fidsInUse, fids, "every xattr fid was clunked")
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0, "fids leaked")
    }

    func testXattrsOnGoferd() throws {
        try checkXattrs(.goferd, .exclusive, expect: [
            "set": ["Tsetxattr"], "get": ["Tgetxattr"], "list": ["Tlistxattr"], "remove": ["Tremovexattr"],
        ])
        let walk = ["Tgetattr", "Twalkgetattr", "Tclunk", "Twalkgetattr", "Tclunk"]
        try checkXattrs(.goferd, .shared, expect: [
            "set": walk + ["Tsetxattr"], "get": walk + ["Tgetxattr"], "list": walk + ["Tlistxattr"],
            "remove": walk + ["Tremovexattr"],
        ])
    }

    func testXattrsOnDiodUseXattrFids() throws {
        try checkXattrs(.diod, .exclusive, expect: [
            "set": ["Twalk", "Txattrcreate", "Twrite", "Tclunk"], "get": ["Txattrwalk", "Tread", "Tclunk"],
            "list": ["Txattrwalk", "Tread", "Tclunk"], "remove": ["Twalk", "Txattrcreate", "Tclunk"],
        ])
    }

    // MARK: fallocate

    private func checkAllocate(_ options: FilesystemOptions, expect: [String]) throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("f", contents: [1, 2, 3])
        let fs = try fx.filesystem(options)
        let f = try fs.open("f", flags: O_RDWR)
        XCTAssertEqual(names(try rpcs(fs) { try f.allocate(mode: 0, offset: 0, length: 8192) }.types), expect)
        XCTAssertEqual(hostStat(fx, "f")?.st_size, 8192)
        XCTAssertEqual(f.size(), 8192)
        XCTAssertEqual(try fs.stat("f").size, 8192, "\(options.mode): the cached size follows")
        try f.allocate(mode: 0x01, offset: 8192, length: 4096)  // KEEP_SIZE
        XCTAssertEqual(hostStat(fx, "f")?.st_size, 8192)
        XCTAssertEqual(try fs.stat("f").size, 8192)
        var back = [UInt8](repeating: 9, count: 3)
        XCTAssertEqual(try back.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }, 3)
        XCTAssertEqual(back, [1, 2, 3], "read once (cached where the mode caches data)")
        try f.allocate(mode: 0x02 | 0x01, offset: 0, length: 4096)  // PUNCH_HOLE
        XCTAssertEqual(try back.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }, 3)
        XCTAssertEqual(back, [0, 0, 0], "the punched bytes read as zeros (no stale page)")
        XCTAssertEqual(errno { try f.allocate(mode: 0, offset: 0, length: 0) }, .invalidArgument)
        try f.close()
        let r = try fs.open("f", flags: O_RDONLY)
        XCTAssertEqual(errno { try r.allocate(mode: 0, offset: 0, length: 1) }, .badFileDescriptor)
        try r.close()
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0, "fids leaked")
    }

    func testAllocateOnGoferd() throws {
        try checkAllocate(FilesystemOptions(mode: .exclusive), expect: [])  // the donated host FD: no RPC
        try checkAllocate(FilesystemOptions(mode: .exclusive, hostFDs: false), expect: ["Tallocate"])
        try checkAllocate(FilesystemOptions(mode: .writethrough, hostFDs: false), expect: ["Tallocate"])
        try checkAllocate(FilesystemOptions(mode: .shared, hostFDs: false), expect: ["Tallocate"])
    }

    func testAllocateOnDiodIsNotSupported() throws {
        let fx = try Fixture(.diod)
        try fx.makePath("f", contents: [1, 2, 3])
        let fs = try fx.filesystem(FilesystemOptions(mode: .exclusive))
        let f = try fs.open("f", flags: O_RDWR)
        let (e, types) = rpcs(fs) { errno { try f.allocate(mode: 0, offset: 0, length: 8192) } }
        XCTAssertEqual(e, .notSupported)
        XCTAssertEqual(types, [], "Tallocate is never sent to a plain 9P2000.L server (diod would close the connection)")
        XCTAssertEqual(try fs.stat("f").size, 3)
        try f.close()
        fs.release()
    }

    // MARK: locks

    private func checkLocks(_ kind: Fixture.Kind, _ mode: InteropMode) throws {
        let fx = try Fixture(kind)
        try fx.makePath("f", contents: [UInt8](repeating: 0, count: 100))
        let a = try fx.filesystem(FilesystemOptions(mode: mode))
        let b = try fx.filesystem(FilesystemOptions(mode: mode))
        let fa = try a.open("f", flags: O_RDWR)
        let fb = try b.open("f", flags: O_RDWR)
        let (s1, t1) = try rpcs(a) { try fa.lock(type: .writeLock, start: 0, length: 0, pid: 11, wait: false) }
        XCTAssertEqual(s1, .success)
        XCTAssertEqual(names(t1), ["Twalk", "Tlopen", "Tlock"], "the first lock of a process opens its lock handle")
        XCTAssertEqual(names(try rpcs(a) { try fa.lock(type: .writeLock, start: 0, length: 0, pid: 11, wait: false) }.types),
                       ["Tlock"], "then one Tlock")
        XCTAssertEqual(try fb.lock(type: .writeLock, start: 0, length: 0, pid: 22, wait: false), .blocked, "\(kind) \(mode)")
        let (info, t2) = try rpcs(b) { try fb.getlock(type: .writeLock, start: 0, length: 0, pid: 22) }
        XCTAssertEqual(names(t2), ["Tgetlock"])
        XCTAssertEqual(info?.type, .writeLock)
        XCTAssertNil(try fa.getlock(type: .writeLock, start: 0, length: 0, pid: 11), "its own lock does not conflict")
        // A waiter gets the lock once the holder lets go.
        let got = Mutex<LockStatus?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let s = try? fb.lock(type: .writeLock, start: 0, length: 0, pid: 22, wait: true)
            got.withLock { $0 = s }
            done.signal()
        }.start()
        XCTAssertEqual(try fa.lock(type: .unlock, start: 0, length: 0, pid: 11, wait: false), .success)
        done.wait()
        XCTAssertEqual(got.withLock { $0 }, .success)
        XCTAssertEqual(try fa.lock(type: .writeLock, start: 0, length: 0, pid: 11, wait: false), .blocked)
        XCTAssertEqual(try fb.lock(type: .unlock, start: 0, length: 0, pid: 22, wait: false), .success)
        XCTAssertEqual(try fa.lock(type: .readLock, start: 0, length: 0, pid: 11, wait: false), .success)
        XCTAssertEqual(try fb.lock(type: .readLock, start: 0, length: 0, pid: 22, wait: false), .success, "readers share")
        let ro = try a.open("f", flags: O_RDONLY)
        XCTAssertEqual(errno { _ = try ro.lock(type: .writeLock, start: 0, length: 0, pid: 11, wait: false) }, .badFileDescriptor)
        try ro.close()
        try fa.close()
        try fb.close()
        a.release()
        b.release()
        XCTAssertEqual(a.client.fidsInUse + b.client.fidsInUse, 0, "fids leaked")
    }

    /// Two processes of one filesystem conflict (each has its own lock handle), one process never conflicts with
    /// itself across descriptions, and the file's last close drops every lock.
    private func checkLocksBetweenProcesses(_ kind: Fixture.Kind, _ options: FilesystemOptions) throws {
        let fx = try Fixture(kind)
        try fx.makePath("f", contents: [UInt8](repeating: 0, count: 100))
        let fs = try fx.filesystem(options)
        let other = try fx.filesystem(options)
        let fids = fs.client.fidsInUse
        let d1 = try fs.open("f", flags: O_RDWR)
        let d2 = try fs.open("f", flags: O_RDWR)
        let label = "\(kind) \(options.mode)"
        XCTAssertEqual(names(try rpcs(fs) { try d1.lock(type: .unlock, start: 0, length: 0, pid: 1, wait: false) }.types), [],
                       "unlocking what a process never locked sends nothing")
        XCTAssertEqual(try d1.lock(type: .writeLock, start: 0, length: 0, pid: 1, wait: false), .success, label)
        XCTAssertEqual(try d2.lock(type: .writeLock, start: 0, length: 0, pid: 1, wait: false), .success, "\(label): same process")
        XCTAssertEqual(try d2.lock(type: .writeLock, start: 0, length: 0, pid: 2, wait: false), .blocked, "\(label): another process")
        XCTAssertEqual(try d2.getlock(type: .readLock, start: 0, length: 0, pid: 2)?.type, .writeLock, label)
        XCTAssertNil(try d2.getlock(type: .writeLock, start: 0, length: 0, pid: 1), "\(label): its own lock")
        let o = try other.open("f", flags: O_RDWR)
        XCTAssertEqual(try o.lock(type: .writeLock, start: 0, length: 0, pid: 1, wait: false), .blocked, "\(label): another client")
        try d1.close()
        XCTAssertEqual(try o.lock(type: .writeLock, start: 0, length: 0, pid: 1, wait: false), .blocked, "\(label): one description left")
        try d2.close()
        XCTAssertEqual(try o.lock(type: .writeLock, start: 0, length: 0, pid: 1, wait: false), .success, "\(label): the last close unlocked")
        try o.close()
        try fs.dropCaches()
        XCTAssertEqual(fs.client.fidsInUse, fids, "\(label): the lock handles were clunked")
        fs.release()
        other.release()
    }

    func testLocksBetweenProcessesOfOneFilesystem() throws {
        for options in [FilesystemOptions(mode: .exclusive), FilesystemOptions(mode: .shared), .cacheNone,
                        FilesystemOptions(mode: .exclusive, resolver: .direct)] {
            try checkLocksBetweenProcesses(.goferd, options)
        }
        try checkLocksBetweenProcesses(.diod, FilesystemOptions(mode: .exclusive))
    }

    func testLocksBetweenClients() throws {
        for mode in [InteropMode.exclusive, .shared] {
            try checkLocks(.goferd, mode)
            try checkLocks(.diod, mode)
        }
    }
}

/// The same operations through every resolver that serves both modes (multi's fid-less dentries, direct's donated
/// root, where a handle may be a bare host descriptor): results, not counts.
final class FileOpsResolverTests: XCTestCase {
    func testEveryResolver() throws {
        for resolver in [ResolverKind.vfs2, .multi, .direct] {
            for mode in [InteropMode.exclusive, .shared] {
                try run(FilesystemOptions(mode: mode, resolver: resolver), "\(resolver) \(mode)")
            }
        }
    }

    private func run(_ options: FilesystemOptions, _ label: String) throws {
        let fx = try Fixture(.goferd)
        try fx.makePath("a/b/f", contents: [1, 2, 3])
        let fs = try fx.filesystem(options)
        let other = try fx.filesystem(options)
        XCTAssertEqual(try fs.stat("a/b/f").nlink, 1, label)
        try fs.link("a/b/f", to: "a/g")
        XCTAssertEqual(try fs.stat("a/g").nlink, 2, label)
        XCTAssertEqual(try fs.stat("a/g").ino, try fs.stat("a/b/f").ino, label)
        XCTAssertEqual(Set(try fs.readdir("a").map(\.name)), ["b", "g"], label)
        try fs.mknod("a/b/p", mode: 0o010600)
        XCTAssertEqual(try fs.lstat("a/b/p").mode & 0o170000, 0o010000, label)
        try fs.setxattr("a/g", name: "user.v", value: [4, 5])
        XCTAssertEqual(try fs.getxattr("a/b/f", name: "user.v"), [4, 5], label)
        XCTAssertEqual(try fs.listxattr("a/b/f").filter { $0.hasPrefix("user.") }, ["user.v"], label)
        try fs.removexattr("a/b/f", name: "user.v")
        XCTAssertThrowsError(try fs.getxattr("a/g", name: "user.v"), label) { XCTAssertEqual(($0 as? GoferError)?.errno, .noData) }
        let f = try fs.open("a/g", flags: O_RDWR)
        try f.allocate(mode: 0, offset: 0, length: 5000)
        if options.mode == .shared {
            XCTAssertEqual(try fs.stat("a/b/f").size, 5000, "\(label): the other name, revalidated")
        }
        XCTAssertEqual(try fs.stat("a/g").size, 5000, label)
        let o = try other.open("a/b/f", flags: O_RDWR)
        XCTAssertEqual(try f.lock(type: .writeLock, start: 0, length: 0, pid: 1, wait: false), .success, label)
        XCTAssertEqual(try o.lock(type: .writeLock, start: 0, length: 0, pid: 2, wait: false), .blocked, label)
        XCTAssertEqual(try o.getlock(type: .readLock, start: 0, length: 0, pid: 2)?.type, .writeLock, label)
        XCTAssertEqual(try f.lock(type: .unlock, start: 0, length: 0, pid: 1, wait: false), .success, label)
        XCTAssertNil(try o.getlock(type: .writeLock, start: 0, length: 0, pid: 2), label)
        try o.close()
        try f.close()
        fs.release()
        other.release()
        XCTAssertEqual(fs.client.fidsInUse + other.client.fidsInUse, 0, "\(label): fids leaked")
    }
}
