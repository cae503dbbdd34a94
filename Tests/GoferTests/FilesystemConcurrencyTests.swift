import Foundation
import Glibc
import Gofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// Many threads on one `Filesystem`: seeded mixed operations in every mode, and a rename storm.
///
/// Invariants: every read returns what the thread wrote, the final tree (on disk and through the client) is the
/// expected one, and no fid or descriptor outlives the filesystem.
final class FilesystemConcurrencyTests: XCTestCase {
    static let configs: [(String, FilesystemOptions)] = [
        ("exclusive-hostfd", FilesystemOptions(mode: .exclusive)),
        ("exclusive-9p", FilesystemOptions(mode: .exclusive, hostFDs: false)),
        ("exclusive-9p-small-cache", FilesystemOptions(mode: .exclusive, maxCachedDentries: 12, hostFDs: false)),
        ("writethrough-9p", FilesystemOptions(mode: .writethrough, hostFDs: false)),
        ("shared-hostfd", FilesystemOptions(mode: .shared)),
        ("shared-9p", FilesystemOptions(mode: .shared, hostFDs: false)),
        ("cachenone", .cacheNone),
        ("vfs1", FilesystemOptions(mode: .shared, resolver: .vfs1)),
        ("multi-exclusive", FilesystemOptions(mode: .exclusive, resolver: .multi)),
        ("multi-shared-9p", FilesystemOptions(mode: .shared, resolver: .multi, hostFDs: false)),
        ("direct-exclusive", FilesystemOptions(mode: .exclusive, resolver: .direct)),
        ("direct-shared", FilesystemOptions(mode: .shared, resolver: .direct)),
    ]

    static let threads = 4

    func testSeededMixedOperationsInEveryMode() throws {
        for (name, options) in Self.configs {
            for seed: UInt64 in [1, 2] {
                try runMixed(name, options, seed: seed, ops: 120)
            }
        }
    }

