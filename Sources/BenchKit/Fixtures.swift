#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HostSupport
import P9

/// The files scenarios work on, made in a scratch folder of their own before any measurement, through a
/// `FixtureStore`: 9P on a second connection for every server, syscalls in a local folder for the native floor.
///
/// Layout of the scratch folder: `stat<N>/d1/.../leaf` (a path of N components from the measured attach root, the
/// prefix included), `data/read-<size>` (pattern bytes), `data/write-<size>` (zeros), `data/small` (one block),
/// `data/link`, `data/sync`, `readdir-<N>/e<i>`, `scratch/<scenario>-<n>`. Nothing is made outside it.
public final class Fixtures: Sendable {
    private struct State {
        var replacements = 0
        var scratchCount = 0
        /// Files made so far (relative paths) and their sizes.
        var files: [String: Int] = [:]
        /// Folders made so far (relative paths).
        var directories: Set<String> = []
    }

    /// Where the files are made.
    let store: any FixtureStore
    /// The scratch folder in the store ("/bench-1-ab"; "" when the store's root is the folder itself).
    let folder: String
    /// The scratch folder as a path of the measured filesystem: "" when the measured connections attach at it, else its
    /// path from their attach root.
    public let prefix: String
    /// The scratch folder on this machine, when the bench can read it (nil for a server whose files are out of reach).
    public let local: String?
    private let seed: UInt64
    private let state = Locked(State())
    /// Put in the names of scratch folders, so that client processes sharing the fixtures never pick the same one.
    private let scratchTag: String

    /// Fixtures in the existing scratch folder `folder` of `store`, seen at `prefix` by the measured filesystem
    /// (`local`: the folder on this machine, if known).
    init(store: any FixtureStore, folder: String, prefix: String, local: String?, seed: UInt64, scratchTag: String = "") {
        self.store = store
        self.folder = folder
        self.prefix = prefix
        self.local = local
        self.seed = seed
        self.scratchTag = scratchTag
    }

    /// Where the fixtures are and what was made, for a client process that uses them through a store of its own.
    struct Snapshot: Codable {
        var folder: String
        var prefix: String
        var local: String?
        var seed: UInt64
        var files: [String: Int]
        var directories: [String]
    }

    /// This fixture set's snapshot.
    func snapshot() -> Snapshot {
        state.withLock { s in
            Snapshot(folder: folder, prefix: prefix, local: local, seed: seed, files: s.files, directories: Array(s.directories))
        }
    }

    /// The fixtures of `snapshot` through `store` (nothing made is made again); scratch folders named with `scratchTag`.
    convenience init(_ snapshot: Snapshot, store: any FixtureStore, scratchTag: String) {
        self.init(store: store, folder: snapshot.folder, prefix: snapshot.prefix, local: snapshot.local, seed: snapshot.seed,
                  scratchTag: scratchTag)
        state.withLock { s in
            s.files = snapshot.files
            s.directories = Set(snapshot.directories)
        }
    }

    /// Uses the local folder `local` (created if missing) and names it `prefix` inside the filesystem; its files are
    /// made with plain syscalls.
    public convenience init(local: String, prefix: String, seed: UInt64) throws {
        try FileManager.default.createDirectory(atPath: local + "/data", withIntermediateDirectories: true)
        self.init(store: LocalFixtureStore(root: local), folder: "", prefix: prefix, local: local, seed: seed)
        state.withLock { $0.directories = ["data"] }
    }

    /// Makes a new scratch folder `/bench-<pid>-<hex>` in the root of `store` (a name nothing has yet: a folder of
    /// that name is never reused); returns its path in the store.
    static func makeScratchFolder(in store: any FixtureStore) throws -> String {
        for _ in 0..<16 {
            let name = "/bench-\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            do { try store.makeDirectory(name) } catch BenchError.exists { continue }
            return name
        }
        throw BenchError.fixture("no free name for a scratch folder in the export (16 tries)")
    }

    /// The measured filesystem's path of `relative` (a path inside the scratch folder).
    private func path(_ relative: String) -> String { prefix + "/" + relative }
    /// The store's path of `relative`.
    private func storePath(_ relative: String) -> String { folder + "/" + relative }
    /// The path inside the scratch folder of the measured filesystem's `path`.
    private func relative(_ path: String) -> String { String(path.dropFirst(prefix.count + 1)) }

    /// Components the prefix itself adds to every path.
    var prefixDepth: Int { prefix.split(separator: "/").count }

    /// The filesystem path of the stat target: `depth` components from the attach root, the prefix included.
    public func statPath(depth: Int) throws -> String {
        guard depth > prefixDepth else {
            throw BenchError.skip("depth \(depth) is not deeper than the fixture folder \(prefix) (\(prefixDepth) components)")
        }
        return path(statComponents(depth).joined(separator: "/"))
    }

