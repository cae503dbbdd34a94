#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Gofer
import SafeMem

/// `--threads N` on one filesystem: N callers at once, each with a worker of its own that works on its own files and
/// folders (`--sharing private`) or on the same ones as the others (`--sharing shared`: one path statted by all, one
/// file read or written by all through one open description, one parent folder for entries made and removed, each
/// thread under its own name so that no thread's op fails). One thread takes the single-threaded scenario, RPC for RPC.
final class ThreadedScenario: ConcurrentScenarioInstance, @unchecked Sendable {
    // `@unchecked Sendable`: after init only `workers[t]` changes, and only on thread t during a repetition.
    let fs: Filesystem
    let threads: Int
    let hasBackground: Bool
    private let workers: [any ThreadWorker]
    /// Open descriptions the workers use: closed by `close()`, fsynced at the end of a repetition when `syncs`.
    private let files: [OpenFile]
    private let syncs: Bool

    init(_ spec: ScenarioSpec, _ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let fixtures = try requireFixtures(env)
        let threads = params.int(.threads), shared = params.text(.sharing) == "shared"
        self.threads = threads
        // Thread t's path: its own (private) or thread 0's (shared, for files read or statted by all).
        func each(_ path: (Int) throws -> String) rethrows -> [String] {
            shared ? Array(repeating: try path(0), count: threads) : try (0..<threads).map(path)
        }
        // Folders entries are made in: one per thread (private) or one for all (shared), each thread's names apart.
        func scratch(_ name: String, _ entry: String) throws -> [String] {
            if shared {
                let dir = try fixtures.makeScratchDirectory(name)
                return (0..<threads).map { "\(dir)/\(entry)\($0)" }
            }
            return try (0..<threads).map { _ in try fixtures.makeScratchDirectory(name) + "/" + entry }
        }
        var layout: Layout
        switch spec.name {
        case "stat":
            guard params.text(.state) == "warm" else {
                throw BenchError.skip("stat with threads > 1 runs warm only (cold and replaced reset the cache between ops)")
            }
            let depth = params.int(.depth)
            layout = .paths(try each { try fixtures.threadStatPath(depth: depth, thread: $0) }, .stat)
        case "readlink":
            layout = .paths(try each { try fixtures.threadSymlinkPath(thread: $0) }, .readlink)
        case "open-read-close":
            let size = params.int(.blockSize)
            layout = .paths(try each { try fixtures.threadSmallPath(size: size, thread: $0) }, .openReadClose(size))
        case "create-unlink": layout = .paths(try scratch("create-unlink", "f"), .createUnlink)
        case "mkdir-rmdir": layout = .paths(try scratch("mkdir-rmdir", "d"), .mkdirRmdir)
        case "rename":
            let from = try scratch("rename", "a")
            for p in Set(from) { try fixtures.makeEmptyFile(p) }
            layout = .paths(from, .rename)
        case "seq-read", "seq-write", "rand-read", "rand-write":
            let write = spec.name.hasSuffix("write"), size = params.int(.fileSize)
            let blocks = params.int(.blocks), blockSize = params.int(.blockSize)
            guard blocks * blockSize <= size else {
                throw BenchError.skip("an I/O unit of \(blocks) x \(Units.formatSize(blockSize)) is larger than file_size \(Units.formatSize(size))")
            }
            let paths = try (0..<(shared ? 1 : threads)).map {
                write ? try fixtures.threadWritePath(size: size, thread: $0) : try fixtures.threadReadPath(size: size, thread: $0)
            }
            layout = .data(DataLayout(paths: paths, write: write, random: spec.name.hasPrefix("rand"), fileSize: size, blocks: blocks,
                                      blockSize: blockSize))
        default:
            throw BenchError.skip("\(spec.name) runs on one thread only")
        }
        hasBackground = layout.reclaims
        syncs = layout.writes && ["exclusive", "writethrough"].contains(params.text(.mode))
        fs = try makeFilesystem(params, env)
        var opened: [OpenFile] = []
        do {
            workers = try layout.workers(fs, threads: threads, params: params, env: env, opened: &opened)
        } catch {
            for f in opened { try? f.close() }
            fs.release()
            throw error
        }
        files = opened
    }

    /// Between repetitions (threaded runs have no per-op background): releases the stale dentries of removed entries.
    func background() throws { fs.reclaim() }

    var closesRepetitions: Bool { syncs }
    func closeRepetition() throws { for f in files { try f.fsync() } }

    func op(thread: Int) throws -> Int { try workers[thread].op() }

    func close() {
        for f in files { try? f.close() }
        fs.release()
    }
}

/// What the threads of a `ThreadedScenario` work on.
private enum Layout {
    /// One path per thread and what an op does with it.
    case paths([String], PathOp)
    /// Files read or written in I/O units.
    case data(DataLayout)

    /// Whether ops leave stale dentries behind (entries removed), released between repetitions.
    var reclaims: Bool {
        guard case let .paths(_, op) = self else { return false }
        switch op {
        case .createUnlink, .mkdirRmdir, .rename: return true
        default: return false
        }
    }

    var writes: Bool { if case let .data(d) = self { d.write } else { false } }

