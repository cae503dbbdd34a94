#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Gofer
import NUMA
import P9
import SafeMem

/// What a scenario instance gets from the runner.
public struct ScenarioEnvironment: Sendable {
    /// The connection (shared by the scenarios of one msize; RPCs are counted on it).
    public let client: Client
    /// The fixtures, when the bench can reach the export's files.
    public let fixtures: Fixtures?
    /// The aname to attach with.
    public let aname: String
    /// The user name to attach as.
    public let uname: String?
    /// The numeric uid to attach as.
    public let uid: UInt32?
    /// The NUMA node I/O buffers are allocated on (nil: wherever malloc puts them).
    public var memNode: Int? = nil
    /// The run's seed (random offsets).
    public var seed: UInt64 = 1
    /// Payload bytes the filesystems of this environment copy in client memory.
    public var copies = PayloadCopies()
    /// The workload scenario's shell command (`--command`).
    public var command: String? = nil
}

/// One prepared scenario with fixed parameters: the runner calls `background()` (when `hasBackground`)
/// and `op(thread:)` in its measurement loop, then `close()`.
protocol ScenarioInstance: AnyObject {
    /// Whether `background()` must run (unmeasured) before every op.
    var hasBackground: Bool { get }
    /// Concurrent callers of `op`.
    var threads: Int { get }
    /// Whether `closeRepetition()` must run at the end of every repetition, inside the measured window.
    var closesRepetitions: Bool { get }
    /// State reset before an op (its RPCs are counted as background).
    func background() throws
    /// Ends a repetition inside the measured window (a write scenario's fsync: the write-back it forces is measured).
    func closeRepetition() throws
    /// One op; returns the payload bytes it moved.
    func op(thread: Int) throws -> Int
    /// Releases everything the instance holds.
    func close()
}

/// A scenario whose `op(thread:)` several threads call at once: it must be safe to share.
protocol ConcurrentScenarioInstance: ScenarioInstance, Sendable {}

extension ScenarioInstance {
    var hasBackground: Bool { false }
    var threads: Int { 1 }
    var closesRepetitions: Bool { false }
    func background() throws {}
    func closeRepetition() throws {}
}

/// Makes the instance of `spec` for `params`; throws `BenchError.skip` for a combination that cannot run.
func makeScenario(_ spec: ScenarioSpec, _ params: ParamSet, _ env: ScenarioEnvironment) throws -> any ScenarioInstance {
    if spec.threaded && params.int(.threads) > 1 { return try ThreadedScenario(spec, params, env) }
    switch spec.name {
    case "stat": return try StatScenario(params, env)
    case "open-read-close": return try OpenReadCloseScenario(params, env)
    case "seq-read": return try SequentialScenario(params, env, write: false)
    case "seq-write": return try SequentialScenario(params, env, write: true)
    case "null-rpc": return try NullRPCScenario(params, env)
    case "create-unlink": return try CreateUnlinkScenario(params, env)
    case "mkdir-rmdir": return try MkdirRmdirScenario(params, env)
    case "readdir": return try ReaddirScenario(params, env)
    case "rename": return try RenameScenario(params, env)
    case "readlink": return try ReadlinkScenario(params, env)
    case "fsync": return try FsyncScenario(params, env)
    case "rand-read": return try RandomIOScenario(params, env, write: false)
    case "rand-write": return try RandomIOScenario(params, env, write: true)
    case "workload": return try WorkloadScenario(params, env)
    default: throw BenchError.skip("unknown scenario \(spec.name)")
    }
}

/// The filesystem options `params` ask for; throws a skip for combinations the filesystem cannot run.
func filesystemOptions(_ params: ParamSet) throws -> FilesystemOptions {
    let mode = params.text(.mode)
    var o = mode == "none" ? FilesystemOptions.cacheNone : FilesystemOptions(mode: InteropMode(rawValue: mode) ?? .exclusive)
    if let r = params[.resolver]?.textValue {
        if r == "vfs1" && mode != "shared" && mode != "none" {
            throw BenchError.skip("the vfs1 resolver models cacheRemoteRevalidating and runs only in mode shared (or none, which is shared)")
        }
        o.resolver = ResolverKind(rawValue: r) ?? .vfs2
    }
    if let p = params[.path]?.textValue { o.hostFDs = p == "hostfd" }
    if let m = params[.multiblock]?.textValue { o.multiblock = MultiBlockStrategy(rawValue: m) ?? .buffered }
    return o
}