    /// The chain inside the fixture folder: `depth` minus the prefix's components.
    private func statComponents(_ depth: Int) -> [String] {
        let n = depth - prefixDepth
        guard n > 1 else { return ["stat\(depth)-leaf"] }
        return ["stat\(depth)"] + (1..<n - 1).map { "d\($0)" } + ["leaf"]
    }

    /// Makes the folder `relative` and the folders above it in the scratch folder that are not made yet.
    private func makeDirectories(_ relative: String) throws {
        var current = ""
        for name in relative.split(separator: "/") {
            current += (current.isEmpty ? "" : "/") + name
            let made = state.withLock { $0.directories.contains(current) }
            if made { continue }
            do { try store.makeDirectory(storePath(current)) } catch BenchError.exists {
                // made by an earlier call
            }
            state.withLock { _ = $0.directories.insert(current) }
        }
    }

    /// Makes the file `relative` of `size` bytes unless one of at least that size was made.
    private func ensure(_ relative: String, size: Int, fill: FixtureFill) throws {
        if let made = state.withLock({ $0.files[relative] }), made >= size { return }
        try store.makeFile(storePath(relative), size: size, fill: fill)
        state.withLock { $0.files[relative] = size }
    }

    /// Makes the folders every scenario's files go in (`data`).
    func makeBase() throws { try makeDirectories("data") }

    /// Makes the stat chain of `depth` components.
    public func makeStatChain(depth: Int) throws {
        guard depth > prefixDepth else { return }
        let comps = statComponents(depth)
        if comps.count > 1 { try makeDirectories(comps.dropLast().joined(separator: "/")) }
        try ensure(comps.joined(separator: "/"), size: 1, fill: .pattern(seed: seed))
    }

    /// Replaces the stat target of `depth` with a new inode: a new file renamed over it, as another client would.
    public func replaceStatLeaf(depth: Int) throws {
        let n = state.withLock { s -> Int in
            s.replacements += 1
            return s.replacements
        }
        try store.replaceFile(storePath(statComponents(depth).joined(separator: "/")), byte: UInt8(truncatingIfNeeded: n))
    }

    /// Thread `thread`'s own stat chain of `depth` components (thread 0's is the usual one), made when missing.
    func threadStatPath(depth: Int, thread: Int) throws -> String {
        let usual = try statPath(depth: depth)
        guard thread > 0 else { return usual }
        var comps = statComponents(depth)
        comps[0] = comps.count > 1 ? "stat\(depth)-t\(thread)" : "stat\(depth)-t\(thread)-leaf"
        if comps.count > 1 { try makeDirectories(comps.dropLast().joined(separator: "/")) }
        let relative = comps.joined(separator: "/")
        try ensure(relative, size: 1, fill: .pattern(seed: seed))
        return path(relative)
    }

    /// Thread `thread`'s own read file of `size` bytes (thread 0's is the usual one), made when missing with the
    /// same contents.
    func threadReadPath(size: Int, thread: Int) throws -> String {
        guard thread > 0 else { return readPath(size: size) }
        let relative = "data/read-\(size)-t\(thread)"
        try ensure(relative, size: size, fill: .pattern(seed: seed))
        return path(relative)
    }

    /// Thread `thread`'s own small file of `size` bytes (thread 0's is the usual one), made when missing.
    func threadSmallPath(size: Int, thread: Int) throws -> String {
        guard thread > 0 else { return smallPath }
        let relative = "data/small-t\(thread)"
        try ensure(relative, size: size, fill: .pattern(seed: seed))
        return path(relative)
    }

    /// Thread `thread`'s own write file of `size` bytes of zeros (thread 0's is the usual one), made when missing.
    func threadWritePath(size: Int, thread: Int) throws -> String {
        guard thread > 0 else { return writePath(size: size) }
        let relative = "data/write-\(size)-t\(thread)"
        try ensure(relative, size: size, fill: .zeros)
        return path(relative)
    }

    /// Thread `thread`'s own symlink to the small file's name (thread 0's is the usual one), made when missing.
    func threadSymlinkPath(thread: Int) throws -> String {
        guard thread > 0 else { return symlinkPath }
        let relative = "data/link-t\(thread)"
        guard state.withLock({ $0.files[relative] == nil }) else { return path(relative) }
        try store.makeSymlink(storePath(relative), target: "small")
        state.withLock { $0.files[relative] = 0 }
        return path(relative)
    }