    /// One worker per thread, on `fs` (everything each op needs cached first, as in the single-threaded scenario).
    func workers(_ fs: Filesystem, threads: Int, params: ParamSet, env: ScenarioEnvironment,
                 opened: inout [OpenFile]) throws -> [any ThreadWorker] {
        switch self {
        case let .paths(paths, op):
            for p in Set(paths) { try op.warm(fs, p, params) }
            return try paths.map { try PathWorker(fs, $0, op, node: env.memNode) }
        case let .data(d):
            for p in d.paths { opened.append(try fs.open(p, flags: d.write ? O_WRONLY : O_RDONLY)) }
            try requireHostFD(params, opened[0].handle)
            let unit = d.blocks * d.blockSize, units = d.fileSize / unit
            let files = opened
            return try (0..<threads).map { t in
                // Shared: one open description, the threads' sequential offsets spread over the file.
                let file = files.count == 1 ? files[0] : files[t]
                let start = files.count == 1 ? (t * units / threads) * unit : 0
                let buffer = try IOBuffers(blocks: d.blocks, blockSize: d.blockSize, node: env.memNode)
                return TransferWorker(file: file, buffer: buffer, fileSize: d.fileSize, write: d.write, offset: start,
                                      random: d.random ? SeededRandom(seed: env.seed &+ UInt64(t)) : nil)
            }
        }
    }
}

/// The files of a threaded data scenario: one per thread (private) or one for all (shared).
private struct DataLayout {
    let paths: [String]
    let write: Bool
    let random: Bool
    let fileSize: Int
    let blocks: Int
    let blockSize: Int
}

/// What a path worker's op does.
private enum PathOp {
    case stat, readlink, createUnlink, mkdirRmdir, rename
    /// open + read of one block of this size + close.
    case openReadClose(Int)

    /// Caches what the op needs before the first op (the single-threaded scenarios' preparation).
    func warm(_ fs: Filesystem, _ path: String, _ params: ParamSet) throws {
        switch self {
        case .stat: _ = try fs.stat(path)
        case .readlink: _ = try fs.readlink(path)
        case .openReadClose:
            let f = try fs.open(path, flags: O_RDONLY)
            defer { try? f.close() }
            try requireHostFD(params, f.handle)
        case .createUnlink, .mkdirRmdir: _ = try fs.stat(parent(of: path))
        case .rename: _ = try fs.stat(path)
        }
    }

    private func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}

/// One thread's share of a threaded scenario.
private protocol ThreadWorker: AnyObject {
    /// One op; returns the payload bytes it moved.
    func op() throws -> Int
}

/// Ops on one path (stat, readlink, open-read-close, create-unlink, mkdir-rmdir, rename to `path` + "b" and back).
private final class PathWorker: ThreadWorker {
    let fs: Filesystem
    let path: String
    let kind: PathOp
    let renamed: String
    let buffer: IOBuffers?

    init(_ fs: Filesystem, _ path: String, _ kind: PathOp, node: Int?) throws {
        self.fs = fs
        self.path = path
        self.kind = kind
        renamed = path + "b"
        if case let .openReadClose(size) = kind { buffer = try IOBuffers(blocks: 1, blockSize: size, node: node) } else { buffer = nil }
    }

    func op() throws -> Int {
        switch kind {
        case .stat: _ = try fs.stat(path)
        case .readlink:
            let target = try fs.readlink(path)
            guard target == "small" else { throw BenchError.server("readlink of \(path) gave \"\(target)\", expected \"small\"") }
        case .openReadClose:
            let f = try fs.open(path, flags: O_RDONLY)
            let n: Int
            do { n = try f.read(into: buffer!.seq, at: 0) } catch { try? f.close(); throw error }
            try f.close()
            return n
        case .createUnlink:
            let f = try fs.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            do { try f.close() } catch { try? fs.unlink(path); throw error }
            try fs.unlink(path)
        case .mkdirRmdir:
            try fs.mkdir(path, mode: 0o755)
            try fs.rmdir(path)
        case .rename:
            try fs.rename(path, to: renamed)
            try fs.rename(renamed, to: path)
        }
        return 0
    }
}

/// Reads or writes of one I/O unit: sequential from its own offset (wrapping at the end), or at random units.
private final class TransferWorker: ThreadWorker {
    let file: OpenFile
    let buffer: IOBuffers
    let fileSize: Int
    let write: Bool
    var offset: Int
    var random: SeededRandom?

    init(file: OpenFile, buffer: IOBuffers, fileSize: Int, write: Bool, offset: Int, random: SeededRandom?) {
        self.file = file
        self.buffer = buffer
        self.fileSize = fileSize
        self.write = write
        self.offset = offset
        self.random = random
    }

    func op() throws -> Int {
        let unit = buffer.unit
        let at: Int
        if random != nil {
            at = random!.next(below: fileSize / unit) * unit
        } else {
            if offset + unit > fileSize { offset = 0 }
            at = offset
        }
        let n = write ? try file.write(from: buffer.seq, at: UInt64(at)) : try file.read(into: buffer.seq, at: UInt64(at))
        guard n == unit else {
            throw BenchError.server("short \(write ? "write" : "read") of \(n) bytes at offset \(at) (wanted \(unit))")
        }
        if random == nil { offset += n }
        return n
    }
}

extension RunOptions {
    /// `keys` with `threads` and `sharing` added in canonical order when `spec` is threaded and either flag was given.
    func threadKeys(_ spec: ScenarioSpec, _ keys: [ParamKey]) -> [ParamKey] {
        guard spec.threaded, values[.threads] != nil || values[.sharing] != nil else { return keys }
        let all = Set(keys).union([.threads, .sharing])
        return ParamKey.allCases.filter { all.contains($0) }
    }
}
