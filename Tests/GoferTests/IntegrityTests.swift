import Foundation
import Glibc
import Gofer
import LocalGofer
import P9
import SafeMem
import SystemPackage
import TestSupport
import XCTest

/// Model-based data integrity: seeded operation sequences applied through a `Filesystem` and to an
/// `IntegrityModel`; every read, every error, each file through the client and (after fsync) on disk, and
/// each file through a fresh `Filesystem` must equal the model. Every InteropMode x host FD/9P x
/// buffered/scatter. `swift test` runs a short form; `scripts/integrity N` runs N sequences per
/// configuration. Environment: INTEGRITY_SEQUENCES (per configuration), INTEGRITY_OPS (per sequence),
/// INTEGRITY_BASE_SEED, and to replay one failure INTEGRITY_SEED with INTEGRITY_CONFIG (INTEGRITY_VERBOSE=1
/// prints every operation).
final class IntegrityTests: XCTestCase {
    struct Config: CustomStringConvertible {
        let mode: InteropMode
        let hostFDs: Bool
        let multiblock: MultiBlockStrategy
        var description: String { "\(mode.rawValue)-\(hostFDs ? "hostfd" : "9p")-\(multiblock.rawValue)" }
        var options: FilesystemOptions { FilesystemOptions(mode: mode, hostFDs: hostFDs, multiblock: multiblock) }

        static let all: [Config] = InteropMode.allCases.flatMap { mode in
            [true, false].flatMap { fd in MultiBlockStrategy.allCases.map { Config(mode: mode, hostFDs: fd, multiblock: $0) } }
        }
    }

    /// The client's msize: its payload (msize - 24) is not a multiple of the page size, so runs split off-page.
    static let msize = 10_000

    func testSequencesMatchTheModel() throws {
        let env = ProcessInfo.processInfo.environment
        let sequences = env["INTEGRITY_SEQUENCES"].flatMap(Int.init) ?? 4
        let ops = env["INTEGRITY_OPS"].flatMap(Int.init) ?? 60
        let base = env["INTEGRITY_BASE_SEED"].flatMap { UInt64($0) } ?? 1
        let verbose = env["INTEGRITY_VERBOSE"] == "1"
        var configs = Config.all
        if let only = env["INTEGRITY_CONFIG"] {
            configs = configs.filter { only.split(separator: ",").contains(Substring($0.description)) }
            XCTAssertFalse(configs.isEmpty, "INTEGRITY_CONFIG \(only) names none of \(Config.all.map(\.description))")
        }
        let seeds: [UInt64] = env["INTEGRITY_SEED"].flatMap { UInt64($0) }.map { [$0] } ?? (0..<UInt64(sequences)).map { base &+ $0 }
        for config in configs {
            var opsRun = 0
            var failed: [UInt64] = []
            for seed in seeds {
                let result = try IntegrityRunner(config: config, seed: seed, verbose: verbose).run(ops: ops)
                opsRun += result.ops
                guard let d = result.divergence else { continue }
                failed.append(seed)
                let shrunk = env["INTEGRITY_SHRINK"] == "0" ? nil : try shrink(config, seed, result.executed)
                XCTFail("""
                    integrity divergence in \(config), seed \(seed), op \(d.index): \(d.op)
                      \(d.detail)
                      last operations:
                    \(result.log.suffix(12).map { "    " + $0 }.joined(separator: "\n"))
                    \(shrunk.map { "  shrunk to \($0.executed.count) operations (\($0.divergence!.detail)):\n" + $0.log.map { "    " + $0 }.joined(separator: "\n") } ?? "")
                      replay: INTEGRITY_SEED=\(seed) INTEGRITY_CONFIG=\(config) INTEGRITY_OPS=\(ops) INTEGRITY_VERBOSE=1 \
                    swift test --filter IntegrityTests
                    """)
            }
            print("integrity: \(config): \(seeds.count) sequences, \(opsRun) operations, \(failed.count) divergences"
                  + " (seeds \(seeds.first!)...\(seeds.last!)\(failed.isEmpty ? "" : ", failed: \(failed)"))")
        }
    }

