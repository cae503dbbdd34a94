import Glibc
import P9
import SystemPackage

/// Options of a `LocalGofer` export.
public struct LocalGoferOptions: Sendable {
    /// Refuse every mutation with EROFS.
    public var readOnly: Bool
    /// Chown files made by Tucreate/Tumkdir/Tumknod/Tusymlink (and a gid given to the plain forms); EPERM is ignored.
    public var chownCreated: Bool

    /// Creates options.
    public init(readOnly: Bool = false, chownCreated: Bool = true) {
        self.readOnly = readOnly
        self.chownCreated = chownCreated
    }
}

/// A `FileServer` exporting one host directory (gVisor `runsc/fsgofer`).
///
/// Confinement: every fid holds an O_PATH descriptor of its file and every walk step is one
/// `openat(parent, name, O_PATH|O_NOFOLLOW)`, so symlinks are never followed (readlink returns
/// their text, absolute or not) and a name can never leave the export. The names "", ".", "..",
/// and any name containing "/" are refused with EINVAL (gVisor's rule), so `..` at the root is
/// refused rather than clamped. Opening reopens the held descriptor through /proc/self/fd.
public final class LocalGofer: FileServer {
    /// The exported directory (as resolved at start).
    public let root: String
    /// The options given at creation.
    public let options: LocalGoferOptions
    /// O_PATH|O_DIRECTORY descriptor of the root; every attach duplicates it.
    let rootFD: FileDescriptor
    /// st_dev values seen, numbered in order (the root's first); the number goes into QID.Path's top byte.
    private let devices = Locked<[UInt64: UInt64]>([:])
    /// The root's st_dev, number 0: most QIDs are of files on it, and need neither the lock nor a hash.
    private let rootDevice: UInt64?

    /// Exports `root`, which must be an existing directory.
    public init(root: String, options: LocalGoferOptions = .init()) throws {
        guard let resolved = realpath(root, nil) else { throw Errno(rawValue: errno) }
        self.root = String(cString: resolved)
        free(resolved)
        rootFD = try Host.openat(Host.currentDirectory, self.root, Host.oPath | O_DIRECTORY)
        self.options = options
        var st = stat()
        rootDevice = fstatat(rootFD.rawValue, "", &st, Host.atEmptyPath) == 0 ? UInt64(st.st_dev) : nil
        if let d = rootDevice { devices.withLock { $0[d] = 0 } }
    }

    deinit { try? rootFD.close() }

    /// Tattach: `aname` "", "/", the root path, or a path below it (walked like a Twalk).
    public func attach(aname: String, uname: String, nUname: UInt32) throws -> any ServerFile {
        var rest = Substring(aname)
        if rest == Substring(root) || rest.hasPrefix(root + "/") { rest = rest.dropFirst(root.count) }
        let names = rest.split(separator: "/").map(String.init)
        let fd = try rootFD.duplicate()
        let top: LocalFile
        do { top = try LocalFile(gofer: self, pathFD: fd, stat: Host.fstat(fd), parent: nil, name: "") } catch {
            try? fd.close()
            throw error
        }
        return names.isEmpty ? top : try top.walk(names).file
    }

    /// The QID of a host stat: device index << 56 | inode.
    func qid(_ st: stat) -> QID {
        qid(ino: UInt64(st.st_ino), device: UInt64(st.st_dev), type: Host.qidType(st.st_mode))
    }

    /// The QID of an inode on a device (readdir entries use their directory's device).
    func qid(ino: UInt64, device: UInt64, type: QID.Kind) -> QID {
        let index = device == rootDevice ? 0 : devices.withLock { table -> UInt64 in
            if let i = table[device] { return i }
            let i = UInt64(table.count) & 0xFF
            table[device] = i
            return i
        }
        return QID(type: type, version: 0, path: index << 56 | (ino & 0x00FF_FFFF_FFFF_FFFF))
    }

    @inline(__always)
    func checkWritable() throws {
        if options.readOnly { throw Errno.readOnlyFileSystem }
    }

    /// Chowns a new file to the requested owner (best effort: EPERM is ignored, as a non-root server cannot).
    func chownNew(_ fd: FileDescriptor, uid: UInt32?, gid: UInt32) {
        guard options.chownCreated else { return }
        let u = uid.map { $0 == Frame.noUID ? UInt32.max : $0 } ?? UInt32.max
        let g = gid == Frame.noGID ? UInt32.max : gid
        guard u != UInt32.max || g != UInt32.max else { return }
        _ = fchownat(fd.rawValue, "", u, g, Host.atEmptyPath | AT_SYMLINK_NOFOLLOW)
    }
}

/// Validates one walk or create name (gVisor: "", ".", "..", and names containing "/" are EINVAL).
@inline(__always)
func checkName(_ name: String) throws {
    if name.isEmpty || name == "." || name == ".." || name.utf8.contains(where: { $0 == 0x2F || $0 == 0 }) {
        throw Errno.invalidArgument
    }
}
