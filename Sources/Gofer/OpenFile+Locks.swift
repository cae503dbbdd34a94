import Glibc
import P9
import SystemPackage

/// A lock held by someone else that conflicts with the one asked about (fcntl F_GETLK's answer).
public struct LockInfo: Sendable, Equatable {
    /// Read or write lock.
    public var type: LockType
    /// First byte covered.
    public var start: UInt64
    /// Bytes covered (0: to the end of the file).
    public var length: UInt64
    /// The holder's process id as its client reported it (-1 for an open-file-description lock on goferd).
    public var pid: Int32
    /// The holder's client (its node name, as Linux sends it).
    public var clientID: String

    /// A lock description.
    public init(type: LockType, start: UInt64, length: UInt64, pid: Int32, clientID: String) {
        self.type = type
        self.start = start
        self.length = length
        self.pid = pid
        self.clientID = clientID
    }
}

/// POSIX byte-range locks of an open file. They go over 9P (Tlock, Tgetlock), so that other clients
/// of the server see them, on a handle per process and file: the server's locks belong to an open file, and one
/// handle per process makes processes conflict with each other (and not with themselves) as POSIX locks do.
extension OpenFile {
    /// fcntl(F_SETLK/F_SETLKW) for `pid`: Tlock (non-blocking on the server) on `pid`'s lock handle of this file,
    /// opened on its first lock (clone + Tlopen); with `wait`, a blocked lock is asked again until granted or failed.
    public func lock(type: LockType, start: UInt64, length: UInt64, pid: Int32, wait: Bool) throws(GoferError) -> LockStatus {
        try checkLockAccess(type, "lock")
        if type == .unlock && fs.lock.withLock({ dentry.lockHandles[pid] == nil }) { return .success }  // nothing held
        let h = try lockHandle(for: pid)
        var pause: UInt32 = 1_000
        while true {
            let status = try GoferError.mapping("lock \(path)") { () throws -> LockStatus in
                if let f = h.file {
                    return try f.lock(type: type, flags: wait ? .block : [], start: start, length: length,
                                      procID: UInt32(bitPattern: pid), clientID: Self.nodeName)
                }
                guard let fd = h.hostFD else { throw Errno.badFileDescriptor }
                return try Self.hostLock(fd, type, start, length)
            }
            guard wait && status == .blocked else { return status }
            // Not a readiness wait: the holder is another process or client, which gives no notice of its unlock.
            usleep(pause)
            pause = min(pause * 2, 100_000)
        }
    }

    /// fcntl(F_GETLK) for `pid`: the lock that would conflict with `type` over the range, or nil when none.
    /// Asked on `pid`'s lock handle (its own locks never conflict), else on the data handle, which holds none.
    public func getlock(type: LockType, start: UInt64, length: UInt64, pid: Int32) throws(GoferError) -> LockInfo? {
        try checkLockAccess(type, "getlock")
        let h = fs.lock.withLock { dentry.lockHandles[pid] } ?? handle
        return try GoferError.mapping("getlock \(path)") { () throws -> LockInfo? in
            if let f = h.file {
                let r = try f.getLock(type: type, start: start, length: length, procID: UInt32(bitPattern: pid),
                                      clientID: Self.nodeName)
                if r.type == .unlock { return nil }
                return LockInfo(type: r.type, start: r.start, length: r.length, pid: Int32(bitPattern: r.procID),
                                clientID: r.clientID)
            }
            guard let fd = h.hostFD else { throw Errno.badFileDescriptor }
            return try Self.hostGetLock(fd, type, start, length)
        }
    }