    /// The smallest failing sub-sequence found by removing chunks of operations (at most 3000 runs).
    private func shrink(_ config: Config, _ seed: UInt64, _ failing: [IntegrityOp]) throws -> IntegrityRunner.Outcome {
        var current = failing
        var best = try IntegrityRunner(config: config, seed: seed, verbose: false).run(ops: 0, script: current)
        var runs = 0
        var chunk = max(1, current.count / 2)
        while chunk >= 1 && runs < 3000 {
            var i = 0
            var progressed = false
            while i < current.count && runs < 3000 {
                let candidate = Array(current[..<i] + current[min(current.count, i + chunk)...])
                runs += 1
                let r = try IntegrityRunner(config: config, seed: seed, verbose: false).run(ops: 0, script: candidate)
                if !r.invalid && r.divergence != nil {
                    current = candidate
                    best = r
                    progressed = true
                } else {
                    i += chunk
                }
            }
            if !progressed { chunk /= 2 }
        }
        return best
    }
}

/// Why a sequence stopped: the op, its index, and what differed.
struct Divergence: Error {
    var index: Int
    var op: String
    var detail: String
}

/// One sequence: a fresh export and server, the filesystem under test, and in Shared a second client.
final class IntegrityRunner {
    let config: IntegrityTests.Config
    let seed: UInt64
    let verbose: Bool
    let tmp: TemporaryDirectory
    let export: String
    let server: Server
    let fs: Filesystem
    let other: Filesystem?
    var model = IntegrityModel()
    var open: [OpenFile] = []
    var log: [String] = []

    init(config: IntegrityTests.Config, seed: UInt64, verbose: Bool) throws {
        self.config = config
        self.seed = seed
        self.verbose = verbose
        tmp = try TemporaryDirectory(prefix: "integrity")
        export = tmp.path
        server = Server(fileServer: try LocalGofer(root: export))
        fs = try Filesystem(client: Self.connect(server), options: config.options)
        other = config.mode == .shared
            ? try Filesystem(client: Self.connect(server), options: FilesystemOptions(mode: .shared, hostFDs: config.hostFDs))
            : nil
    }

    deinit {
        server.stop()
        tmp.remove()
    }

    static func connect(_ server: Server) throws -> Client {
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else { throw Errno(rawValue: errno) }
        server.serve(fd: sv[1])
        return try Client(transport: StreamTransport(fd: sv[0]), options: ClientOptions(msize: IntegrityTests.msize))
    }

    /// What a run did: operations applied, the first divergence, the log, and the operations themselves.
    struct Outcome {
        var ops = 0
        var divergence: Divergence?
        var log: [String] = []
        var executed: [IntegrityOp] = []
        /// A scripted operation named a handle that is not open (a shrinking candidate that means nothing).
        var invalid = false
    }

    /// Runs `count` generated operations (or `script`), then the end-of-sequence checks; stops at the first divergence.
    func run(ops count: Int, script: [IntegrityOp]? = nil) -> Outcome {
        var generator = IntegrityGenerator(seed: seed, payload: fs.client.payloadSize, otherClient: other != nil)
        var out = Outcome()
        let total = script?.count ?? count
        do {
            while out.ops < total {
                let op = script?[out.ops] ?? generator.next(model)
                guard valid(op) else {
                    out.invalid = true
                    break
                }
                let line = "\(out.ops): \(model.describe(op))"
                out.log.append(line)
                out.executed.append(op)
                if verbose { print("integrity \(config) seed \(seed) \(line)") }
                do { try step(op) } catch let d as Divergence { throw Divergence(index: out.ops, op: "\(op)", detail: d.detail) }
                out.ops += 1
            }
            if !out.invalid { try verifyEnd(out.ops) }
        } catch let d as Divergence {
            out.divergence = d
        } catch {
            out.divergence = Divergence(index: out.ops, op: "setup", detail: "\(error)")
        }
        release()
        return out
    }

    /// Whether the handle `op` names is open (and writable for a write).
    private func valid(_ op: IntegrityOp) -> Bool {
        switch op {
        case let .write(h, _, _, _, _): return h < model.handles.count && model.handles[h].writable
        case let .read(h, _, _, _), let .fsync(h), let .close(h): return h < model.handles.count
        default: return true
        }
    }

    private func release() {
        for f in open { try? f.close() }
        open = []
        fs.release()
        other?.release()
    }

    // MARK: one step

