#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import CShims

/// The native floor (`--server native`): each scenario's op as the plain syscalls it stands for, on the same fixtures in
/// a local scratch folder, measured by the same loop (op counts, histograms); 0 RPCs. Paths are resolved from a
/// descriptor of the scratch folder, so a path has exactly as many components as over 9P.
extension ServerSpec {
    /// The parameters that do not apply to this server: for native, the 9P client's interop mode, resolver, data path,
    /// multi-block strategy and msize, the link, the spin, the RPC deadline and the transport (there is no client and no wire).
    public var inapplicableParams: Set<ParamKey> {
        self == .native ? [.mode, .resolver, .path, .multiblock, .msize, .linkDelay, .linkJitter, .spin, .serverSpin, .rpcTimeout, .transport] : []
    }
}

extension RunOptions {
    /// The parameter combinations of `spec` on `server`: those of `combinations(of:)` without the parameters that do not
    /// apply to the server.
    public func combinations(of spec: ScenarioSpec, on server: ServerSpec) -> [ParamSet] {
        let skip = server.inapplicableParams
        guard !skip.isEmpty else { return combinations(of: spec) }
        var v: [ParamKey: [ParamValue]] = [:]
        let keys = spec.params.filter { !skip.contains($0) }
        for k in keys { v[k] = values[k] ?? suite.values(k, for: spec.name) }
        return ParamSet.crossProduct(keys, v)
    }
}

extension ScenarioSpec {
    /// What one op is natively (`--server native`, shown by `bench list`).
    public var nativeOp: String {
        switch name {
        case "stat": return "statx of the same path (state applies to nothing native: the kernel's caches stay warm; replaced "
            + "renames a new file over the leaf before each op, background)"
        case "open-read-close": return "openat + pread of one block + close"
        case "seq-read", "rand-read": return "pread (preadv for several blocks) of one I/O unit"
        case "seq-write", "rand-write": return "pwrite (pwritev for several blocks) of one I/O unit"
        case "null-rpc": return "fstat of an open descriptor, one per thread"
        case "create-unlink": return "openat(O_CREAT|O_EXCL) + close + unlinkat"
        case "mkdir-rmdir": return "mkdirat + unlinkat(AT_REMOVEDIR)"
        case "readdir": return "openat(O_DIRECTORY) + getdents64 until the end + close"
        case "rename": return "renameat a -> b + renameat b -> a"
        case "readlink": return "readlinkat"
        case "fsync": return "pwrite 4 KiB + fsync"
        default: return "-"
        }
    }
}

/// O_PATH (Glibc declares it only under _GNU_SOURCE): a descriptor that names a file without opening it.
let openPathOnly: Int32 = 0o10000000

/// A native syscall that failed: which, on what, and the errno's text.
struct NativeError: Error, CustomStringConvertible {
    let description: String

    /// The failure of `call` on `path`, read from errno.
    init(_ call: String, _ path: String) {
        description = "native \(call) \(path): \(String(cString: strerror(errno)))"
    }

    init(message: String) { description = message }
}

/// What a native scenario instance gets from the runner.
struct NativeEnvironment: Sendable {
    /// An O_PATH descriptor of the scratch folder (the "attach root" of native paths).
    let root: Int32
    /// The fixtures, made with syscalls in the scratch folder.
    let fixtures: Fixtures
    /// The NUMA node I/O buffers are allocated on.
    var memNode: Int?
    /// The run's seed (random offsets).
    var seed: UInt64

    /// `path` of the fixtures (absolute in the filesystem) as a C string relative to `root`.
    func relative(_ path: String) -> [CChar] { Array(String(path.drop { $0 == "/" }).utf8CString) }
}

