import Foundation
import Glibc
import Gofer
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// The seeds of `scripts/fuzz server`: the client side of real sessions, recorded over the tree the fuzz
/// harness serves (Fuzz/FuzzServer.swift), and the golden frames after a Tversion and a few Tattaches.
/// Each seed must replay frame for frame against a fresh server with the same reply types.
/// `FUZZ_RECORD_DIR=Fuzz/server-corpus swift test --filter FuzzCorpusTests` writes them out.
final class FuzzCorpusTests: XCTestCase {
    func testRecordedSessionsReplayFrameForFrame() throws {
        var seeds: [(name: String, bytes: [UInt8], replies: [UInt8])] = []
        let modes: [(String, FilesystemOptions, UInt32)] = [
            ("fs-exclusive-hostfd", FilesystemOptions(mode: .exclusive), 13),
            ("fs-exclusive-9p", FilesystemOptions(mode: .exclusive, hostFDs: false), 13),
            ("fs-writethrough-9p-scatter", FilesystemOptions(mode: .writethrough, hostFDs: false, multiblock: .scatter), 13),
            ("fs-shared-hostfd", FilesystemOptions(mode: .shared), 13),
            ("fs-cachenone-9p", FilesystemOptions(mode: .shared, specialRegularFiles: true, hostFDs: false), 13),
            ("fs-shared-vfs1", FilesystemOptions(mode: .shared, resolver: .vfs1, hostFDs: false), 13),
            ("fs-exclusive-multi", FilesystemOptions(mode: .exclusive, resolver: .multi, hostFDs: false), 13),
            ("fs-plain-9p2000L", FilesystemOptions(mode: .shared, hostFDs: false), 0),
        ]
        for (name, options, version) in modes {
            let (sent, received) = try record(maxVersion: version) { client in
                let fs = try Filesystem(client: client, options: options)
                try filesystemSession(fs)
                fs.release()
            }
            seeds.append((name, sent, received))
        }
        let (sent, received) = try record(maxVersion: 13) { try rawSession($0) }
        seeds.append(("raw-extensions", sent, received))
        for (name, version) in [("raw-xattrs", UInt32(13)), ("raw-xattr-fids", UInt32(0))] {
            let (sent, received) = try record(maxVersion: version) { try xattrSession($0) }
            seeds.append((name, sent, received))
        }
        for (name, frame) in try goldenRequests() {
            seeds.append((name, Self.preamble + frame, []))
        }

        for seed in seeds {
            XCTAssertLessThanOrEqual(seed.bytes.count, 8192, "\(seed.name) fits scripts/fuzz's -max_len")
            let replayed = try replay(seed.bytes)
            let requests = frameTypes(seed.bytes)
            XCTAssertEqual(replayed.count, requests.count, "\(seed.name): one reply per request")
            if !seed.replies.isEmpty {
                // Requests replay back to back and the server may complete them out of order: the same replies, in any order.
                XCTAssertEqual(replayed.map(\.description).sorted(), frameTypes(seed.replies).map(\.description).sorted(),
                               "\(seed.name): same replies")
            }
        }
        if let dir = ProcessInfo.processInfo.environment["FUZZ_RECORD_DIR"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for seed in seeds { try Data(seed.bytes).write(to: URL(fileURLWithPath: dir + "/" + seed.name)) }
        }
    }

    /// Tversion (msize 4096, N 13) and Tattach of fids 0...5, ahead of each golden frame.
    static let preamble: [UInt8] = {
        var frames: [UInt8] = encode(Tversion(msize: 4096, version: P9Version.string(for: 13)), tag: Tag.none)
        for fid in 0..<6 {
            frames += encode(Tattach(fid: FID(rawValue: UInt32(fid)), afid: FID.none, uname: "root", aname: "", nUname: 0), tag: 1)
        }
        return frames
    }()