    private func runMixed(_ name: String, _ options: FilesystemOptions, seed: UInt64, ops: Int) throws {
        let fx = try Fixture(.goferd)
        let shared = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try fx.makePath("shared/s", contents: shared)
        for t in 0..<Self.threads { try fx.makePath("t\(t)/.keep") }
        let connection = try fx.connect()
        let fdsBefore = openDescriptors()
        let fs = try Filesystem(client: connection, options: options, aname: fx.aname)
        let failures = Locked<[String]>([])
        let models = Locked<[Int: ThreadModel]>([:])
        // A hang detector only (ThreadSanitizer slows this a lot); the rename storm is the one with the 10 s guard.
        let finished = runThreads(Self.threads, timeout: 120) { t in
            var rng = SplitMix(seed: seed &* 1000 &+ UInt64(t))
            var model = ThreadModel()
            for i in 0..<ops {
                if let problem = Self.step(fs, t, &rng, &model, shared) {
                    failures.withLock { $0.append("\(name) seed \(seed) thread \(t) op \(i): \(problem)") }
                    break
                }
            }
            models.withLock { $0[t] = model }
        }
        guard finished else { return XCTFail("\(name): threads did not finish in 120 s") }
        failures.withLock { for f in $0 { XCTFail(f) } }
        try fs.dropCaches()
        // The final tree: through the client and on disk, each thread's folder holds what its model says.
        for (t, model) in models.withLock({ $0 }) {
            let dir = "t\(t)"
            let listed = Set(try fs.readdir(dir).map(\.name))
            XCTAssertEqual(listed, model.names.union([".keep"]), "\(name): listing of \(dir)")
            let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: fx.export.appending(dir)))
            XCTAssertEqual(onDisk, model.names.union([".keep"]), "\(name): \(dir) on disk")
            for (file, bytes) in model.files {
                XCTAssertEqual(try fx.export.read("\(dir)/\(file)"), bytes, "\(name): \(dir)/\(file) on disk")
            }
        }
        let client = fs.client
        fs.release()
        XCTAssertEqual(client.fidsInUse, 0, "\(name): fids left after release")
        XCTAssertEqual(openDescriptors(), fdsBefore, "\(name): descriptors left after release")
    }

    /// One random operation of thread `t` on its own folder or the shared file; a description of what went wrong, or nil.
    private static func step(_ fs: Filesystem, _ t: Int, _ rng: inout SplitMix, _ model: inout ThreadModel,
                             _ shared: [UInt8]) -> String? {
        let dir = "t\(t)"
        let f = "f\(rng.next(4))"
        let path = "\(dir)/\(f)"
        do {
            switch rng.next(9) {
            case 0, 1:
                let bytes = (0..<Int(rng.next(9000))).map { _ in UInt8(truncatingIfNeeded: rng.next(256)) }
                guard model.dirs.contains(f) == false else { return nil }
                let file = try fs.open(path, flags: O_CREAT | O_WRONLY | O_TRUNC)
                let n = try bytes.withUnsafeBytes { try file.write(from: $0) }
                try file.close()
                if n != bytes.count { return "short write \(n) of \(bytes.count)" }
                model.files[f] = bytes
            case 2:
                let st = try? fs.stat(path)
                if let bytes = model.files[f] {
                    guard let st else { return "stat \(path) failed" }
                    if st.size != UInt64(bytes.count) { return "stat \(path): size \(st.size), wrote \(bytes.count)" }
                } else if st != nil && !model.dirs.contains(f) {
                    return "stat \(path) found a file never created"
                }
            case 3:
                guard let bytes = model.files[f] else { return nil }
                let got = try readAll(fs, path, capacity: 10_000)
                if got != bytes { return "read \(path): \(got.count) bytes differ from the \(bytes.count) written" }
            case 4:
                let exists = model.files[f] != nil
                let errno = errnoOf { () throws(GoferError) in try fs.unlink(path) }
                if exists != (errno == nil) { return "unlink \(path): \(errno.map { "\($0)" } ?? "succeeded"), exists: \(exists)" }
                if let errno, errno != .noSuchFileOrDirectory { return "unlink \(path): \(errno)" }
                model.files[f] = nil
            case 5:
                let to = "f\(rng.next(4))"
                guard let bytes = model.files[f], !model.dirs.contains(to) else { return nil }
                try fs.rename(path, to: "\(dir)/\(to)")
                model.files[f] = nil
                model.files[to] = bytes
            case 6:
                let d = "d\(rng.next(2))"
                if model.dirs.contains(d) {
                    try fs.rmdir("\(dir)/\(d)")
                    model.dirs.remove(d)
                } else {
                    try fs.mkdir("\(dir)/\(d)")
                    model.dirs.insert(d)
                }
            case 7:
                let names = Set(try fs.readdir(dir).map(\.name))
                if names != model.names.union([".keep"]) { return "readdir \(dir): \(names.sorted()) != \(model.names.sorted())" }
            default:
                let st = try fs.stat("shared/s")
                if st.size != UInt64(shared.count) { return "stat shared/s: size \(st.size)" }
                if try readAll(fs, "shared/s", capacity: shared.count + 1) != shared { return "read shared/s differs" }
            }
        } catch {
            return "\(error)"
        }
        return nil
    }

    func testRenameStormFinishesAndKeepsTheTree() throws {
        for (name, options) in Self.configs {
            try runStorm(name, options)
        }
    }

    private func runStorm(_ name: String, _ options: FilesystemOptions) throws {
        let fx = try Fixture(.goferd)
        let slots = 4, dirs = 6
        for i in 0..<dirs { try fx.makePath("s\(i % slots)/D\(i)/f", contents: Array("D\(i)".utf8)) }
        for s in 0..<slots { try fx.makePath("s\(s)/.keep") }
        let fs = try fx.filesystem(options)
        let failures = Locked<[String]>([])
        let finished = runThreads(4, timeout: 10) { t in
            var rng = SplitMix(seed: UInt64(t) &+ 77)
            for _ in 0..<(t < 2 ? 150 : 250) {
                let d = Int(rng.next(UInt64(dirs)))
                let a = rng.next(UInt64(slots)), b = rng.next(UInt64(slots))
                do {
                    if t < 2 {
                        // Movers: a directory from one slot to another (ENOENT when it is elsewhere).
                        try fs.rename("s\(a)/D\(d)", to: "s\(b)/D\(d)")
                    } else if rng.next(3) == 0 {
                        _ = try fs.readdir("s\(a)")
                    } else {
                        // Staters and readers inside the moving directories.
                        _ = try fs.stat("s\(a)/D\(d)")
                        let got = try readAll(fs, "s\(a)/D\(d)/f", capacity: 64)
                        if got != Array("D\(d)".utf8) {
                            failures.withLock { $0.append("\(name): read s\(a)/D\(d)/f gave \(got)") }
                        }
                    }
                } catch {
                    if (error as? GoferError)?.errno != .noSuchFileOrDirectory {
                        failures.withLock { $0.append("\(name): thread \(t): \(error)") }
                    }
                }
            }
        }
        guard finished else { return XCTFail("\(name): the rename storm did not finish in 10 s") }
        failures.withLock { for f in $0 { XCTFail(f) } }
        // Every directory is in exactly one slot, with its file, on disk and through the client (no stale cache entry).
        for d in 0..<dirs {
            let found = (0..<slots).filter { FileManager.default.fileExists(atPath: fx.export.appending("s\($0)/D\(d)")) }
            XCTAssertEqual(found.count, 1, "\(name): D\(d) is in slots \(found)")
            for s in 0..<slots {
                let st = try? fs.stat("s\(s)/D\(d)/f")
                XCTAssertEqual(st != nil, found.contains(s), "\(name): stat s\(s)/D\(d)/f through the client")
            }
            if let s = found.first { XCTAssertEqual(try readAll(fs, "s\(s)/D\(d)/f", capacity: 64), Array("D\(d)".utf8)) }
        }
        let client = fs.client
        fs.release()
        XCTAssertEqual(client.fidsInUse, 0, "\(name): fids left after release")
    }
}

/// What one thread made in its own folder.
struct ThreadModel {
    var files: [String: [UInt8]] = [:]
    var dirs: Set<String> = []
    var names: Set<String> { Set(files.keys).union(dirs) }
}

/// A small seeded generator, one per thread.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) % bound
    }
}

/// Runs `body(t)` on `count` threads at once; false when they did not all finish within `timeout` seconds.
func runThreads(_ count: Int, timeout: Double, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
    let done = DispatchGroup()
    for t in 0..<count {
        done.enter()
        Thread {
            body(t)
            done.leave()
        }.start()
    }
    return done.wait(timeout: .now() + timeout) == .success
}

/// The whole file at `path`, read through a fresh open description.
func readAll(_ fs: Filesystem, _ path: String, capacity: Int) throws -> [UInt8] {
    let file = try fs.open(path, flags: O_RDONLY)
    defer { try? file.close() }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while out.count <= capacity {
        let n = try buf.withUnsafeMutableBytes { try file.read(into: $0) }
        if n == 0 { break }
        out += buf[..<n]
    }
    return out
}

/// The errno `body` fails with, or nil when it succeeds.
func errnoOf(_ body: () throws(GoferError) -> Void) -> Errno? {
    do {
        try body()
        return nil
    } catch {
        return error.errno
    }
}

/// Descriptors open in this process.
func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}