    /// Applies `op` to the filesystem and the model; their outcomes must agree.
    private func step(_ op: IntegrityOp) throws {
        var expected: [UInt8] = []
        let predicted = model.apply(op, readResult: &expected)
        var got: [UInt8] = []
        let actual: Errno?
        do {
            try perform(op, read: &got)
            actual = nil
        } catch let e as GoferError {
            actual = e.errno
        } catch {
            throw Divergence(index: 0, op: "", detail: "unexpected error \(error)")
        }
        guard actual == predicted else {
            throw Divergence(index: 0, op: "", detail: "the model says \(predicted.map { "\($0)" } ?? "success"), "
                             + "the filesystem \(actual.map { "failed with \($0)" } ?? "succeeded")")
        }
        if case .read = op, got != expected {
            throw Divergence(index: 0, op: "", detail: "read \(got.count) bytes, the model has \(expected.count); " + firstDifference(got, expected))
        }
    }

    private func perform(_ op: IntegrityOp, read: inout [UInt8]) throws {
        switch op {
        case let .create(path, exclusive, truncate):
            open.append(try fs.open(path, flags: O_CREAT | O_RDWR | (exclusive ? O_EXCL : 0) | (truncate ? O_TRUNC : 0)))
        case let .open(path, writable, truncate):
            open.append(try fs.open(path, flags: (writable ? O_RDWR : O_RDONLY) | (truncate && writable ? O_TRUNC : 0)))
        case let .write(h, offset, length, layout, seed):
            let blocks = Blocks(layout, filledWith: integrityBytes(length, seed: seed))
            let n = try open[h].write(from: blocks.seq, at: UInt64(offset))
            if n != length { throw GoferError(.ioError, "short write: \(n) of \(length)") }
        case let .read(h, offset, _, layout):
            let blocks = Blocks(layout, filledWith: nil)
            let n = try open[h].read(into: blocks.seq, at: UInt64(offset))
            read = blocks.bytes(n)
        case let .truncate(path, size):
            try fs.truncate(path, size: UInt64(size))
        case let .rename(from, to):
            try fs.rename(from, to: to)
        case let .unlink(path):
            try fs.unlink(path)
        case let .mkdir(path):
            try fs.mkdir(path)
        case let .rmdir(path):
            try fs.rmdir(path)
        case let .fsync(h):
            try open[h].fsync()
        case let .close(h):
            let f = open.remove(at: h)
            try f.close()
        case .dropCaches:
            try fs.dropCaches()
        case let .otherWrite(path, offset, length, seed):
            let f = try other!.open(path, flags: O_RDWR)
            defer { try? f.close() }
            let n = try integrityBytes(length, seed: seed).withUnsafeBytes { b in try f.write(from: b, at: UInt64(offset)) }
            if n != length { throw GoferError(.ioError, "short write by the other client") }
        case let .otherTruncate(path, size):
            try other!.truncate(path, size: UInt64(size))
        case let .otherCreate(path, length, seed):
            let f = try other!.open(path, flags: O_CREAT | O_RDWR | O_TRUNC)
            defer { try? f.close() }
            _ = try integrityBytes(length, seed: seed).withUnsafeBytes { b in try f.write(from: b, at: 0) }
        }
    }

    // MARK: end-of-sequence checks

    /// Reads through the client, then fsync and the disk, then a fresh filesystem: all must equal the model.
    private func verifyEnd(_ index: Int) throws {
        func fail(_ detail: String) -> Divergence { Divergence(index: index, op: "end of sequence", detail: detail) }
        try compareThrough(fs, "the filesystem", fail)
        for (i, h) in model.handles.enumerated() where h.readable {
            let got: [UInt8]
            do { got = try readAll(open[i], size: h.node.data.count + 1) } catch { throw fail("read open handle #\(i): \(error)") }
            if got != h.node.data { throw fail("open handle #\(i): " + firstDifference(got, h.node.data)) }
        }
        // Every file synced (open or not), so nothing is left only in the client's cache.
        for f in open where f.writable { do { try f.fsync() } catch { throw fail("fsync: \(error)") } }
        for path in model.files.keys.sorted() {
            do {
                let f = try fs.open(path, flags: O_RDONLY)
                try f.fsync()
                try f.close()
            } catch { throw fail("fsync \(path): \(error)") }
        }
        let disk = try diskTree()
        let modelTree = Dictionary(uniqueKeysWithValues: model.files.map { ($0.key, $0.value.data) })
        if Set(disk.files.keys) != Set(modelTree.keys) || disk.dirs != model.dirs.subtracting([""]) {
            throw fail("the export holds files \(disk.files.keys.sorted()) dirs \(disk.dirs.sorted()); the model \(modelTree.keys.sorted()) "
                       + "dirs \(model.dirs.subtracting([""]).sorted())")
        }
        for (path, data) in modelTree where disk.files[path] != data {
            throw fail("on disk \(path): " + firstDifference(disk.files[path] ?? [], data))
        }
        for f in open { try? f.close() }
        open = []
        model.handles = []
        fs.release()
        let fresh = try Filesystem(client: Self.connect(server), options: config.options)
        defer { fresh.release() }
        try compareThrough(fresh, "a fresh filesystem", fail)
    }

