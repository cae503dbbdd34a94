import BenchReport
import Foundation
import Gofer
import SafeMem

/// `--threads N` on one filesystem: N callers at once, each on its own files (`--sharing private`) or all on the
/// same ones (`--sharing shared`). One thread takes the single-threaded scenario, RPC for RPC.

/// stat (warm) by `threads` callers: private gives each its own chain of `depth` components, shared one path for all.
final class ThreadedStatScenario: ConcurrentScenarioInstance {
    let fs: Filesystem
    let paths: [String]
    let threads: Int

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        threads = params.int(.threads)
        guard params.text(.state) == "warm" else {
            throw BenchError.skip("stat with threads > 1 runs warm only (cold and replaced reset the cache between ops)")
        }
        let fixtures = try requireFixtures(env)
        let depth = params.int(.depth)
        let one = try fixtures.statPath(depth: depth)
        if params.text(.sharing) == "shared" {
            paths = Array(repeating: one, count: threads)
        } else {
            paths = try (0..<threads).map { try fixtures.threadStatPath(depth: depth, thread: $0) }
        }
        fs = try makeFilesystem(params, env)
        do { for p in Set(paths) { _ = try fs.stat(p) } } catch { fs.release(); throw error }  // warm
    }

    func op(thread: Int) throws -> Int {
        _ = try fs.stat(paths[thread])
        return 0
    }

    func close() { fs.release() }
}

/// Sequential reads by `threads` callers, each at its own offset: private each from its own file (and open
/// description), shared all from one file through one open description.
final class ThreadedSequentialScenario: ConcurrentScenarioInstance {
    /// One caller's buffer and offset.
    final class Caller: @unchecked Sendable {  // touched only by its own thread during a repetition
        let file: OpenFile
        let buffer: IOBuffers
        var offset: Int

        init(file: OpenFile, buffer: IOBuffers, offset: Int) {
            self.file = file
            self.buffer = buffer
            self.offset = offset
        }
    }

    let fs: Filesystem
    let callers: [Caller]
    let files: [OpenFile]
    let fileSize: Int
    let threads: Int

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let fixtures = try requireFixtures(env)
        let threads = params.int(.threads), fileSize = params.int(.fileSize)
        self.threads = threads
        self.fileSize = fileSize
        let blocks = params.int(.blocks), blockSize = params.int(.blockSize)
        guard blocks * blockSize <= fileSize else {
            throw BenchError.skip("an I/O unit of \(blocks) x \(Units.formatSize(blockSize)) is larger than file_size \(Units.formatSize(fileSize))")
        }
        let shared = params.text(.sharing) == "shared"
        let paths = try (0..<(shared ? 1 : threads)).map { try fixtures.threadReadPath(size: fileSize, thread: $0) }
        fs = try makeFilesystem(params, env)
        var opened: [OpenFile] = []
        do {
            for p in paths { opened.append(try fs.open(p, flags: O_RDONLY)) }
            try requireHostFD(params, opened[0].handle)
        } catch {
            for f in opened { try? f.close() }
            fs.release()
            throw error
        }
        files = opened
        let unit = blocks * blockSize
        let units = fileSize / unit
        // Shared: the callers start spread over the file, so that they do not read the same unit in lockstep.
        callers = try (0..<threads).map { t in
            Caller(file: opened[shared ? 0 : t], buffer: try IOBuffers(blocks: blocks, blockSize: blockSize, node: env.memNode),
                   offset: shared ? (t * units / max(threads, 1)) * unit : 0)
        }
    }

    func op(thread: Int) throws -> Int {
        let c = callers[thread]
        if c.offset + c.buffer.unit > fileSize { c.offset = 0 }
        let n = try c.file.read(into: c.buffer.seq, at: UInt64(c.offset))
        guard n == c.buffer.unit else {
            throw BenchError.server("short read of \(n) bytes at offset \(c.offset) (wanted \(c.buffer.unit))")
        }
        c.offset += n
        return n
    }

    func close() {
        for f in files { try? f.close() }
        fs.release()
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
