import Glibc
import P9
import SafeMem
import Synchronization
import Syscall
import SystemPackage

/// A remote open file: an opened fid and, when the server donated one, a host descriptor (gVisor `handle`).
///
/// Reads and writes go through `BlockSeq`s. With a host FD they are pread/preadv on it (no RPC);
/// without one, a single safe block goes straight over the wire, several blocks take the
/// buffered (temporary buffer + copySeq) or scatter (readv/writev) path.
public final class Handle: Sendable {
    /// The opened fid (nil for a handle over a bare host descriptor).
    public let file: ClientFile?
    /// The host descriptor the server donated (nil: every read and write goes over 9P).
    public let hostFD: FileDescriptor?
    /// Whether the handle was opened for reading.
    public let readable: Bool
    /// Whether the handle was opened for writing.
    public let writable: Bool
    /// Multi-block 9P strategy.
    public let multiblock: MultiBlockStrategy
    /// Where the buffered path counts its copies (the owning filesystem's counters).
    let counters: StatsCounters
    private let closed = Atomic<Bool>(false)

    /// A handle over an opened fid and/or a host descriptor, which it now owns.
    public convenience init(file: ClientFile?, hostFD: FileDescriptor?, readable: Bool, writable: Bool,
                            multiblock: MultiBlockStrategy = .buffered) {
        self.init(file: file, hostFD: hostFD, readable: readable, writable: writable, multiblock: multiblock,
                  counters: StatsCounters())
    }

    /// A handle whose copies count into `counters`.
    init(file: ClientFile?, hostFD: FileDescriptor?, readable: Bool, writable: Bool, multiblock: MultiBlockStrategy,
         counters: StatsCounters) {
        self.file = file
        self.hostFD = hostFD
        self.readable = readable
        self.writable = writable
        self.multiblock = multiblock
        self.counters = counters
    }

    /// Opens a clone of `file` (Twalk of no names) with Tlopen; the host FD is kept when donated and `useHostFD`.
    /// With `cloned: true`, `file` is already a fresh fid the handle may own: no clone walk is sent.
    public static func open(_ file: ClientFile, read: Bool, write: Bool, truncate: Bool, useHostFD: Bool,
                            multiblock: MultiBlockStrategy = .buffered, cloned: Bool = false) throws(GoferError) -> Handle {
        try GoferError.mapping("open of fid \(file.fid)") {
            try open(file, read: read, write: write, truncate: truncate, useHostFD: useHostFD, multiblock: multiblock,
                     cloned: cloned, counters: StatsCounters())
        }
    }

    /// `open` for a filesystem: the handle's copies count into `counters`.
    static func open(_ file: ClientFile, read: Bool, write: Bool, truncate: Bool, useHostFD: Bool,
                     multiblock: MultiBlockStrategy, cloned: Bool = false, counters: StatsCounters) throws -> Handle {
        precondition(read || write, "a handle is opened for reading, writing or both")
        let clone = cloned ? file : try file.walk([]).file
        var flags: OpenFlags = read && write ? .readWrite : (write ? .writeOnly : .readOnly)
        if truncate { flags.insert(.truncate) }
        let opened = try clunkingOnFailure(clone) { try $0.open(flags) }
        return Handle(file: clone, hostFD: opened.hostFD(keeping: useHostFD), readable: read, writable: write,
                      multiblock: multiblock, counters: counters)
    }

    /// Creates `name` in the directory `dir`: a clone of its fid + Tucreate (exclusive); the clone becomes the handle's.
    static func create(_ name: String, in dir: ClientFile, read: Bool, write: Bool, mode: UInt32, uid: UInt32,
                       useHostFD: Bool, multiblock: MultiBlockStrategy, counters: StatsCounters) throws -> (handle: Handle, qid: QID) {
        let clone = try dir.walk([]).file
        var flags: OpenFlags = read && write ? .readWrite : (write ? .writeOnly : .readOnly)
        flags.insert(.exclusive)
        let created = try clunkingOnFailure(clone) { try $0.create(name, flags: flags, mode: mode, gid: Frame.noGID, uid: uid) }
        let handle = Handle(file: clone, hostFD: created.hostFD(keeping: useHostFD), readable: read, writable: write,
                            multiblock: multiblock, counters: counters)
        return (handle, created.qid)
    }

