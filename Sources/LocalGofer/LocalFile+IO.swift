import Glibc
import P9
import Syscall
import SystemPackage

/// Open, data, directory listing, sync, allocation and OFD locks.
extension LocalFile {
    /// Host open(2) flags for 9P open flags: the access mode, truncate, append and the sync bits.
    static func hostOpenFlags(_ flags: OpenFlags) -> Int32 {
        var f = Int32(bitPattern: flags.accessMode.rawValue)
        if f == 3 { f = O_RDONLY }
        if flags.contains(.truncate) { f |= O_TRUNC }
        if flags.contains(.append) { f |= O_APPEND }
        if flags.contains(.dataSync) { f |= O_DSYNC }
        if flags.contains(.sync) { f |= O_SYNC }
        return f
    }

    func open(_ flags: OpenFlags, context: RequestContext) throws -> OpenedFile {
        let writes = flags.accessMode != .readOnly || flags.contains(.truncate)
        if writes { try gofer.checkWritable() }
        if isSymlink { throw Errno.tooManySymbolicLinkLevels }
        if isDirectory && flags.accessMode != .readOnly { throw Errno.isDirectory }
        var hostFlags = LocalFile.hostOpenFlags(flags)
        if isDirectory { hostFlags |= O_DIRECTORY }
        if fileType == S_IFIFO { hostFlags |= O_NONBLOCK }  // a worker must never block on a pipe's other end
        try state.withLock { s in
            guard s.fd == nil else { throw Errno.invalidArgument }
            s.fd = try Host.reopen(pathFD, hostFlags)
            s.flags = flags
        }
        var donated: FileDescriptor?
        if context.donateFDs && fileType == S_IFREG {
            donated = try? Host.reopen(pathFD, LocalFile.hostOpenFlags(flags.accessMode.union(flags.intersection(.append))))
        }
        return OpenedFile(qid: qid, hostFD: donated)
    }

    /// The open descriptor, or EINVAL when the fid is not open (gVisor).
    private func openFD() throws -> FileDescriptor {
        guard let fd = state.withLock({ $0.fd }) else { throw Errno.invalidArgument }
        return fd
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        let fd = try openFD()
        if isDirectory { throw Errno.isDirectory }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try retryingOnInterrupt { pread(fd.rawValue, base, buffer.count, off_t(truncatingIfNeeded: offset)) }
    }

