#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HostSupport
import Synchronization

/// The files scenarios work on, made in a scratch folder of their own before any measurement, through a
/// `FixtureStore`: 9P on a second connection for every server, syscalls in a local folder for the native floor.
///
/// Layout under `prefix` (a path of the mounted filesystem): `stat<N>/d1/.../leaf` (a path of N components from the
/// attach root, the prefix included), `data/read-<size>` (pattern bytes), `data/write-<size>` (zeros), `data/small`
/// (one block), `data/link`, `data/sync`, `readdir-<N>/e<i>`, `scratch/<scenario>-<n>`. Nothing is made outside it.
public final class Fixtures: Sendable {
    private struct State {
        var replacements = 0
        var scratchCount = 0
        /// Files made so far and their sizes.
        var files: [String: Int] = [:]
        /// Folders made so far.
        var directories: Set<String> = []
    }

    /// Where the files are made.
    let store: any FixtureStore
    /// The fixture folder as a path of the mounted filesystem ("" when it is the attach root).
    public let prefix: String
    /// The same folder on this machine, when the bench can read it (nil for a server whose files are out of reach).
    public let local: String?
    private let seed: UInt64
    private let state = Mutex(State())

    /// Fixtures in the existing folder `prefix` of `store` (`local`: that folder on this machine, if known).
    init(store: any FixtureStore, prefix: String, local: String?, seed: UInt64) {
        self.store = store
        self.prefix = prefix
        self.local = local
        self.seed = seed
    }

    /// Uses the local folder `local` (created if missing) and names it `prefix` inside the filesystem; its files are
    /// made with plain syscalls.
    public convenience init(local: String, prefix: String, seed: UInt64) throws {
        guard local.hasSuffix(prefix) else { throw BenchError.fixture("\(local) does not end with its filesystem path \(prefix)") }
        try FileManager.default.createDirectory(atPath: local + "/data", withIntermediateDirectories: true)
        self.init(store: LocalFixtureStore(root: String(local.dropLast(prefix.count))), prefix: prefix, local: local, seed: seed)
        state.withLock { $0.directories = [prefix + "/data"] }
    }

    /// Makes a new scratch folder `/bench-<pid>-<hex>` in the root of `store` (a name nothing has yet: a folder of
    /// that name is never reused) and its `data` folder; `localRoot` is the store's root on this machine, if known.
    static func makeScratch(in store: any FixtureStore, localRoot: String?, seed: UInt64) throws -> Fixtures {
        for _ in 0..<16 {
            let name = "/bench-\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            do { try store.makeDirectory(name) } catch BenchError.exists { continue }
            let f = Fixtures(store: store, prefix: name, local: localRoot.map { $0 + name }, seed: seed)
            do { try f.makeDirectories(name + "/data") } catch {
                try? f.remove()
                throw error
            }
            return f
        }
        throw BenchError.fixture("no free name for a scratch folder in the export (16 tries)")
    }

    /// Components the prefix itself adds to every path.
    var prefixDepth: Int { prefix.split(separator: "/").count }

    /// The filesystem path of the stat target: `depth` components from the attach root, the prefix included.
    public func statPath(depth: Int) throws -> String {
        guard depth > prefixDepth else {
            throw BenchError.skip("depth \(depth) is not deeper than the fixture folder \(prefix) (\(prefixDepth) components)")
        }
        return prefix + "/" + statComponents(depth).joined(separator: "/")
    }

    /// The chain inside the fixture folder: `depth` minus the prefix's components.
    private func statComponents(_ depth: Int) -> [String] {
        let n = depth - prefixDepth
        guard n > 1 else { return ["stat\(depth)-leaf"] }
        return ["stat\(depth)"] + (1..<n - 1).map { "d\($0)" } + ["leaf"]
    }

    /// Makes `path` and the folders above it inside the prefix that are not made yet.
    private func makeDirectories(_ path: String) throws {
        var current = prefix
        for name in path.dropFirst(prefix.count).split(separator: "/") {
            current += "/" + name
            let made = state.withLock { $0.directories.contains(current) }
            if made { continue }
            do { try store.makeDirectory(current) } catch BenchError.exists {
                // made by an earlier call
            }
            state.withLock { _ = $0.directories.insert(current) }
        }
    }

