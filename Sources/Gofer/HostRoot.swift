import CShims
import Glibc
import P9
import Syscall
import SystemPackage

/// The root descriptor a server donated and the confined host syscalls the direct resolver makes beneath it.
///
/// Every path is resolved by openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS relative to the root: `..` that
/// would climb above it, absolute symlinks and /proc magic links fail (EXDEV, ELOOP) instead of leaving the export,
/// and the kernel checks the walk against concurrent renames. The *at calls that take a name act on that one
/// component of a directory opened that way, and never follow it. Paths are relative ("." is the root itself).
struct HostRoot {
    /// The O_PATH descriptor of the export's root (owned by the filesystem).
    let fd: FileDescriptor

    /// Confined resolution: symlinks followed only while they stay beneath the root.
    static let beneath = UInt64(RESOLVE_BENEATH) | UInt64(RESOLVE_NO_MAGICLINKS)
    /// Confined resolution that refuses every symlink on the way (ELOOP): the cached tree's symlink-free paths.
    static let beneathNoSymlinks = beneath | UInt64(RESOLVE_NO_SYMLINKS)

    // Linux values the Glibc module does not export (they sit behind _GNU_SOURCE).
    static let oPath: Int32 = 0o10000000
    static let atEmptyPath: Int32 = 0x1000
    static let atRemoveDir: Int32 = 0x200
    static let utimeOmit = (1 << 30) - 2

    /// openat2 of `path` past its first `dropping` bytes, with `flags` (O_CLOEXEC added); `mode` for a created file.
    func open(_ path: String, dropping: Int = 0, _ flags: Int32, mode: UInt32 = 0,
              resolve: UInt64 = beneath) throws(Errno) -> FileDescriptor {
        let r = path.withCString { cshims_openat2(fd.rawValue, $0 + dropping, flags, mode, resolve) }
        if r < 0 { throw Errno(rawValue: errno) }
        return FileDescriptor(rawValue: r)
    }

    /// The QID and attributes of what `fd` holds (statx with AT_EMPTY_PATH; works on O_PATH descriptors).
    static func stat(_ fd: FileDescriptor) throws(Errno) -> (qid: QID, attr: Attr) {
        var stx = statx()
        if cshims_fstatx(fd.rawValue, UInt32(STATX_BASIC_STATS), &stx) != 0 { throw Errno(rawValue: errno) }
        return convert(stx)
    }

    /// stat(2) (`follow`) or lstat(2) of `path` past its first `dropping` bytes: an O_PATH open, statx on it, close,
    /// in one C call.
    func stat(_ path: String, dropping: Int = 0, follow: Bool, resolve: UInt64 = beneath) throws(Errno) -> (qid: QID, attr: Attr) {
        var stx = statx()
        let r = path.withCString { cshims_stat_beneath(fd.rawValue, $0 + dropping, follow ? 1 : 0, resolve, UInt32(STATX_BASIC_STATS), &stx) }
        if r != 0 { throw Errno(rawValue: errno) }
        return Self.convert(stx)
    }

    /// Runs `body` on the directory `parent` (the root itself, not reopened, when `parent` is empty).
    func inDirectory<T>(_ parent: [String], _ body: (FileDescriptor) throws -> T) throws -> T {
        if parent.isEmpty { return try body(fd) }
        let dir = try open(joined(parent), Self.oPath | O_DIRECTORY)
        defer { try? dir.close() }
        return try body(dir)
    }

    /// Runs `body` on `path` opened with `flags`; the descriptor is closed afterwards.
    func withOpen<T>(_ path: [String], _ flags: Int32, _ body: (FileDescriptor) throws -> T) throws -> T {
        let f = try open(joined(path), flags)
        defer { try? f.close() }
        return try body(f)
    }

    /// mkdirat(2) of `name` in `parent`.
    func mkdir(_ parent: [String], _ name: String, mode: UInt32) throws {
        try inDirectory(parent) { dir in try check(mkdirat(dir.rawValue, name, mode_t(mode))) }
    }

    /// unlinkat(2) of `name` in `parent` (AT_REMOVEDIR when `directory`).
    func remove(_ parent: [String], _ name: String, directory: Bool) throws {
        try inDirectory(parent) { dir in try check(unlinkat(dir.rawValue, name, directory ? Self.atRemoveDir : 0)) }
    }

    /// symlinkat(2): `name` in `parent` pointing at `target` (stored as given, never followed here).
    func symlink(_ target: String, _ parent: [String], _ name: String) throws {
        try inDirectory(parent) { dir in try check(symlinkat(target, dir.rawValue, name)) }
    }

    /// renameat(2) between two directories, each opened beneath the root.
    func rename(_ oldParent: [String], _ oldName: String, _ newParent: [String], _ newName: String) throws {
        try inDirectory(oldParent) { old in
            try inDirectory(newParent) { new in try check(renameat(old.rawValue, oldName, new.rawValue, newName)) }
        }
    }

    /// readlinkat(2) of the symlink `path` names (EINVAL when it is not one).
    func readlink(_ path: [String]) throws -> String {
        try withOpen(path, Self.oPath | O_NOFOLLOW) { f in
            var capacity = 256
            while true {
                let buf = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
                defer { buf.deallocate() }
                let n = readlinkat(f.rawValue, "", buf, capacity)
                if n < 0 { throw Errno(rawValue: errno) == .noSuchFileOrDirectory ? Errno.invalidArgument : Errno(rawValue: errno) }
                if n < capacity { return String(decoding: UnsafeRawBufferPointer(start: buf, count: n), as: UTF8.self) }
                guard capacity < 65536 else { throw Errno.fileNameTooLong }
                capacity *= 4
            }
        }
    }