    /// The filesystem path of the read file of `size` bytes.
    public func readPath(size: Int) -> String { path("data/read-\(size)") }
    /// The filesystem path of the write file of `size` bytes.
    public func writePath(size: Int) -> String { path("data/write-\(size)") }
    /// The filesystem path of the small file open-read-close reads.
    public var smallPath: String { path("data/small") }

    /// Makes the read file of `size` bytes (pattern bytes from the seed).
    public func makeReadFile(size: Int) throws { try ensure("data/read-\(size)", size: size, fill: .pattern(seed: seed)) }
    /// Makes the write file of `size` bytes (zeros).
    public func makeWriteFile(size: Int) throws { try ensure("data/write-\(size)", size: size, fill: .zeros) }
    /// Makes the small file of `size` bytes.
    public func makeSmallFile(size: Int) throws { try ensure("data/small", size: size, fill: .pattern(seed: seed)) }

    /// The filesystem path of the directory of `entries` files readdir lists.
    public func directoryPath(entries: Int) -> String { path("readdir-\(entries)") }

    /// Makes the readdir directory of `entries` empty files.
    public func makeDirectory(entries: Int) throws {
        let dir = "readdir-\(entries)"
        guard !state.withLock({ $0.directories.contains(dir) }) else { return }
        try store.makeDirectory(storePath(dir))
        try store.makeEmptyFiles(in: storePath(dir), names: (0..<entries).map { "e\($0)" })
        state.withLock { _ = $0.directories.insert(dir) }
    }

    /// The filesystem path of the symlink readlink reads.
    public var symlinkPath: String { path("data/link") }

    /// Makes the symlink readlink reads (pointing at the small file's name).
    public func makeSymlink() throws {
        guard state.withLock({ $0.files["data/link"] == nil }) else { return }
        try store.makeSymlink(storePath("data/link"), target: "small")
        state.withLock { $0.files["data/link"] = 0 }
    }

    /// The filesystem path of the file fsync writes into.
    public var syncPath: String { path("data/sync") }

    /// Makes the fsync file (64 KiB of zeros).
    public func makeSyncFile() throws { try ensure("data/sync", size: 64 << 10, fill: .zeros) }

    /// Makes a new empty folder for a scenario that creates and removes entries; returns its filesystem path.
    public func makeScratchDirectory(_ name: String) throws -> String {
        let n = state.withLock { s -> Int in
            s.scratchCount += 1
            return s.scratchCount
        }
        let dir = "scratch/\(name)-\(scratchTag)\(n)"
        try makeDirectories(dir)
        return path(dir)
    }

    /// Makes the empty file at the filesystem path `path` (a scenario's starting point, e.g. rename's `a`).
    public func makeEmptyFile(_ path: String) throws { try ensure(relative(path), size: 0, fill: .zeros) }

    /// The local path of the read file of `size` bytes (for the pread limit; nil when the files are out of reach).
    public func localReadPath(size: Int) -> String? { local.map { $0 + "/data/read-\(size)" } }
    /// The local path of the small file (for open-read-close's pread limit; nil when the files are out of reach).
    public var localSmallPath: String? { local.map { $0 + "/data/small" } }

    /// Removes the scratch folder and everything in it (what the bench made, and nothing else: the folder is its own).
    public func remove() throws { try store.removeTree(folder) }
}

/// A new temporary directory (mkdtemp) in `parent` (the system temporary folder by default); failing is a fixture error.
func temporaryDirectory(prefix: String, in parent: String = NSTemporaryDirectory()) throws -> String {
    do { return try makeTemporaryDirectory(prefix: prefix, in: parent) } catch { throw BenchError.fixture("mkdtemp: \(error)") }
}

/// The folder a run's export goes in and its file system type: /dev/shm when it is a writable tmpfs (no disk
/// write-back disturbs the measurements and fsync costs no disk flush), else the system temporary folder.
func exportParent() -> (path: String, fsType: String?) {
    if access("/dev/shm", W_OK) == 0, fileSystemType(of: "/dev/shm") == "tmpfs" { return ("/dev/shm", "tmpfs") }
    let tmp = NSTemporaryDirectory()
    return (tmp, fileSystemType(of: tmp))
}

/// The type of the file system holding `path` ("tmpfs", "ext4"), from the longest matching mount point in /proc/self/mounts.
func fileSystemType(of path: String) -> String? {
    guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
    let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    var best: (length: Int, type: String)?
    for line in mounts.split(separator: "\n") {
        let f = line.split(separator: " ")
        guard f.count >= 3 else { continue }
        let point = f[1].replacingOccurrences(of: "\\040", with: " ")
        let inside = point == "/" || target == point || target.hasPrefix(point + "/")
        if inside, point.count >= (best?.length ?? -1) { best = (point.count, String(f[2])) }
    }
    return best?.type
}