    static func encode<M: Message>(_ m: M, tag: Tag) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { try! Frame.encode(m, tag: tag, into: $0, msize: 4096) }
        return Array(buffer[..<n])
    }

    /// Fuzz/corpus's request frames (even message types), by name.
    private func goldenRequests() throws -> [(String, [UInt8])] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("golden-") }.sorted()
        XCTAssertFalse(names.isEmpty)
        return try names.compactMap { name in
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            guard bytes.count > 4, bytes[4] % 2 == 0, bytes[4] != MessageType.tversion.rawValue else { return nil }
            return (name, bytes)
        }
    }

    // MARK: sessions

    /// The operations every recorded filesystem session makes (each crosses the 4096-byte msize somewhere).
    private func filesystemSession(_ fs: Filesystem) throws {
        _ = try fs.stat("a")
        _ = try fs.stat("dir/b")
        _ = try fs.lstat("link")
        _ = try fs.readlink("link")
        _ = try fs.readdir("/")
        _ = try fs.readdir("dir")
        XCTAssertThrowsError(try fs.stat("missing"))
        var buffer = [UInt8](repeating: 0, count: 5000)
        let f = try fs.open("a", flags: O_RDONLY)
        _ = try buffer.withUnsafeMutableBytes { try f.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<3000]), at: 5000) }
        try f.close()
        let g = try fs.open("n", flags: O_CREAT | O_RDWR, mode: 0o644)
        let data = patternBytes(4200, seed: 3)
        _ = try data.withUnsafeBytes { try g.write(from: $0, at: 0) }
        _ = try data.withUnsafeBytes { try g.write(from: UnsafeRawBufferPointer(rebasing: $0[..<100]), at: 6000) }
        _ = try buffer.withUnsafeMutableBytes { try g.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<4000]), at: 3000) }
        try g.fsync()
        try g.close()
        try fs.truncate("n", size: 2000)
        try fs.rename("n", to: "dir/m")
        try fs.mkdir("d2")
        try fs.symlink("../dir/m", at: "d2/l")
        try fs.chmod("dir/m", mode: 0o600)
        try fs.setTimes("dir/m", atime: Timespec(sec: 1, nsec: 2), mtime: nil)
        _ = try fs.statfs()
        try fs.unlink("d2/l")
        try fs.rmdir("d2")
        try fs.unlink("dir/m")
        try fs.dropCaches()
        _ = try fs.stat("dir/sub")
    }

    /// What the filesystem never sends: locks, allocate, links, FIFOs, setattr+clunk, flushf, remove, U-forms.
    private func rawSession(_ client: Client) throws {
        let root = try client.attach()
        _ = try root.multiGetAttr(["", "dir", "b"])
        let (_, b, _, _) = try root.walkGetAttr(["dir", "b"])
        _ = try b.open(.readWrite)
        _ = try b.lock(type: .writeLock, start: 0, length: 10, procID: 1, clientID: "fuzz")
        _ = try b.getLock(type: .readLock, start: 0, length: 0, procID: 2, clientID: "fuzz")
        try b.allocate(mode: 0, offset: 0, length: 8192)
        try b.flushf()
        let (_, dir) = try root.walk(["dir"])
        try dir.link(b, name: "b2")
        _ = try dir.mknod("p", mode: 0o010644, uid: getuid())
        _ = try dir.mkdir("u", mode: 0o755, uid: getuid())
        _ = try dir.symlink("s", target: "b", uid: getuid())
        let (_, made) = try dir.walk([])
        _ = try made.create("c", flags: .readWrite, mode: 0o644, uid: getuid())
        _ = try made.write(from: UnsafeRawBufferPointer(start: nil, count: 0), at: 0)
        try made.setAttrClunk(.size, SetAttr(size: 77))
        let (_, fifo) = try dir.walk(["p"])
        _ = try fifo.open(.readOnly)
        try fifo.clunk()
        let (_, p2) = try dir.walk(["b2"])
        try p2.remove()
        _ = try dir.open(.readOnly)
        _ = try dir.readdir(offset: 0, count: 200)
        try dir.renameAt("c", to: root, "c-moved")
        try root.unlinkAt("c-moved", flags: 0)
        try b.clunk()
    }

    /// Extended attributes: the gVisor messages at N=13, xattr fids (Txattrwalk, Txattrcreate + Twrite + Tclunk) at 0.
    private func xattrSession(_ client: Client) throws {
        let root = try client.attach()
        let (_, b) = try root.walk(["dir", "b"])
        try b.setXattr("user.a", value: Array("value".utf8))
        _ = try b.getXattr("user.a")
        _ = try b.listXattr()
        XCTAssertThrowsError(try b.setXattr("user.a", value: [1], flags: 1))
        try b.setXattr("user.a", value: [2], flags: 2)
        try b.removeXattr("user.a")
        XCTAssertThrowsError(try b.getXattr("user.a"))
        try b.clunk()
    }

    // MARK: recording and replaying

    /// Runs `body` on a client over a recording transport to a fresh server; returns both directions' bytes.
    private func record(maxVersion: UInt32, _ body: (Client) throws -> Void) throws -> (sent: [UInt8], received: [UInt8]) {
        let tree = try FuzzTree()
        defer { tree.remove() }
        let server = Server(fileServer: try LocalGofer(root: tree.export), options: ServerOptions(maxMsize: 65536, workers: 1))
        defer { server.stop() }
        let mine = try connect(server)
        let recorder = RecordingTransport(mine)
        let client = try Client(transport: recorder, options: ClientOptions(maxVersion: maxVersion, msize: 4096))
        try body(client)
        client.close()
        return (recorder.sent.withLock { $0 }, recorder.received.withLock { $0 })
    }

    /// Sends `bytes` to a fresh one-worker server (as the fuzz harness does) and returns the reply types.
    private func replay(_ bytes: [UInt8]) throws -> [MessageType] {
        let tree = try FuzzTree()
        defer { tree.remove() }
        let server = Server(fileServer: try LocalGofer(root: tree.export), options: ServerOptions(maxMsize: 65536, workers: 1))
        defer { server.stop() }
        let mine = try connect(server)
        try bytes.withUnsafeBytes { try mine.send($0) }
        // The server drops what is still queued once its peer closes: half-close only after every reply.
        let expected = frameTypes(bytes).count
        var replies: [UInt8] = []
        var fds: [Int32] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { chunk.deallocate() }
        while true {
            if frameTypes(replies).count >= expected { _ = Glibc.shutdown(mine.fd, Int32(SHUT_WR)) }
            let n = try mine.receive(into: chunk, fds: &fds)
            if n == 0 { break }
            replies += UnsafeRawBufferPointer(rebasing: chunk[..<n])
        }
        for fd in fds { close(fd) }
        mine.close()
        return frameTypes(replies)
    }

    /// A transport whose other end `server` serves (and owns).
    private func connect(_ server: Server) throws -> StreamTransport {
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else { throw Errno(rawValue: errno) }
        server.serve(fd: sv[1])
        return StreamTransport(fd: sv[0])
    }

    /// The message types of the whole frames in a byte stream.
    private func frameTypes(_ bytes: [UInt8]) -> [MessageType] {
        var types: [MessageType] = []
        var at = 0
        while at + Frame.headerSize <= bytes.count {
            let size = Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
            guard size >= Frame.headerSize, at + size <= bytes.count else { break }
            if let t = MessageType(rawValue: bytes[at + 4]) { types.append(t) }
            at += size
        }
        return types
    }
}