    /// The entries of the directory `path` (without "." and ".."), in the order the host returns them.
    func readdir(_ path: [String]) throws -> [DirectoryEntry] {
        let f = try open(joined(path), O_RDONLY | O_DIRECTORY)
        guard let dir = fdopendir(f.rawValue) else {
            let e = Errno(rawValue: errno)
            try? f.close()
            throw e
        }
        defer { closedir(dir) }  // closes `f` too
        var entries: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let ent = Glibc.readdir(dir) else {
                if errno != 0 { throw Errno(rawValue: errno) }
                return entries
            }
            let name = withUnsafePointer(to: &ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            entries.append(DirectoryEntry(name: name, ino: UInt64(ent.pointee.d_ino), type: Self.kind(direntType: ent.pointee.d_type)))
        }
    }

    /// truncate(2) of `path` (opened for writing, so permission and type errors are the host's); the new attributes.
    func truncate(_ path: [String], size: UInt64) throws -> (qid: QID, attr: Attr) {
        guard size <= UInt64(Int64.max) else { throw Errno.invalidArgument }
        return try withOpen(path, O_WRONLY | O_NONBLOCK | O_NOCTTY) { f in
            _ = try retryingOnInterrupt { ftruncate(f.rawValue, off_t(size)) }
            return try Self.stat(f)
        }
    }

    /// chmod(2) of `path`'s permission bits, through the /proc link of a descriptor opened beneath the root; the new attributes.
    func chmod(_ path: [String], mode: UInt32) throws -> (qid: QID, attr: Attr) {
        try withOpen(path, Self.oPath) { f in
            // fchmod refuses O_PATH descriptors; the magic link reaches exactly the file already opened (our own fd).
            try check(fchmodat(AT_FDCWD, "/proc/self/fd/\(f.rawValue)", mode_t(mode & 0o7777), 0))
            return try Self.stat(f)
        }
    }

    /// utimensat(2) of `path` with explicit times (nil: UTIME_OMIT); the new attributes.
    func setTimes(_ path: [String], atime: Timespec?, mtime: Timespec?) throws -> (qid: QID, attr: Attr) {
        try withOpen(path, Self.oPath) { f in
            func spec(_ t: Timespec?) -> timespec {
                guard let t else { return timespec(tv_sec: 0, tv_nsec: Self.utimeOmit) }
                return timespec(tv_sec: Int(truncatingIfNeeded: t.sec), tv_nsec: Int(truncatingIfNeeded: t.nsec))
            }
            let times = [spec(atime), spec(mtime)]
            try check(utimensat(f.rawValue, "", times, Self.atEmptyPath))
            return try Self.stat(f)
        }
    }

    /// `components` as a relative path ("." for none).
    func joined(_ components: [String]) -> String { components.isEmpty ? "." : components.joined(separator: "/") }

    private func check(_ r: Int32) throws {
        if r < 0 { throw Errno(rawValue: errno) }
    }

    /// A statx as the QID and 9P attributes LocalGofer would send for the same file (QID.Path = inode).
    static func convert(_ s: statx) -> (qid: QID, attr: Attr) {
        var a = Attr()
        a.mode = UInt32(s.stx_mode)
        a.uid = s.stx_uid
        a.gid = s.stx_gid
        a.nlink = UInt64(s.stx_nlink)
        a.rdev = makeDevice(major: s.stx_rdev_major, minor: s.stx_rdev_minor)
        a.size = s.stx_size
        a.blksize = UInt64(s.stx_blksize)
        a.blocks = s.stx_blocks
        a.atime = Timespec(sec: UInt64(bitPattern: s.stx_atime.tv_sec), nsec: UInt64(s.stx_atime.tv_nsec))
        a.mtime = Timespec(sec: UInt64(bitPattern: s.stx_mtime.tv_sec), nsec: UInt64(s.stx_mtime.tv_nsec))
        a.ctime = Timespec(sec: UInt64(bitPattern: s.stx_ctime.tv_sec), nsec: UInt64(s.stx_ctime.tv_nsec))
        return (QID(type: kind(mode: a.mode), version: 0, path: s.stx_ino), a)
    }

    /// The QID type of a host mode (sockets, pipes and character devices are append-only, as LocalGofer says).
    static func kind(mode: UInt32) -> QID.Kind {
        switch mode & 0o170000 {
        case 0o040000: return .directory
        case 0o120000: return .symlink
        case 0o140000, 0o010000, 0o020000: return .append
        default: return .file
        }
    }

    /// The QID type of a dirent's d_type.
    static func kind(direntType t: UInt8) -> QID.Kind {
        switch Int32(t) {
        case Int32(DT_DIR): return .directory
        case Int32(DT_LNK): return .symlink
        case Int32(DT_SOCK), Int32(DT_FIFO), Int32(DT_CHR): return .append
        default: return .file
        }
    }

    /// Linux's dev_t encoding of a major and minor number.
    static func makeDevice(major: UInt32, minor: UInt32) -> UInt64 {
        let ma = UInt64(major), mi = UInt64(minor)
        return (ma & 0xFFFF_F000) << 32 | (ma & 0xFFF) << 8 | (mi & 0xFFFF_FF00) << 12 | (mi & 0xFF)
    }
}
