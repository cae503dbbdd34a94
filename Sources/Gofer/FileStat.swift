import P9

/// What stat(2) returns for a file of a `Filesystem`.
public struct FileStat: Equatable, Sendable {
    /// Inode number: the server's QID.Path, as is.
    public var ino: UInt64
    /// File type and permission bits (st_mode).
    public var mode: UInt32
    /// Hard links.
    public var nlink: UInt64
    /// Owner.
    public var uid: UInt32
    /// Group.
    public var gid: UInt32
    /// Device number of a device file.
    public var rdev: UInt64
    /// Size in bytes.
    public var size: UInt64
    /// Preferred I/O size.
    public var blksize: UInt64
    /// 512-byte blocks allocated.
    public var blocks: UInt64
    /// Last access.
    public var atime: Timespec
    /// Last data change.
    public var mtime: Timespec
    /// Last status change.
    public var ctime: Timespec

    init(qid: QID, attr: Attr) {
        ino = qid.path
        mode = attr.mode
        nlink = attr.nlink
        uid = attr.uid
        gid = attr.gid
        rdev = attr.rdev
        size = attr.size
        blksize = attr.blksize
        blocks = attr.blocks
        atime = attr.atime
        mtime = attr.mtime
        ctime = attr.ctime
    }

    /// True for a directory.
    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    /// True for a regular file.
    public var isRegular: Bool { mode & 0o170000 == 0o100000 }
    /// True for a symbolic link.
    public var isSymlink: Bool { mode & 0o170000 == 0o120000 }
}

/// One entry of a directory listing.
public struct DirectoryEntry: Equatable, Sendable {
    /// Name in the directory.
    public var name: String
    /// Inode number (the server's QID.Path).
    public var ino: UInt64
    /// QID type bits (directory 0x80, symlink 0x02, file 0).
    public var type: QID.Kind
}