/// Makes the native instance of `spec` for `params`.
func makeNativeScenario(_ spec: ScenarioSpec, _ params: ParamSet, _ env: NativeEnvironment,
                        command: String? = nil) throws -> any ScenarioInstance {
    switch spec.name {
    case "stat": return try NativeStat(params, env)
    case "open-read-close": return try NativeOpenReadClose(params, env)
    case "seq-read": return try NativeDataScenario(params, env, write: false, random: false)
    case "seq-write": return try NativeDataScenario(params, env, write: true, random: false)
    case "rand-read": return try NativeDataScenario(params, env, write: false, random: true)
    case "rand-write": return try NativeDataScenario(params, env, write: true, random: true)
    case "null-rpc": return try NativeNull(params, env)
    case "create-unlink": return try NativeCreateUnlink(params, env)
    case "mkdir-rmdir": return try NativeMkdirRmdir(params, env)
    case "readdir": return try NativeReaddir(params, env)
    case "rename": return try NativeRename(params, env)
    case "readlink": return try NativeReadlink(params, env)
    case "fsync": return try NativeFsync(params, env)
    case "workload": return try NativeWorkload(params, env, command: command)
    default: throw BenchError.skip("unknown scenario \(spec.name)")
    }
}

/// statx of a path of `depth` components.
final class NativeStat: ScenarioInstance {
    let root: Int32
    let path: [CChar]
    let name: String
    let fixtures: Fixtures
    let depth: Int
    let replaced: Bool
    let buffer: UnsafeMutablePointer<statx>

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        fixtures = env.fixtures
        depth = params.int(.depth)
        replaced = params.text(.state) == "replaced"
        name = try fixtures.statPath(depth: depth)
        path = env.relative(name)
        root = env.root
        buffer = .allocate(capacity: 1)  // last: an init that throws runs no deinit
    }

    deinit { buffer.deallocate() }

    var hasBackground: Bool { replaced }
    func background() throws { try fixtures.replaceStatLeaf(depth: depth) }

    func op(thread: Int) throws -> Int {
        guard cshims_statx(root, path, 0, UInt32(STATX_BASIC_STATS), buffer) == 0 else { throw NativeError("statx", name) }
        return 0
    }

    func close() {}
}

/// openat + pread of one block at offset 0 + close.
final class NativeOpenReadClose: ScenarioInstance {
    let root: Int32
    let path: [CChar]
    let name: String
    let buffer: IOBuffers

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        root = env.root
        name = env.fixtures.smallPath
        path = env.relative(name)
        buffer = try IOBuffers(blocks: 1, blockSize: params.int(.blockSize), node: env.memNode)
    }

    func op(thread: Int) throws -> Int {
        let fd = openat(root, path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NativeError("openat", name) }
        let n = pread(fd, buffer.memory.baseAddress, buffer.unit, 0)
        let failed = n < 0 ? NativeError("pread", name) : nil
        guard Glibc.close(fd) == 0 else { throw NativeError("close", name) }
        if let failed { throw failed }
        return n
    }

    func close() {}
}

/// fstat of an open descriptor, one per thread (the floor of a Tgetattr on a fid).
final class NativeNull: ConcurrentScenarioInstance {
    let fds: [Int32]
    let threads: Int

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        threads = max(1, params.int(.threads))
        var made: [Int32] = []
        for _ in 0..<threads {
            let fd = openat(env.root, ".", openPathOnly | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else {
                let e = NativeError("openat", ".")
                for f in made { Glibc.close(f) }
                throw e
            }
            made.append(fd)
        }
        fds = made
    }

    func op(thread: Int) throws -> Int {
        var st = stat()
        guard fstat(fds[thread], &st) == 0 else { throw NativeError("fstat", "the root") }
        return 0
    }

    func close() { for fd in fds { Glibc.close(fd) } }
}

/// openat(O_CREAT|O_EXCL) + close + unlinkat of a new file in a scratch folder.
final class NativeCreateUnlink: ScenarioInstance {
    let root: Int32
    let path: [CChar]
    let name: String

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        root = env.root
        name = try env.fixtures.makeScratchDirectory("create-unlink") + "/f"
        path = env.relative(name)
    }

    func op(thread: Int) throws -> Int {
        let fd = openat(root, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NativeError("openat(O_CREAT|O_EXCL)", name) }
        guard Glibc.close(fd) == 0 else { throw NativeError("close", name) }
        guard unlinkat(root, path, 0) == 0 else { throw NativeError("unlinkat", name) }
        return 0
    }

    func close() {}
}