func makeFilesystem(_ params: ParamSet, _ env: ScenarioEnvironment) throws -> Filesystem {
    let options = try filesystemOptions(params)
    let fs = try Filesystem(client: env.client, options: options, aname: env.aname, uname: env.uname, nUname: env.uid)
    env.copies.track(fs)
    return fs
}

func requireFixtures(_ env: ScenarioEnvironment) throws -> Fixtures {
    guard let f = env.fixtures else {
        throw BenchError.skip("needs fixture files: the export is not a local folder (pass --aname naming the exported folder)")
    }
    return f
}

/// Skips a hostfd combination when the server donated no descriptor, and a direct row when the server donated no
/// root (the file was then opened by the vfs2 route, which `--resolver vfs2` measures under its own name).
func requireHostFD(_ params: ParamSet, _ handle: Handle) throws {
    if params[.path]?.textValue == "hostfd" && !handle.hasHostFD {
        throw BenchError.skip("path hostfd: the server donates no host FDs (plain 9P2000.L server or TCP)")
    }
    if params[.resolver]?.textValue == "direct" && handle.file != nil {
        throw BenchError.skip("resolver direct: the server donated no root (plain 9P2000.L server, TCP, read-only export "
                              + "or --no-donate), so the file was opened by the vfs2 route")
    }
}

/// stat of a path of `depth` components in state cold, warm or replaced.
final class StatScenario: ScenarioInstance {
    let fs: Filesystem
    let fixtures: Fixtures
    let path: String
    let depth: Int
    let state: String

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        fixtures = try requireFixtures(env)
        depth = params.int(.depth)
        state = params.text(.state)
        path = try fixtures.statPath(depth: depth)
        fs = try makeFilesystem(params, env)
        do { _ = try fs.stat(path) } catch { fs.release(); throw error }  // everything cached before the first op
    }

    var hasBackground: Bool { state != "warm" }

    func background() throws {
        switch state {
        case "cold": try fs.dropCaches()
        case "replaced":
            try fixtures.replaceStatLeaf(depth: depth)
            fs.reclaim()
        default: break
        }
    }

    func op(thread: Int) throws -> Int {
        _ = try fs.stat(path)
        return 0
    }

    func close() { fs.release() }
}

/// Buffers for `blocks` x `blockSize` bytes and their BlockSeq, on NUMA node `node` when given.
final class IOBuffers {
    let memory: UnsafeMutableRawBufferPointer
    let seq: BlockSeq
    let unit: Int
    private let numa: Bool

    init(blocks: Int, blockSize: Int, node: Int? = nil) throws {
        unit = blocks * blockSize
        let m: UnsafeMutableRawBufferPointer
        if let node {
            m = try NUMA.allocate(bytes: max(unit, 1), onNode: node)
            numa = true
        } else {
            m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(unit, 1), alignment: 4096)
            numa = false
        }
        m.initializeMemory(as: UInt8.self, repeating: 0xA5)
        memory = m
        seq = BlockSeq((0..<blocks).map { i in Block(base: m.baseAddress! + i * blockSize, count: blockSize) })
    }

    deinit { if numa { NUMA.free(memory) } else { memory.deallocate() } }
}

/// open + read one block + close of a file whose handle is cached.
final class OpenReadCloseScenario: ScenarioInstance {
    let fs: Filesystem
    let path: String
    let buffer: IOBuffers

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let fixtures = try requireFixtures(env)
        path = fixtures.smallPath
        buffer = try IOBuffers(blocks: 1, blockSize: params.int(.blockSize), node: env.memNode)
        fs = try makeFilesystem(params, env)
        do {
            let f = try fs.open(path, flags: O_RDONLY)
            defer { try? f.close() }
            try requireHostFD(params, f.handle)
        } catch {
            fs.release()
            throw error
        }
    }

    func op(thread: Int) throws -> Int {
        let f = try fs.open(path, flags: O_RDONLY)
        let n: Int
        do { n = try f.read(into: buffer.seq, at: 0) } catch { try? f.close(); throw error }
        try f.close()
        return n
    }

    func close() { fs.release() }
}

