import P9
import SafeMem
import SystemPackage

/// An open file description of a `Filesystem` (what open(2) returns).
///
/// `@unchecked Sendable`: the closed flag is guarded by the filesystem's `lock`, the position by its own mutex.
/// Its operations take no tree lock: the dentry stays cached while it is open.
public final class OpenFile: @unchecked Sendable {
    let fs: Filesystem
    let dentry: Dentry
    /// The path it was opened by, for error messages.
    let path: String
    /// The handle this description reads and writes through (shared with the dentry unless cacheNone).
    public let handle: Handle
    /// Whether the description was opened for reading.
    public let readable: Bool
    /// Whether the description was opened for writing.
    public let writable: Bool
    let append: Bool
    private let ownsHandle: Bool
    /// The current offset of read(2) and write(2).
    private let position = Locked<UInt64>(0)
    private var closed = false

    init(fs: Filesystem, dentry: Dentry, path: String, handle: Handle, readable: Bool, writable: Bool, append: Bool,
         ownsHandle: Bool) {
        self.fs = fs
        self.dentry = dentry
        self.path = path
        self.handle = handle
        self.readable = readable
        self.writable = writable
        self.append = append
        self.ownsHandle = ownsHandle
    }

    deinit { if !closed { try? close() } }

    /// read(2): reads at the current offset and advances it.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(GoferError) -> Int {
        let at = position.withLock { $0 }
        let n = try read(into: BlockSeq(Block(buffer)), at: at)
        position.withLock { $0 = at + UInt64(n) }
        return n
    }

    /// write(2): writes at the current offset (the end with O_APPEND) and advances it.
    public func write(from buffer: UnsafeRawBufferPointer) throws(GoferError) -> Int {
        let at = append ? size() : position.withLock { $0 }
        let n = try write(from: Self.blocks(buffer), at: at)
        position.withLock { $0 = at + UInt64(n) }
        return n
    }

    /// pread(2): reads at `offset`; the current offset stays.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(GoferError) -> Int {
        try read(into: BlockSeq(Block(buffer)), at: offset)
    }

    /// pwrite(2): writes at `offset`; the current offset stays.
    public func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(GoferError) -> Int {
        try write(from: Self.blocks(buffer), at: offset)
    }

    /// A read-only buffer as the BlockSeq the data path takes (it only reads from it).
    private static func blocks(_ buffer: UnsafeRawBufferPointer) -> BlockSeq {
        BlockSeq(Block(base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), count: buffer.count))
    }

    /// Reads into a BlockSeq at `offset`: host FD, page cache, or 9P, by mode and handle.
    public func read(into dsts: BlockSeq, at offset: UInt64) throws(GoferError) -> Int {
        guard readable else { throw GoferError(.badFileDescriptor, "read \(path): not open for reading") }
        if handle.hasHostFD || !fs.options.cachesData {
            return try handle.readToBlocksAt(dsts, offset: offset)
        }
        let pages = try fs.locked("read \(path)") { try fs.pages(of: dentry) }
        // The page cache's own lock, held across a miss's RPC; the filesystem's lock is not.
        return try GoferError.mapping("read \(path)") {
            try dentry.data.withLock { try pages.read(into: dsts, at: offset, through: handle) }
        }
    }

    /// Writes a BlockSeq at `offset`: host FD, page cache (writeback or write-through), or 9P.
    public func write(from srcs: BlockSeq, at offset: UInt64) throws(GoferError) -> Int {
        guard writable else { throw GoferError(.badFileDescriptor, "write \(path): not open for writing") }
        if handle.hasHostFD || !fs.options.cachesData {
            let n = try handle.writeFromBlocksAt(srcs, offset: offset)
            fs.lock.withLock { fs.grow(dentry, to: offset + UInt64(n)) }
            return n
        }
        let pages = try fs.locked("write \(path)") { try fs.pages(of: dentry) }
        let n = try GoferError.mapping("write \(path)") {
            try dentry.data.withLock {
                if fs.options.mode == .writethrough {
                    let n = try handle.writeFromBlocksAt(srcs, offset: offset)
                    try pages.update(from: srcs, at: offset, written: n)
                    return n
                }
                return try pages.write(from: srcs, at: offset, through: handle)
            }
        }
        fs.lock.withLock { fs.grow(dentry, to: offset + UInt64(n)) }
        return n
    }

    /// fsync(2): dirty pages and explicit timestamps written back, then the file synced.
    public func fsync() throws(GoferError) {
        try fs.locked("fsync \(path)") { try fs.writeBack(dentry, unlocking: true) }
        try GoferError.mapping("fsync \(path)") { try handle.sync() }
    }

    /// Current size as this client sees it.
    public func size() -> UInt64 {
        fs.lock.withLock { fs.currentSize(dentry) }
    }

    /// close(2): Tflushf for a writable file except in Exclusive; a cacheNone handle is closed.
    public func close() throws(GoferError) {
        let wasOpen = fs.lock.withLock {
            defer { closed = true }
            return !closed
        }
        guard wasOpen else { return }
        // Tflushf and the clunk go without the filesystem's lock; the open count keeps the dentry's handle until then.
        defer {
            // The file's last description gone: its processes' locks go too (close(2) drops a process's locks).
            let locks = fs.lock.withLock { () -> [Handle] in
                dentry.openCount -= 1
                guard dentry.openCount == 0 else { return [] }
                defer { dentry.lockHandles = [:] }
                return Array(dentry.lockHandles.values)
            }
            locks.forEach { $0.close() }
        }
        try GoferError.mapping("close \(path)") {
            var flushError: Error?
            if writable && fs.options.mode != .exclusive && fs.client.supports(.tflushf), let f = handle.file {
                do { try f.flushf() } catch { flushError = error }
            }
            if ownsHandle { handle.close() }
            if let flushError { throw flushError }
        }
    }
}