    /// Every file's size and bytes, and every directory's names, through `filesystem`.
    private func compareThrough(_ filesystem: Filesystem, _ what: String, _ fail: (String) -> Divergence) throws {
        for (path, node) in model.files.sorted(by: { $0.key < $1.key }) {
            let st: FileStat
            do { st = try filesystem.stat(path) } catch { throw fail("\(what): stat \(path): \(error)") }
            if st.size != UInt64(node.data.count) { throw fail("\(what): stat \(path) size \(st.size), the model \(node.data.count)") }
            let f: OpenFile
            do { f = try filesystem.open(path, flags: O_RDONLY) } catch { throw fail("\(what): open \(path): \(error)") }
            let got: [UInt8]
            do { got = try readAll(f, size: node.data.count + 1) } catch { throw fail("\(what): read \(path): \(error)") }
            try? f.close()
            if got != node.data { throw fail("\(what): \(path): " + firstDifference(got, node.data)) }
        }
        for dir in model.dirs.sorted() {
            let names: Set<String>
            do { names = Set(try filesystem.readdir(dir.isEmpty ? "/" : dir).map(\.name)) } catch { throw fail("\(what): readdir \(dir): \(error)") }
            if names != model.children(dir) { throw fail("\(what): readdir \(dir.isEmpty ? "/" : dir) is \(names.sorted()), the model \(model.children(dir).sorted())") }
        }
    }

    /// Reads `f` from 0 until EOF or `size` bytes.
    private func readAll(_ f: OpenFile, size: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = try out.withUnsafeMutableBytes { b in
                try f.read(into: UnsafeMutableRawBufferPointer(rebasing: b[got...]), at: UInt64(got))
            }
            if n == 0 { break }
            got += n
        }
        return Array(out[..<got])
    }

    /// Files (with contents) and directories under the export, by relative path.
    private func diskTree() throws -> (files: [String: [UInt8]], dirs: Set<String>) {
        var files: [String: [UInt8]] = [:]
        var dirs: Set<String> = []
        let fm = FileManager.default
        for rel in try fm.subpathsOfDirectory(atPath: export) {
            var st = stat()
            guard lstat(export + "/" + rel, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR { dirs.insert(rel) } else { files[rel] = try tmp.read(rel) }
        }
        return (files, dirs)
    }
}

/// Separately allocated blocks of chosen sizes as one BlockSeq (released with the object).
final class Blocks {
    let buffers: [UnsafeMutableRawBufferPointer]

    /// Blocks of `layout` sizes holding `bytes`, or 0xEE when nil.
    init(_ layout: [Int], filledWith bytes: [UInt8]?) {
        buffers = layout.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0, alignment: 8) }
        var at = 0
        for b in buffers {
            if let bytes { b.copyBytes(from: bytes[at..<at + b.count]) } else { b.initializeMemory(as: UInt8.self, repeating: 0xEE) }
            at += b.count
        }
    }

    deinit { buffers.forEach { $0.deallocate() } }

    var seq: BlockSeq { BlockSeq(buffers.map { Block($0) }) }

    /// The first `count` bytes across the blocks.
    func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        for b in buffers where out.count < count { out += b.prefix(count - out.count) }
        return out
    }
}

/// Where two byte arrays first differ, for a failure message.
func firstDifference(_ got: [UInt8], _ want: [UInt8]) -> String {
    let common = zip(got, want).prefix { $0 == $1 }.count
    if common == got.count && common == want.count { return "equal" }
    let page = common / 4096
    return "first difference at byte \(common) (page \(page), offset \(common % 4096) in it): got \(got.count) bytes"
        + (common < got.count ? " (0x\(String(got[common], radix: 16)))" : "")
        + ", want \(want.count)" + (common < want.count ? " (0x\(String(want[common], radix: 16)))" : "")
}
