#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HostSupport

/// The files scenarios work on, made directly in the export folder before any measurement.
///
/// Layout under `local` (the attach root sees it under `prefix`): `stat<N>/d1/.../leaf` (a path of N
/// components), `data/read-<size>` (pattern bytes), `data/write-<size>` (zeros), `data/small` (one block).
public final class Fixtures: @unchecked Sendable {  // immutable after init except the replace and scratch counters, used by the runner's thread only
    /// The fixture folder on this machine.
    public let local: String
    /// The same folder as a path of the mounted filesystem ("" when it is the attach root).
    public let prefix: String
    private let seed: UInt64
    private var replacements = 0
    private var scratchCount = 0

    /// Uses `local` (created if missing) and names it `prefix` inside the filesystem.
    public init(local: String, prefix: String, seed: UInt64) throws {
        self.local = local
        self.prefix = prefix
        self.seed = seed
        try FileManager.default.createDirectory(atPath: local + "/data", withIntermediateDirectories: true)
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

    /// Makes the stat chain of `depth` components.
    public func makeStatChain(depth: Int) throws {
        guard depth > prefixDepth else { return }
        let comps = statComponents(depth)
        let dir = ([local] + comps.dropLast()).joined(separator: "/")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let leaf = dir + "/" + comps.last!
        if access(leaf, F_OK) != 0 { try write(leaf, size: 1, pattern: true) }
    }

    /// Replaces the stat target of `depth` with a new inode: a new file renamed over it.
    public func replaceStatLeaf(depth: Int) throws {
        let comps = statComponents(depth)
        let leaf = ([local] + comps).joined(separator: "/")
        replacements += 1
        let tmp = leaf + ".new"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError.fixture("create \(tmp): \(String(cString: strerror(errno)))") }
        var b = UInt8(truncatingIfNeeded: replacements)
        _ = Glibc.write(fd, &b, 1)
        Glibc.close(fd)
        guard rename(tmp, leaf) == 0 else { throw BenchError.fixture("rename over \(leaf): \(String(cString: strerror(errno)))") }
    }

    /// The filesystem path of the read file of `size` bytes.
    public func readPath(size: Int) -> String { prefix + "/data/read-\(size)" }
    /// The filesystem path of the write file of `size` bytes.
    public func writePath(size: Int) -> String { prefix + "/data/write-\(size)" }
    /// The filesystem path of the small file open-read-close reads.
    public var smallPath: String { prefix + "/data/small" }

    /// Makes the read file of `size` bytes (pattern bytes from the seed) unless it exists with that size.
    public func makeReadFile(size: Int) throws { try ensure(local + "/data/read-\(size)", size: size, pattern: true) }
    /// Makes the write file of `size` bytes (zeros).
    public func makeWriteFile(size: Int) throws { try ensure(local + "/data/write-\(size)", size: size, pattern: false) }
    /// Makes the small file of `size` bytes.
    public func makeSmallFile(size: Int) throws { try ensure(local + "/data/small", size: size, pattern: true) }

    private func ensure(_ path: String, size: Int, pattern: Bool) throws {
        var st = stat()
        if stat(path, &st) == 0, Int(st.st_size) >= size { return }
        try write(path, size: size, pattern: pattern)
    }

    private func write(_ path: String, size: Int, pattern: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError.fixture("create \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        guard pattern else {
            guard ftruncate(fd, off_t(size)) == 0 else { throw BenchError.fixture("truncate \(path): \(String(cString: strerror(errno)))") }
            return
        }
        let chunk = min(size, 1 << 20)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var x = seed | 1
        var offset = 0
        while offset < size {
            let n = min(chunk, size - offset)
            for i in stride(from: 0, to: n & ~7, by: 8) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                buffer.storeBytes(of: x, toByteOffset: i, as: UInt64.self)
            }
            for i in (n & ~7)..<n { buffer[i] = UInt8(truncatingIfNeeded: x >> 3) }
            let w = pwrite(fd, buffer.baseAddress, n, off_t(offset))
            guard w > 0 else { throw BenchError.fixture("write \(path): \(String(cString: strerror(errno)))") }
            offset += w
        }
    }

    /// The filesystem path of the directory of `entries` files readdir lists.
    public func directoryPath(entries: Int) -> String { prefix + "/readdir-\(entries)" }

    /// Makes the readdir directory of `entries` empty files (unless it already holds them).
    public func makeDirectory(entries: Int) throws {
        let dir = local + "/readdir-\(entries)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let n = try? FileManager.default.contentsOfDirectory(atPath: dir).count, n == entries { return }
        for i in 0..<entries {
            let fd = open(dir + "/e\(i)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw BenchError.fixture("create \(dir)/e\(i): \(String(cString: strerror(errno)))") }
            Glibc.close(fd)
        }
    }

    /// The filesystem path of the symlink readlink reads.
    public var symlinkPath: String { prefix + "/data/link" }

    /// Makes the symlink readlink reads (pointing at the small file's name).
    public func makeSymlink() throws {
        let path = local + "/data/link"
        var st = stat()
        if lstat(path, &st) == 0 { return }
        guard Glibc.symlink("small", path) == 0 else { throw BenchError.fixture("symlink \(path): \(String(cString: strerror(errno)))") }
    }

    /// The filesystem path of the file fsync writes into.
    public var syncPath: String { prefix + "/data/sync" }

    /// Makes the fsync file (64 KiB of zeros).
    public func makeSyncFile() throws { try ensure(local + "/data/sync", size: 64 << 10, pattern: false) }

    /// Makes a new empty folder for a scenario that creates and removes entries; returns (filesystem path, local path).
    public func makeScratchDirectory(_ name: String) throws -> (path: String, local: String) {
        scratchCount += 1
        let leaf = "scratch/\(name)-\(scratchCount)"
        try FileManager.default.createDirectory(atPath: local + "/" + leaf, withIntermediateDirectories: true)
        return (prefix + "/" + leaf, local + "/" + leaf)
    }

    /// The local path of the read file of `size` bytes (for the pread limit).
    public func localReadPath(size: Int) -> String { local + "/data/read-\(size)" }
    /// The local path of the small file (for open-read-close's pread limit).
    public var localSmallPath: String { local + "/data/small" }

    /// Removes the fixture folder.
    public func remove() { try? FileManager.default.removeItem(atPath: local) }
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