/// mkdirat + unlinkat(AT_REMOVEDIR) of a new folder in a scratch folder.
final class NativeMkdirRmdir: ScenarioInstance {
    let root: Int32
    let path: [CChar]
    let name: String

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        root = env.root
        name = try env.fixtures.makeScratchDirectory("mkdir-rmdir") + "/d"
        path = env.relative(name)
    }

    func op(thread: Int) throws -> Int {
        guard mkdirat(root, path, 0o755) == 0 else { throw NativeError("mkdirat", name) }
        guard unlinkat(root, path, AT_REMOVEDIR) == 0 else { throw NativeError("unlinkat(AT_REMOVEDIR)", name) }
        return 0
    }

    func close() {}
}

/// renameat a -> b, then b -> a.
final class NativeRename: ScenarioInstance {
    let root: Int32
    let a: [CChar]
    let b: [CChar]
    let name: String

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        root = env.root
        let dir = try env.fixtures.makeScratchDirectory("rename")
        try env.fixtures.makeEmptyFile(dir + "/a")
        name = dir + "/a"
        a = env.relative(dir + "/a")
        b = env.relative(dir + "/b")
    }

    func op(thread: Int) throws -> Int {
        guard renameat(root, a, root, b) == 0 else { throw NativeError("renameat", name) }
        guard renameat(root, b, root, a) == 0 else { throw NativeError("renameat (back)", name) }
        return 0
    }

    func close() {}
}

/// readlinkat of the fixture symlink.
final class NativeReadlink: ScenarioInstance {
    let root: Int32
    let path: [CChar]
    let name: String
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        root = env.root
        name = env.fixtures.symlinkPath
        path = env.relative(name)
    }

    deinit { buffer.deallocate() }

    func op(thread: Int) throws -> Int {
        let n = readlinkat(root, path, buffer, 256)
        guard n >= 0 else { throw NativeError("readlinkat", name) }
        // "small": the target the fixtures made.
        guard n == 5, buffer[0] == 0x73, buffer[4] == 0x6C else {
            throw NativeError(message: "native readlinkat \(name): an unexpected target of \(n) bytes, expected \"small\"")
        }
        return 0
    }

    func close() {}
}

/// openat(O_DIRECTORY) + getdents64 until the end + close of a folder of `entries` files.
final class NativeReaddir: ScenarioInstance {
    let root: Int32
    let path: [CChar]
    let name: String
    let entries: Int
    /// getdents64's buffer: 32 KiB, what glibc's readdir uses.
    let buffer: UnsafeMutableRawBufferPointer

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        guard params.text(.state) != "replaced" else { throw BenchError.skip("readdir runs cold or warm; replaced applies to stat") }
        root = env.root
        entries = params.int(.entries)
        name = env.fixtures.directoryPath(entries: entries)
        path = env.relative(name)
        // Allocated last: an init that throws runs no deinit, so an earlier allocation would leak.
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 << 10, alignment: 16)
    }

    deinit { buffer.deallocate() }

    func op(thread: Int) throws -> Int {
        let fd = openat(root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw NativeError("openat(O_DIRECTORY)", name) }
        var listed = 0
        while true {
            let n = cshims_getdents64(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                let e = NativeError("getdents64", name)
                Glibc.close(fd)
                throw e
            }
            if n == 0 { break }
            // linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name.
            var offset = 0
            while offset < n {
                let reclen = Int(buffer.load(fromByteOffset: offset + 16, as: UInt16.self))
                let first = buffer[offset + 19], second = buffer[offset + 20], third = buffer[offset + 21]
                let dot = first == 0x2E && (second == 0 || (second == 0x2E && third == 0))
                if !dot { listed += 1 }
                offset += reclen
            }
        }
        guard Glibc.close(fd) == 0 else { throw NativeError("close", name) }
        guard listed == entries else { throw NativeError(message: "native readdir of \(name) listed \(listed) entries, expected \(entries)") }
        return 0
    }

    func close() {}
}