/// The tree Fuzz/FuzzServer.swift serves for every input (keep the two in step), beside an outside/ directory.
final class FuzzTree {
    let tmp: TemporaryDirectory
    var export: String { tmp.appending("export") }

    init() throws {
        tmp = try TemporaryDirectory(prefix: "fuzz-tree")
        try tmp.write("outside/secret", Array("outside the export".utf8))
        try tmp.write("export/a", (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try tmp.write("export/dir/b", Array("hello".utf8))
        XCTAssertEqual(Glibc.mkdir(tmp.appending("export/dir/sub"), 0o755), 0)
        XCTAssertEqual(symlink("a", tmp.appending("export/link")), 0)
        XCTAssertEqual(symlink("../outside/secret", tmp.appending("export/up")), 0)
        XCTAssertEqual(symlink(tmp.appending("outside/secret"), tmp.appending("export/abs")), 0)
        XCTAssertEqual(mkfifo(tmp.appending("export/fifo"), 0o644), 0)
    }

    func remove() { tmp.remove() }
}

/// A transport that keeps a copy of every byte sent and received.
final class RecordingTransport: Transport {
    let inner: StreamTransport
    let sent = Locked<[UInt8]>([])
    let received = Locked<[UInt8]>([])

    init(_ inner: StreamTransport) { self.inner = inner }

    var canCarryFDs: Bool { inner.canCarryFDs }

    func send(_ iov: UnsafeBufferPointer<iovec>, fds: [Int32]) throws(Errno) {
        sent.withLock { s in
            for v in iov where v.iov_len > 0 { s += UnsafeRawBufferPointer(start: v.iov_base, count: v.iov_len) }
        }
        try inner.send(iov, fds: fds)
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer, fds: inout [Int32]) throws(Errno) -> Int {
        let n = try inner.receive(into: buffer, fds: &fds)
        received.withLock { $0 += UnsafeRawBufferPointer(rebasing: buffer[..<n]) }
        return n
    }

    func shutdown() { inner.shutdown() }
    func close() { inner.close() }
}
