#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where fixture files are made: through 9P on a second connection (every server) or with syscalls in a local
/// folder (the native floor, the limits). Paths are absolute in the store's root ("/bench-1-ab/data/small").
protocol FixtureStore: AnyObject, Sendable {
    /// Makes the folder `path`; throws `BenchError.exists` when something already has that name.
    func makeDirectory(_ path: String) throws
    /// Makes the new file `path` of `size` bytes of `fill` (replacing a file of that name made before).
    func makeFile(_ path: String, size: Int, fill: FixtureFill) throws
    /// Makes empty regular files `names` in the folder `directory`.
    func makeEmptyFiles(in directory: String, names: [String]) throws
    /// Makes the symlink `path` -> `target`.
    func makeSymlink(_ path: String, target: String) throws
    /// Replaces the file `path` by a new inode holding `byte`: a new file renamed over it (what another client does).
    func replaceFile(_ path: String, byte: UInt8) throws
    /// Removes `path` and everything below it.
    func removeTree(_ path: String) throws
    /// Releases the store (a connection, a descriptor); idempotent.
    func close()
}

/// What a fixture file holds.
enum FixtureFill: Sendable {
    /// Pseudo-random bytes from the run's seed (the same bytes on every server).
    case pattern(seed: UInt64)
    /// Zeros (a sparse file: the size is set, nothing written).
    case zeros
}

/// The pattern bytes of a fixture file, generated one chunk at a time into a reused buffer.
struct PatternGenerator {
    private var x: UInt64

    /// The generator of a file made with `seed`.
    init(seed: UInt64) { x = seed | 1 }

    /// Fills `buffer` with the next `buffer.count` bytes; chunks after the first must be multiples of 8 bytes long
    /// for the bytes not to depend on the chunk size.
    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        let n = buffer.count
        for i in stride(from: 0, to: n & ~7, by: 8) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            buffer.storeBytes(of: x, toByteOffset: i, as: UInt64.self)
        }
        for i in (n & ~7)..<n { buffer[i] = UInt8(truncatingIfNeeded: x >> 3) }
    }

    /// Bytes generated per chunk.
    static let chunk = 1 << 20

    /// Generates the `size` bytes of the file made with `seed`, a chunk at a time, handing each to `write` with its
    /// offset in the file.
    static func write(size: Int, seed: UInt64, _ write: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        let chunk = min(size, Self.chunk)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunk, 1), alignment: 16)
        defer { buffer.deallocate() }
        var generator = PatternGenerator(seed: seed)
        var offset = 0
        while offset < size {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(chunk, size - offset)])
            generator.fill(piece)
            try write(UnsafeRawBufferPointer(piece), offset)
            offset += piece.count
        }
    }
}

/// The parent's path and the last name of an absolute store path ("/a/b" -> ("/a", "b"); "/a" -> ("", "a")).
func splitStorePath(_ path: String) -> (parent: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return ("", path) }
    return (String(path[..<slash]), String(path[path.index(after: slash)...]))
}

/// Fixtures made with plain syscalls in a local folder the bench created (the native floor, the limits' files).
final class LocalFixtureStore: FixtureStore {
    /// The folder store paths are relative to.
    let root: String

    /// A store rooted at the existing folder `root`.
    init(root: String) { self.root = root }

    private func failure(_ what: String, _ path: String) -> BenchError {
        BenchError.fixture("\(what) \(root + path): \(String(cString: strerror(errno)))")
    }

    func makeDirectory(_ path: String) throws {
        guard mkdir(root + path, 0o755) == 0 else {
            if errno == EEXIST { throw BenchError.exists(path) }
            throw failure("mkdir", path)
        }
    }

    func makeFile(_ path: String, size: Int, fill: FixtureFill) throws {
        let fd = open(root + path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create", path) }
        defer { Glibc.close(fd) }
        guard case let .pattern(seed) = fill else {
            guard ftruncate(fd, off_t(size)) == 0 else { throw failure("truncate", path) }
            return
        }
        try PatternGenerator.write(size: size, seed: seed) { piece, offset in
            var done = 0
            while done < piece.count {
                let w = pwrite(fd, piece.baseAddress! + done, piece.count - done, off_t(offset + done))
                guard w > 0 else { throw failure("write", path) }
                done += w
            }
        }
    }

    func makeEmptyFiles(in directory: String, names: [String]) throws {
        for (i, name) in names.enumerated() {
            if i % 256 == 255, interruptRequested.load(ordering: .relaxed) { throw BenchError.interrupted }
            let fd = open(root + directory + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw failure("create", directory + "/" + name) }
            Glibc.close(fd)
        }
    }

    func makeSymlink(_ path: String, target: String) throws {
        guard symlink(target, root + path) == 0 else { throw failure("symlink", path) }
    }

    func replaceFile(_ path: String, byte: UInt8) throws {
        let tmp = path + ".new"
        let fd = open(root + tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create", tmp) }
        var b = byte
        let w = Glibc.write(fd, &b, 1)
        Glibc.close(fd)
        guard w == 1 else { throw failure("write", tmp) }
        guard rename(root + tmp, root + path) == 0 else { throw failure("rename over", path) }
    }

    func removeTree(_ path: String) throws {
        do { try FileManager.default.removeItem(atPath: root + path) } catch {
            throw BenchError.fixture("remove \(root + path): \(error.localizedDescription)")
        }
    }

    func close() {}
}