    /// Runs `body` on a fid the handle was to own; a failure clunks the fid before it propagates.
    private static func clunkingOnFailure<T>(_ fid: ClientFile, _ body: (ClientFile) throws -> T) throws -> T {
        do {
            return try body(fid)
        } catch {
            try? fid.clunk()
            throw error
        }
    }


    /// True when reads and writes use the host descriptor.
    public var hasHostFD: Bool { hostFD != nil }

    /// Reads into `dsts` from `offset`; returns bytes read (short at EOF).
    public func readToBlocksAt(_ dsts: BlockSeq, offset: UInt64) throws(GoferError) -> Int {
        try GoferError.mapping("read at \(offset)") {
            if dsts.isEmpty { return 0 }
            if let hostFD { return try hostFD.read(into: dsts, at: offset) }
            guard let file else { throw Errno.badFileDescriptor }
            let head = dsts.head
            if dsts.numBlocks == 1 && !head.needsSafeCopy {
                return try file.read(into: head.buffer, at: offset)
            }
            if multiblock == .scatter && !dsts.needsSafeCopy {
                // Every block at once (no IOV_MAX cap here: the client splits by payload, not by iovec count).
                return try dsts.withIOVecs(limit: .max) { try file.read(into: $0, at: offset) }
            }
            // Buffered: one temporary buffer, then copySeq into the blocks.
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: dsts.numBytes, alignment: 64)
            defer { buf.deallocate() }
            let n = try file.read(into: buf, at: offset)
            if n == 0 { return 0 }
            let cp = try copySeq(dst: dsts, src: BlockSeq(Block(buf).takeFirst(n)))
            counters.copied(cp)
            return cp
        }
    }

    /// Writes `srcs` at `offset`; returns bytes written.
    public func writeFromBlocksAt(_ srcs: BlockSeq, offset: UInt64) throws(GoferError) -> Int {
        try GoferError.mapping("write at \(offset)") {
            if srcs.isEmpty { return 0 }
            if let hostFD { return try hostFD.write(from: srcs, at: offset) }
            guard let file else { throw Errno.badFileDescriptor }
            let head = srcs.head
            if srcs.numBlocks == 1 && !head.needsSafeCopy {
                return try file.write(from: UnsafeRawBufferPointer(head.buffer), at: offset)
            }
            if multiblock == .scatter && !srcs.needsSafeCopy {
                return try srcs.withIOVecs(limit: .max) { try file.write(from: $0, at: offset) }
            }
            // Buffered: gather into one temporary buffer (a partial gather still writes what it got).
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: srcs.numBytes, alignment: 64)
            defer { buf.deallocate() }
            var cp = 0
            var gatherError: TransferError?
            do throws(TransferError) {
                cp = try copySeq(dst: BlockSeq(Block(buf)), src: srcs)
            } catch {
                cp = error.bytes
                gatherError = error
            }
            counters.copied(cp)
            if cp == 0, let gatherError { throw gatherError }
            let n = try file.write(from: UnsafeRawBufferPointer(rebasing: buf[0..<cp]), at: offset)
            if n == cp, let gatherError { throw gatherError }
            return n
        }
    }

    /// Flushes the file to stable storage: fsync(2) on the host FD, else Tfsync.
    public func sync() throws(GoferError) {
        try GoferError.mapping("sync") {
            if let hostFD {
                _ = try retryingOnInterrupt { fsync(hostFD.rawValue) }
                return
            }
            try file?.fsync()
        }
    }

    /// Clunks the fid and closes the host FD; later calls do nothing.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? file?.clunk()
        try? hostFD?.close()
    }

    /// True once `close()` ran.
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    deinit { close() }
}