/// The fixture file a data scenario reads or writes in I/O units of `blocks` x `block_size`.
///
/// Writes in a mode that caches data (Exclusive, Writethrough) end every repetition with an fsync, so that the
/// write-back the data causes is measured with it (not left to `fs.release()` after the measurement).
final class DataFile {
    let fs: Filesystem
    let file: OpenFile
    let buffer: IOBuffers
    let fileSize: Int
    let write: Bool
    /// Whether every repetition ends with an fsync.
    let syncsRepetitions: Bool

    init(_ params: ParamSet, _ env: ScenarioEnvironment, write: Bool) throws {
        let fixtures = try requireFixtures(env)
        self.write = write
        syncsRepetitions = write && ["exclusive", "writethrough"].contains(params.text(.mode))
        fileSize = params.int(.fileSize)
        let blocks = params.int(.blocks), blockSize = params.int(.blockSize)
        guard blocks * blockSize <= fileSize else {
            throw BenchError.skip("an I/O unit of \(blocks) x \(Units.formatSize(blockSize)) is larger than file_size \(Units.formatSize(fileSize))")
        }
        buffer = try IOBuffers(blocks: blocks, blockSize: blockSize, node: env.memNode)
        fs = try makeFilesystem(params, env)
        do {
            file = try fs.open(write ? fixtures.writePath(size: fileSize) : fixtures.readPath(size: fileSize),
                               flags: write ? O_WRONLY : O_RDONLY)
        } catch {
            fs.release()
            throw error
        }
        do { try requireHostFD(params, file.handle) } catch { close(); throw error }
    }

    /// I/O units in the file.
    var units: Int { fileSize / buffer.unit }

    /// Reads or writes one I/O unit at `offset`; a short transfer is an error.
    func transfer(at offset: Int) throws -> Int {
        let n = write ? try file.write(from: buffer.seq, at: UInt64(offset)) : try file.read(into: buffer.seq, at: UInt64(offset))
        guard n == buffer.unit else {
            throw BenchError.server("short \(write ? "write" : "read") of \(n) bytes at offset \(offset) (wanted \(buffer.unit))")
        }
        return n
    }

    func close() {
        try? file.close()
        fs.release()
    }
}

/// Sequential reads or writes in I/O units of `blocks` x `block_size`, wrapping at `file_size`.
final class SequentialScenario: ScenarioInstance {
    let data: DataFile
    var offset = 0

    init(_ params: ParamSet, _ env: ScenarioEnvironment, write: Bool) throws {
        data = try DataFile(params, env, write: write)
    }

    func op(thread: Int) throws -> Int {
        if offset + data.buffer.unit > data.fileSize { offset = 0 }
        let n = try data.transfer(at: offset)
        offset += n
        return n
    }

    var closesRepetitions: Bool { data.syncsRepetitions }
    func closeRepetition() throws { try data.file.fsync() }

    func close() { data.close() }
}

/// Tgetattr on a fid through the Client, one fid per thread.
final class NullRPCScenario: ConcurrentScenarioInstance {
    let root: ClientFile
    let fids: [ClientFile]
    let threads: Int

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        threads = max(1, params.int(.threads))
        root = try env.client.attach(aname: env.aname, uname: env.uname, nUname: env.uid)
        var made: [ClientFile] = []
        do {
            for _ in 0..<threads { made.append(try root.walk([]).file) }
        } catch {
            for f in made { try? f.clunk() }
            try? root.clunk()
            throw error
        }
        fids = made
    }

    func op(thread: Int) throws -> Int {
        _ = try fids[thread].getAttr(.all)
        return 0
    }

    func close() {
        for f in fids { try? f.clunk() }
        try? root.clunk()
    }
}
