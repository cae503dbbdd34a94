import Foundation
import Glibc
import Gofer
import P9
import Synchronization
import SystemPackage
import TestSupport
import XCTest

/// Threads linking, unlinking, setting xattrs, making FIFOs and locking on one `Filesystem` while another lists
/// and stats: every result is the expected one and no fid outlives the filesystem.
final class FileOpsConcurrencyTests: XCTestCase {
    func testLinksXattrsAndLocksFromManyThreads() throws {
        for options in [FilesystemOptions(mode: .exclusive), FilesystemOptions(mode: .shared),
                        FilesystemOptions(mode: .exclusive, resolver: .multi, maxCachedDentries: 8),
                        FilesystemOptions(mode: .exclusive, resolver: .direct)] {
            try run(options)
        }
    }

    private func run(_ options: FilesystemOptions) throws {
        let fx = try Fixture(.goferd)
        let threads = 4, rounds = 30
        for t in 0..<threads { try fx.makePath("src\(t)", contents: [UInt8(t)]) }
        try fx.makePath("dir/.keep")
        let fs = try fx.filesystem(options)
        let failures = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let group = DispatchGroup()
        let listerDone = DispatchSemaphore(value: 0)
        let label = "\(options.mode) \(options.resolver)"
        @Sendable func record(_ what: String) { failures.withLock { $0.append("\(label): \(what)") } }
        for t in 0..<threads {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let f = try fs.open("src\(t)", flags: O_RDWR)
                    for i in 0..<rounds {
                        let name = "dir/l\(t)-\(i)"
                        try fs.link("src\(t)", to: name)
                        try fs.setxattr(name, name: "user.i", value: [UInt8(i)])
                        if try fs.getxattr("src\(t)", name: "user.i") != [UInt8(i)] { record("\(name): xattr") }
                        if try fs.stat(name).ino != (try fs.stat("src\(t)").ino) { record("\(name): ino") }
                        if try f.lock(type: .writeLock, start: UInt64(i), length: 1, pid: Int32(t + 1), wait: false) != .success {
                            record("\(name): own range")
                        }
                        try fs.mknod("dir/p\(t)-\(i)", mode: 0o010600)
                        try fs.unlink(name)
                        try fs.unlink("dir/p\(t)-\(i)")
                    }
                    try f.close()
                } catch {
                    record("thread \(t): \(error)")
                }
            }.start()
        }
        Thread {
            defer { listerDone.signal() }
            while !stop.load(ordering: .relaxed) {
                _ = try? fs.readdir("dir")
                for t in 0..<threads { _ = try? fs.stat("src\(t)") }
            }
        }.start()
        group.wait()  // the workers finish; then the lister is told to stop
        stop.store(true, ordering: .relaxed)
        listerDone.wait()
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try fx.export.read("src0"), [0])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: fx.export.appending("dir"))), [".keep"])
        for t in 0..<threads {
            var st = stat()
            XCTAssertEqual(lstat(fx.export.appending("src\(t)"), &st), 0)
            XCTAssertEqual(st.st_nlink, 1)
        }
        try fs.dropCaches()
        fs.release()
        XCTAssertEqual(fs.client.fidsInUse, 0, "\(label): fids leaked")
    }
}
