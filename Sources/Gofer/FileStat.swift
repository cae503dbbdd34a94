import P9

/// What stat(2) returns for a file of a `Filesystem`.
public struct FileStat: Equatable, Sendable {
    /// Inode number: the server's QID.Path, as is.
    public var ino: UInt64
    public var mode: UInt32
    public var nlink: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var rdev: UInt64
    public var size: UInt64
    public var blksize: UInt64
    public var blocks: UInt64
    public var atime: Timespec
    public var mtime: Timespec
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

    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    public var isRegular: Bool { mode & 0o170000 == 0o100000 }
    public var isSymlink: Bool { mode & 0o170000 == 0o120000 }
}

/// One entry of a directory listing.
public struct DirectoryEntry: Equatable, Sendable {
    public var name: String
    public var ino: UInt64
    /// QID type bits (directory 0x80, symlink 0x02, file 0).
    public var type: QID.Kind
}
