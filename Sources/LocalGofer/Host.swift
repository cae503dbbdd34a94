import Glibc
import P9
import Syscall
import SystemPackage

/// Thin typed wrappers over the *at syscalls LocalGofer uses; every one retries EINTR and throws `Errno`.
enum Host {
    /// AT_FDCWD as a descriptor: *at calls relative to the working directory.
    static let currentDirectory = FileDescriptor(rawValue: AT_FDCWD)
    // Linux values the Glibc module does not export (they sit behind _GNU_SOURCE).
    static let oPath: Int32 = 0o10000000
    static let atEmptyPath: Int32 = 0x1000
    static let fOFDGetLock: Int32 = 36
    static let fOFDSetLock: Int32 = 37
    static let utimeNow = (1 << 30) - 1
    static let utimeOmit = (1 << 30) - 2
    static let atRemoveDir: Int32 = 0x200

    @inline(__always)
    static func check(_ r: Int32) throws(Errno) -> Int32 {
        if r < 0 { throw Errno(rawValue: errno) }
        return r
    }

    /// openat(2) of a single component; the caller passes O_NOFOLLOW where it matters.
    static func openat(_ dir: FileDescriptor, _ name: String, _ flags: Int32, _ mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingOnInterrupt { Glibc.openat(dir.rawValue, name, flags | O_CLOEXEC, mode) })
    }

    /// An O_PATH descriptor of `name` in `dir` that never follows a symlink.
    static func openPath(_ dir: FileDescriptor, _ name: String) throws(Errno) -> FileDescriptor {
        try openat(dir, name, oPath | O_NOFOLLOW)
    }

    /// The magic /proc link that reopens what an O_PATH descriptor holds (gVisor fsgofer does the same).
    static func procPath(_ fd: FileDescriptor) -> String { "/proc/self/fd/\(fd.rawValue)" }

    /// A fresh open of the file `pathFD` holds, with `flags` (never creates).
    static func reopen(_ pathFD: FileDescriptor, _ flags: Int32) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingOnInterrupt { Glibc.open(procPath(pathFD), flags | O_CLOEXEC) })
    }

    static func fstat(_ fd: FileDescriptor) throws(Errno) -> stat {
        var st = stat()
        _ = try check(Glibc.fstat(fd.rawValue, &st))
        return st
    }

    static func fstatat(_ dir: FileDescriptor, _ name: String) throws(Errno) -> stat {
        var st = stat()
        _ = try check(Glibc.fstatat(dir.rawValue, name, &st, AT_SYMLINK_NOFOLLOW))
        return st
    }

    static func isDirectory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }
    static func isRegular(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFREG }
    static func isSymlink(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFLNK }

    /// The QID type for a host mode (gVisor fsgofer: sockets, pipes and char devices are append-only).
    static func qidType(_ mode: mode_t) -> QID.Kind {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFSOCK, S_IFIFO, S_IFCHR: return .append
        default: return .file
        }
    }

    /// The 132-byte attribute block of a host stat.
    static func attr(_ st: stat) -> Attr {
        var a = Attr()
        a.mode = UInt32(st.st_mode)
        a.uid = st.st_uid
        a.gid = st.st_gid
        a.nlink = UInt64(st.st_nlink)
        a.rdev = UInt64(st.st_rdev)
        a.size = UInt64(bitPattern: Int64(st.st_size))
        a.blksize = UInt64(bitPattern: Int64(st.st_blksize))
        a.blocks = UInt64(bitPattern: Int64(st.st_blocks))
        a.atime = Timespec(sec: UInt64(bitPattern: Int64(st.st_atim.tv_sec)), nsec: UInt64(st.st_atim.tv_nsec))
        a.mtime = Timespec(sec: UInt64(bitPattern: Int64(st.st_mtim.tv_sec)), nsec: UInt64(st.st_mtim.tv_nsec))
        a.ctime = Timespec(sec: UInt64(bitPattern: Int64(st.st_ctim.tv_sec)), nsec: UInt64(st.st_ctim.tv_nsec))
        return a
    }

    /// readlinkat(2) on an O_PATH descriptor of the link itself.
    static func readlink(_ fd: FileDescriptor) throws(Errno) -> String {
        var capacity = 256
        while true {
            let buf = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
            defer { buf.deallocate() }
            let n = Glibc.readlinkat(fd.rawValue, "", buf, capacity)
            if n < 0 { throw Errno(rawValue: errno) }
            if n < capacity {
                return String(decoding: UnsafeRawBufferPointer(start: buf, count: n), as: UTF8.self)
            }
            guard capacity < 65536 else { throw Errno.fileNameTooLong }
            capacity *= 4
        }
    }

    private typealias FallocateFn = @convention(c) (Int32, Int32, Int, Int) -> Int32
    // fallocate(2) with mode bits is _GNU_SOURCE-only, so Swift cannot see it; resolve it once from libc.
    private static let fallocateFn: FallocateFn? = {
        guard let sym = dlsym(nil, "fallocate") else { return nil }  // nil is RTLD_DEFAULT on glibc
        return unsafeBitCast(sym, to: FallocateFn.self)
    }()

    /// fallocate(2); mode 0 falls back to posix_fallocate where the symbol is missing.
    static func fallocate(_ fd: FileDescriptor, mode: Int32, offset: Int, length: Int) throws(Errno) {
        if let fn = fallocateFn {
            _ = try retryingOnInterrupt { fn(fd.rawValue, mode, offset, length) }
            return
        }
        guard mode == 0 else { throw Errno.notSupported }
        let r = posix_fallocate(fd.rawValue, offset, length)
        if r != 0 { throw Errno(rawValue: r) }
    }
}