    /// `pid`'s lock handle of this file, opened read-write where the file allows (else with this description's
    /// access): a clone of the dentry's fid + Tlopen, or, for a bare host descriptor, a reopen of it (a new open file).
    private func lockHandle(for pid: Int32) throws(GoferError) -> Handle {
        // A path operation's locks: a fid-less dentry's fid is walked from an ancestor, which a rename must not move.
        try fs.pathOp("lock \(path)") { () throws -> Handle in
            if let h = dentry.lockHandles[pid] { return h }
            let h: Handle
            if handle.file == nil, let fd = handle.hostFD {
                h = try reopenForLocks(fd)
            } else {
                let f = try fs.fid(of: dentry)
                h = try fs.rpc(dentry) { () throws -> Handle in
                    do {
                        return try Handle.open(f, read: true, write: true, truncate: false, useHostFD: false,
                                               multiblock: .buffered, counters: fs.counters)
                    } catch where !(readable && writable) {
                        return try Handle.open(f, read: readable, write: writable, truncate: false, useHostFD: false,
                                               multiblock: .buffered, counters: fs.counters)
                    }
                }
            }
            if let raced = dentry.lockHandles[pid] {
                try? fs.rpc(nil) { h.close() }
                return raced
            }
            dentry.lockHandles[pid] = h
            return h
        }
    }

    /// A new open file of what `fd` holds, through its /proc link.
    private func reopenForLocks(_ fd: FileDescriptor) throws -> Handle {
        var (read, write) = (true, true)
        var r = Glibc.open("/proc/self/fd/\(fd.rawValue)", O_RDWR | O_CLOEXEC)
        if r < 0 && !(readable && writable) {
            (read, write) = (readable, writable)
            r = Glibc.open("/proc/self/fd/\(fd.rawValue)", (writable ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
        }
        if r < 0 { throw Errno(rawValue: errno) }
        return Handle(file: nil, hostFD: FileDescriptor(rawValue: r), readable: read, writable: write, multiblock: .buffered,
                      counters: fs.counters)
    }

    /// A read lock needs a readable file and a write lock a writable one (EBADF otherwise, as fcntl).
    private func checkLockAccess(_ type: LockType, _ op: String) throws(GoferError) {
        if type == .readLock && !readable { throw GoferError(.badFileDescriptor, "\(op) \(path): not open for reading") }
        if type == .writeLock && !writable { throw GoferError(.badFileDescriptor, "\(op) \(path): not open for writing") }
    }

    /// This host's node name, the client id Tlock and Tgetlock carry (what Linux sends).
    static let nodeName: String = {
        var u = utsname()
        guard Glibc.uname(&u) == 0 else { return "" }
        return withUnsafeBytes(of: &u.nodename) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }()

    // Linux values the Glibc module does not export (they sit behind _GNU_SOURCE).
    private static let fOFDGetLock: Int32 = 36
    private static let fOFDSetLock: Int32 = 37

    private static func flockValue(_ type: LockType, _ start: UInt64, _ length: UInt64) -> flock {
        var fl = flock()
        fl.l_type = Int16(type.rawValue)  // F_RDLCK 0, F_WRLCK 1, F_UNLCK 2, like 9P
        fl.l_whence = Int16(SEEK_SET)
        fl.l_start = off_t(truncatingIfNeeded: start)
        fl.l_len = off_t(truncatingIfNeeded: length)
        return fl
    }

    /// An open-file-description lock on a bare host descriptor (never waits).
    private static func hostLock(_ fd: FileDescriptor, _ type: LockType, _ start: UInt64, _ length: UInt64) throws -> LockStatus {
        var fl = flockValue(type, start, length)
        if fcntl(fd.rawValue, fOFDSetLock, &fl) == 0 { return .success }
        if errno == EAGAIN || errno == EACCES { return .blocked }
        throw Errno(rawValue: errno)
    }

    private static func hostGetLock(_ fd: FileDescriptor, _ type: LockType, _ start: UInt64, _ length: UInt64) throws -> LockInfo? {
        var fl = flockValue(type, start, length)
        if fcntl(fd.rawValue, fOFDGetLock, &fl) != 0 { throw Errno(rawValue: errno) }
        guard let t = LockType(rawValue: UInt8(truncatingIfNeeded: fl.l_type)), t != .unlock else { return nil }
        return LockInfo(type: t, start: UInt64(bitPattern: Int64(fl.l_start)), length: UInt64(bitPattern: Int64(fl.l_len)),
                        pid: fl.l_pid, clientID: nodeName)
    }
}
