#if canImport(Glibc)
import Glibc
#endif
import BenchReport

/// Sequential or random reads or writes of one I/O unit (`blocks` x `block_size`) of a fixture file opened once:
/// pread/pwrite for one block, preadv/pwritev for several (the iovecs prepared once).
final class NativeDataScenario: ScenarioInstance {
    let fd: Int32
    let name: String
    let buffer: IOBuffers
    let iovecs: UnsafeMutableBufferPointer<iovec>
    let fileSize: Int
    let write: Bool
    let random: Bool
    var generator: SeededRandom
    var offset = 0

    init(_ params: ParamSet, _ env: NativeEnvironment, write: Bool, random: Bool) throws {
        self.write = write
        self.random = random
        fileSize = params.int(.fileSize)
        let blocks = params.int(.blocks), blockSize = params.int(.blockSize)
        guard blocks * blockSize <= fileSize else {
            throw BenchError.skip("an I/O unit of \(blocks) x \(Units.formatSize(blockSize)) is larger than file_size \(Units.formatSize(fileSize))")
        }
        buffer = try IOBuffers(blocks: blocks, blockSize: blockSize, node: env.memNode)
        name = write ? env.fixtures.writePath(size: fileSize) : env.fixtures.readPath(size: fileSize)
        fd = openat(env.root, env.relative(name), (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw NativeError("openat", name) }
        iovecs = .allocate(capacity: blocks)
        for i in 0..<blocks {
            iovecs[i] = iovec(iov_base: buffer.memory.baseAddress! + i * blockSize, iov_len: blockSize)
        }
        generator = SeededRandom(seed: env.seed)
    }

    deinit { iovecs.deallocate() }

    /// One I/O unit at `at`; a short transfer is an error.
    private func transfer(at: Int) throws -> Int {
        let unit = buffer.unit
        let n: Int
        if iovecs.count == 1 {
            n = write ? pwrite(fd, buffer.memory.baseAddress, unit, off_t(at)) : pread(fd, buffer.memory.baseAddress, unit, off_t(at))
        } else {
            let count = Int32(iovecs.count)
            n = write ? pwritev(fd, iovecs.baseAddress, count, off_t(at)) : preadv(fd, iovecs.baseAddress, count, off_t(at))
        }
        guard n >= 0 else { throw NativeError(write ? "pwrite" : "pread", name) }
        guard n == unit else {
            throw NativeError(message: "native short \(write ? "write" : "read") of \(n) bytes at offset \(at) of \(name) (wanted \(unit))")
        }
        return n
    }

    func op(thread: Int) throws -> Int {
        let unit = buffer.unit
        if random { return try transfer(at: generator.next(below: fileSize / unit) * unit) }
        if offset + unit > fileSize { offset = 0 }
        let n = try transfer(at: offset)
        offset += n
        return n
    }

    func close() { Glibc.close(fd) }
}

/// pwrite 4 KiB + fsync, cycling through the first 64 KiB of the fsync fixture.
final class NativeFsync: ScenarioInstance {
    let fd: Int32
    let name: String
    let buffer: IOBuffers
    var offset = 0

    init(_ params: ParamSet, _ env: NativeEnvironment) throws {
        buffer = try IOBuffers(blocks: 1, blockSize: 4096, node: env.memNode)
        name = env.fixtures.syncPath
        fd = openat(env.root, env.relative(name), O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NativeError("openat", name) }
    }

    func op(thread: Int) throws -> Int {
        let n = pwrite(fd, buffer.memory.baseAddress, 4096, off_t(offset))
        guard n == 4096 else { throw n < 0 ? NativeError("pwrite", name) : NativeError(message: "native short write of \(n) bytes to \(name)") }
        guard fsync(fd) == 0 else { throw NativeError("fsync", name) }
        offset = (offset + 4096) % (64 << 10)
        return n
    }

    func close() { Glibc.close(fd) }
}