    /// The open descriptor of a regular file opened for reading (closed only at deinit, so it outlives the request).
    func readSource() -> FileDescriptor? {
        guard fileType == S_IFREG else { return nil }
        return state.withLock { s in s.flags.accessMode == .writeOnly ? nil : s.fd }
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws -> Int {
        try gofer.checkWritable()
        let fd = try openFD()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try retryingOnInterrupt { pwrite(fd.rawValue, base, buffer.count, off_t(truncatingIfNeeded: offset)) }
    }

    func readdir(offset: UInt64, count: Int, context: RequestContext) throws -> [Dirent] {
        guard isDirectory else { throw Errno.notDirectory }
        return try state.withLock { s throws -> [Dirent] in
            guard let fd = s.fd else { throw Errno.invalidArgument }
            if s.dir == nil {
                guard let d = fdopendir(fd.rawValue) else { throw Errno(rawValue: errno) }
                s.dir = d
            }
            let dir = s.dir!
            if offset == 0 { rewinddir(dir) } else if offset != s.dirCookie { seekdir(dir, Int(bitPattern: UInt(offset))) }
            var out: [Dirent] = []
            var used = 0
            while true {
                let before = telldir(dir)
                errno = 0
                guard let ent = Glibc.readdir(dir) else {
                    if errno != 0 { throw Errno(rawValue: errno) }
                    break
                }
                let name = withUnsafePointer(to: &ent.pointee.d_name) { p in
                    p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name == "." || name == ".." { continue }
                let size = Dirent.fixedSize + name.utf8.count
                if used + size > count {
                    seekdir(dir, before)
                    break
                }
                used += size
                let dtype = ent.pointee.d_type
                var kind: QID.Kind
                switch Int32(dtype) {
                case Int32(DT_DIR): kind = .directory
                case Int32(DT_LNK): kind = .symlink
                case Int32(DT_SOCK), Int32(DT_FIFO), Int32(DT_CHR): kind = .append
                case Int32(DT_UNKNOWN):
                    kind = (try? Host.fstatat(FileDescriptor(rawValue: dirfd(dir)), name)).map { Host.qidType($0.st_mode) } ?? .file
                default: kind = .file
                }
                let q = gofer.qid(ino: UInt64(ent.pointee.d_ino), device: device, type: kind)
                let typeByte = context.version >= 1 ? kind.rawValue : (dtype != 0 ? dtype : Dirent.linuxType(for: kind))
                out.append(Dirent(qid: q, offset: UInt64(bitPattern: Int64(ent.pointee.d_off)), type: typeByte, name: name))
            }
            s.dirCookie = UInt64(bitPattern: Int64(telldir(dir)))
            return out
        }
    }

    func fsync(datasync: Bool) throws {
        if isSymlink { return }
        // An unopened fid syncs through a descriptor of its own, closed here.
        let open = state.withLock { $0.fd }
        let fd = try open ?? Host.reopen(pathFD, O_RDONLY | (isDirectory ? O_DIRECTORY : 0) | O_NONBLOCK)
        defer { if open == nil { try? fd.close() } }
        _ = try retryingOnInterrupt { datasync ? fdatasync(fd.rawValue) : Glibc.fsync(fd.rawValue) }
    }

    func flushf() throws {}

    func allocate(mode: UInt32, offset: UInt64, length: UInt64) throws {
        try gofer.checkWritable()
        let (open, flags) = state.withLock { ($0.fd, $0.flags) }
        guard let fd = open else { throw Errno.invalidArgument }
        guard flags.accessMode == .writeOnly || flags.accessMode == .readWrite else { throw Errno.badFileDescriptor }
        try Host.fallocate(fd, mode: Int32(bitPattern: mode), offset: Int(truncatingIfNeeded: offset),
                           length: Int(truncatingIfNeeded: length))
    }

    private func flockValue(_ type: LockType, _ start: UInt64, _ length: UInt64) -> flock {
        var fl = flock()
        fl.l_type = Int16(type.rawValue)  // F_RDLCK 0, F_WRLCK 1, F_UNLCK 2, like 9P
        fl.l_whence = Int16(SEEK_SET)
        fl.l_start = off_t(truncatingIfNeeded: start)
        fl.l_len = off_t(truncatingIfNeeded: length)
        fl.l_pid = 0  // OFD locks require 0
        return fl
    }

    func lock(type: LockType, flags: LockFlags, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws -> LockStatus {
        let fd = try openFD()
        var fl = flockValue(type, start, length)
        // Never F_OFD_SETLKW: a worker must not block; the client retries BLOCKED as the kernel does.
        if fcntl(fd.rawValue, Host.fOFDSetLock, &fl) == 0 { return .success }
        if errno == EAGAIN || errno == EACCES { return .blocked }
        throw Errno(rawValue: errno)
    }

    func getLock(type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws
        -> (type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) {
        let fd = try openFD()
        var fl = flockValue(type, start, length)
        _ = try Host.check(fcntl(fd.rawValue, Host.fOFDGetLock, &fl))
        let t = LockType(rawValue: UInt8(truncatingIfNeeded: fl.l_type)) ?? .unlock
        if t == .unlock { return (.unlock, start, length, procID, clientID) }
        return (t, UInt64(bitPattern: Int64(fl.l_start)), UInt64(bitPattern: Int64(fl.l_len)),
                UInt32(bitPattern: fl.l_pid), clientID)
    }
}
