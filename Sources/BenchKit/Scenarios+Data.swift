#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Gofer
import P9
import SafeMem

/// write 4 KiB + fsync, cycling through the first 64 KiB of a file.
final class FsyncScenario: ScenarioInstance {
    let fs: Filesystem
    let file: OpenFile
    let buffer: IOBuffers
    var offset = 0

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let fixtures = try requireFixtures(env)
        buffer = try IOBuffers(blocks: 1, blockSize: 4096, node: env.memNode)
        fs = try makeFilesystem(params, env)
        do { file = try fs.open(fixtures.syncPath, flags: O_WRONLY) } catch { fs.release(); throw error }
        do { try requireHostFD(params, file.handle) } catch { close(); throw error }
    }

    func op(thread: Int) throws -> Int {
        let n = try file.write(from: buffer.seq, at: UInt64(offset))
        guard n == 4096 else { throw BenchError.server("short write of \(n) bytes at offset \(offset) (wanted 4096)") }
        try file.fsync()
        offset = (offset + 4096) % (64 << 10)
        return n
    }

    func close() {
        try? file.close()
        fs.release()
    }
}

/// A xorshift64 generator: the same `seed` gives the same offsets in every run.
struct SeededRandom {
    private var x: UInt64

    init(seed: UInt64) { x = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return x
    }

    /// A value in 0..<n (n > 0).
    mutating func next(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// The unit indices rand-read and rand-write visit.
public enum RandomOffsets {
    /// The first `count` unit indices (in 0..<units) drawn from `seed`, as the scenarios draw them.
    public static func sample(seed: UInt64, units: Int, count: Int) -> [Int] {
        var r = SeededRandom(seed: seed)
        return (0..<count).map { _ in r.next(below: units) }
    }
}

/// Reads or writes of one I/O unit (`blocks` x `block_size`) at random unit-aligned offsets in a file of
/// `file_size`, the offsets drawn from `--seed`.
final class RandomIOScenario: ScenarioInstance {
    let data: DataFile
    var random: SeededRandom

    init(_ params: ParamSet, _ env: ScenarioEnvironment, write: Bool) throws {
        data = try DataFile(params, env, write: write)
        random = SeededRandom(seed: env.seed)
    }

    func op(thread: Int) throws -> Int {
        try data.transfer(at: random.next(below: data.units) * data.buffer.unit)
    }

    var closesRepetitions: Bool { data.syncsRepetitions }
    func closeRepetition() throws { try data.file.fsync() }

    func close() { data.close() }
}
