/// A server's unique identity of a file: type[1] version[4] path[8] (13 bytes).
public struct QID: Hashable, Sendable, CustomStringConvertible {
    /// QID type bits.
    public struct Kind: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let directory = Kind(rawValue: 0x80)
        public static let append = Kind(rawValue: 0x40)
        public static let exclusive = Kind(rawValue: 0x20)
        public static let mount = Kind(rawValue: 0x10)
        public static let auth = Kind(rawValue: 0x08)
        public static let temporary = Kind(rawValue: 0x04)
        public static let symlink = Kind(rawValue: 0x02)
        public static let link = Kind(rawValue: 0x01)
        public static let file: Kind = []
    }

    public var type: Kind
    public var version: UInt32
    public var path: UInt64

    public init(type: Kind = .file, version: UInt32 = 0, path: UInt64) {
        self.type = type
        self.version = version
        self.path = path
    }

    /// Encoded size in bytes.
    public static let size = 13

    public var description: String { "QID(type: 0x\(String(type.rawValue, radix: 16)), version: \(version), path: \(path))" }

    public func encode(_ e: inout WireEncoder) {
        e.u8(type.rawValue)
        e.u32(version)
        e.u64(path)
    }

    public init(from d: inout WireDecoder) throws(WireError) {
        type = Kind(rawValue: try d.u8("qid.type"))
        version = try d.u32("qid.version")
        path = try d.u64("qid.path")
    }
}

/// getattr request_mask / valid bits (u64, PROTOCOL.md §3.1).
public struct AttrMask: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let mode = AttrMask(rawValue: 0x0001)
    public static let nlink = AttrMask(rawValue: 0x0002)
    public static let uid = AttrMask(rawValue: 0x0004)
    public static let gid = AttrMask(rawValue: 0x0008)
    public static let rdev = AttrMask(rawValue: 0x0010)
    public static let atime = AttrMask(rawValue: 0x0020)
    public static let mtime = AttrMask(rawValue: 0x0040)
    public static let ctime = AttrMask(rawValue: 0x0080)
    public static let ino = AttrMask(rawValue: 0x0100)
    public static let size = AttrMask(rawValue: 0x0200)
    public static let blocks = AttrMask(rawValue: 0x0400)
    public static let btime = AttrMask(rawValue: 0x0800)
    public static let gen = AttrMask(rawValue: 0x1000)
    public static let dataVersion = AttrMask(rawValue: 0x2000)
    /// Every bit up to BLOCKS (P9_GETATTR_BASIC).
    public static let basic = AttrMask(rawValue: 0x07FF)
    /// Every bit (P9_GETATTR_ALL).
    public static let all = AttrMask(rawValue: 0x3FFF)
}

/// A timestamp as 9P carries it.
public struct Timespec: Hashable, Sendable {
    public var sec: UInt64
    public var nsec: UInt64
    public init(sec: UInt64 = 0, nsec: UInt64 = 0) { self.sec = sec; self.nsec = nsec }
}

/// The 132-byte attribute block shared by Rgetattr, Rwalkgetattr and FullStat (PROTOCOL.md §3.2).
public struct Attr: Hashable, Sendable {
    public var mode: UInt32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var nlink: UInt64 = 0
    public var rdev: UInt64 = 0
    public var size: UInt64 = 0
    public var blksize: UInt64 = 0
    public var blocks: UInt64 = 0
    public var atime = Timespec()
    public var mtime = Timespec()
    public var ctime = Timespec()
    public var btime = Timespec()
    public var gen: UInt64 = 0
    public var dataVersion: UInt64 = 0

    public init() {}

    /// Encoded size in bytes.
    public static let size = 132

    /// The file type bits of `mode` (S_IFMT).
    public var fileType: UInt32 { mode & 0o170000 }
    public var isDirectory: Bool { fileType == 0o040000 }
    public var isRegular: Bool { fileType == 0o100000 }
    public var isSymlink: Bool { fileType == 0o120000 }

    public func encode(_ e: inout WireEncoder) {
        e.u32(mode); e.u32(uid); e.u32(gid)
        e.u64(nlink); e.u64(rdev); e.u64(size); e.u64(blksize); e.u64(blocks)
        e.u64(atime.sec); e.u64(atime.nsec)
        e.u64(mtime.sec); e.u64(mtime.nsec)
        e.u64(ctime.sec); e.u64(ctime.nsec)
        e.u64(btime.sec); e.u64(btime.nsec)
        e.u64(gen); e.u64(dataVersion)
    }

    public init(from d: inout WireDecoder) throws(WireError) {
        mode = try d.u32("attr.mode"); uid = try d.u32("attr.uid"); gid = try d.u32("attr.gid")
        nlink = try d.u64("attr.nlink"); rdev = try d.u64("attr.rdev"); size = try d.u64("attr.size")
        blksize = try d.u64("attr.blksize"); blocks = try d.u64("attr.blocks")
        atime = Timespec(sec: try d.u64("attr.atime"), nsec: try d.u64("attr.atime_nsec"))
        mtime = Timespec(sec: try d.u64("attr.mtime"), nsec: try d.u64("attr.mtime_nsec"))
        ctime = Timespec(sec: try d.u64("attr.ctime"), nsec: try d.u64("attr.ctime_nsec"))
        btime = Timespec(sec: try d.u64("attr.btime"), nsec: try d.u64("attr.btime_nsec"))
        gen = try d.u64("attr.gen"); dataVersion = try d.u64("attr.data_version")
    }
}