    /// Makes the file `path` of `size` bytes unless one of at least that size was made.
    private func ensure(_ path: String, size: Int, fill: FixtureFill) throws {
        if let made = state.withLock({ $0.files[path] }), made >= size { return }
        try store.makeFile(path, size: size, fill: fill)
        state.withLock { $0.files[path] = size }
    }

    /// Makes the stat chain of `depth` components.
    public func makeStatChain(depth: Int) throws {
        guard depth > prefixDepth else { return }
        let comps = statComponents(depth)
        try makeDirectories(([prefix] + comps.dropLast()).joined(separator: "/"))
        try ensure(([prefix] + comps).joined(separator: "/"), size: 1, fill: .pattern(seed: seed))
    }

    /// Replaces the stat target of `depth` with a new inode: a new file renamed over it, as another client would.
    public func replaceStatLeaf(depth: Int) throws {
        let n = state.withLock { s -> Int in
            s.replacements += 1
            return s.replacements
        }
        try store.replaceFile(([prefix] + statComponents(depth)).joined(separator: "/"), byte: UInt8(truncatingIfNeeded: n))
    }

    /// The filesystem path of the read file of `size` bytes.
    public func readPath(size: Int) -> String { prefix + "/data/read-\(size)" }
    /// The filesystem path of the write file of `size` bytes.
    public func writePath(size: Int) -> String { prefix + "/data/write-\(size)" }
    /// The filesystem path of the small file open-read-close reads.
    public var smallPath: String { prefix + "/data/small" }

    /// Makes the read file of `size` bytes (pattern bytes from the seed).
    public func makeReadFile(size: Int) throws { try ensure(readPath(size: size), size: size, fill: .pattern(seed: seed)) }
    /// Makes the write file of `size` bytes (zeros).
    public func makeWriteFile(size: Int) throws { try ensure(writePath(size: size), size: size, fill: .zeros) }
    /// Makes the small file of `size` bytes.
    public func makeSmallFile(size: Int) throws { try ensure(smallPath, size: size, fill: .pattern(seed: seed)) }

    /// The filesystem path of the directory of `entries` files readdir lists.
    public func directoryPath(entries: Int) -> String { prefix + "/readdir-\(entries)" }

    /// Makes the readdir directory of `entries` empty files.
    public func makeDirectory(entries: Int) throws {
        let dir = directoryPath(entries: entries)
        guard !state.withLock({ $0.directories.contains(dir) }) else { return }
        try store.makeDirectory(dir)
        try store.makeEmptyFiles(in: dir, names: (0..<entries).map { "e\($0)" })
        state.withLock { _ = $0.directories.insert(dir) }
    }

    /// The filesystem path of the symlink readlink reads.
    public var symlinkPath: String { prefix + "/data/link" }

    /// Makes the symlink readlink reads (pointing at the small file's name).
    public func makeSymlink() throws {
        guard state.withLock({ $0.files[symlinkPath] == nil }) else { return }
        try store.makeSymlink(symlinkPath, target: "small")
        state.withLock { $0.files[symlinkPath] = 0 }
    }

    /// The filesystem path of the file fsync writes into.
    public var syncPath: String { prefix + "/data/sync" }

    /// Makes the fsync file (64 KiB of zeros).
    public func makeSyncFile() throws { try ensure(syncPath, size: 64 << 10, fill: .zeros) }

    /// Makes a new empty folder for a scenario that creates and removes entries; returns its filesystem path.
    public func makeScratchDirectory(_ name: String) throws -> String {
        let n = state.withLock { s -> Int in
            s.scratchCount += 1
            return s.scratchCount
        }
        let path = prefix + "/scratch/\(name)-\(n)"
        try makeDirectories(path)
        return path
    }

    /// Makes the empty file `path` (a scenario's starting point, e.g. rename's `a`).
    public func makeEmptyFile(_ path: String) throws { try ensure(path, size: 0, fill: .zeros) }

    /// The local path of the read file of `size` bytes (for the pread limit; nil when the files are out of reach).
    public func localReadPath(size: Int) -> String? { local.map { $0 + "/data/read-\(size)" } }

    /// Removes the fixture folder and everything in it (what the bench made, and nothing else: the folder is its own).
    public func remove() throws { try store.removeTree(prefix) }
}

/// A new temporary directory (mkdtemp); failing is a fixture error.
func temporaryDirectory(prefix: String) throws -> String {
    do { return try makeTemporaryDirectory(prefix: prefix) } catch { throw BenchError.fixture("mkdtemp: \(error)") }
}
