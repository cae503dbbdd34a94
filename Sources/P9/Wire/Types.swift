/// qid + valid + attr as Rmultigetattr and Rbind carry it: qid[13] valid[8] attr[132] (153 bytes).
public struct FullStat: Hashable, Sendable {
    /// The file's QID.
    public var qid: QID
    /// Which attr fields are meaningful.
    public var valid: AttrMask
    /// The attributes.
    public var attr: Attr

    /// Creates a full stat.
    public init(qid: QID, valid: AttrMask, attr: Attr) { self.qid = qid; self.valid = valid; self.attr = attr }

    /// Encoded size in bytes.
    public static let size = QID.size + 8 + Attr.size

    /// Writes qid valid attr (note: a different order from Rgetattr).
    public func encode(_ e: inout WireEncoder) { qid.encode(&e); e.u64(valid.rawValue); attr.encode(&e) }

    /// Reads qid valid attr.
    public init(from d: inout WireDecoder) throws(WireError) {
        qid = try QID(from: &d); valid = AttrMask(rawValue: try d.u64("valid")); attr = try Attr(from: &d)
    }
}

/// One readdir entry: qid[13] offset[8] type[1] name[s] (PROTOCOL.md §3.5).
public struct Dirent: Hashable, Sendable {
    /// The entry's QID.
    public var qid: QID
    /// The cookie that resumes listing after this entry.
    public var offset: UInt64
    /// The type byte; decoders set it from `qid.type` (servers disagree on its wire meaning).
    public var type: UInt8
    /// The entry name.
    public var name: String

    /// Creates an entry; `type` defaults to the QID type.
    public init(qid: QID, offset: UInt64, type: UInt8? = nil, name: String) {
        self.qid = qid; self.offset = offset; self.type = type ?? qid.type.rawValue; self.name = name
    }

    /// Bytes without the name (gVisor DirentSizeStatic).
    public static let fixedSize = 24

    /// Encoded size of this entry.
    public var encodedSize: Int { Self.fixedSize + name.utf8.count }

    /// The Linux DT_* value for a QID type (what diod and Linux put in the type byte).
    public static func linuxType(for qidType: QID.Kind) -> UInt8 {
        if qidType.contains(.directory) { return 4 }
        if qidType.contains(.symlink) { return 10 }
        return 8
    }

    /// Writes the entry with its `type` byte as is.
    public func encode(_ e: inout WireEncoder) { qid.encode(&e); e.u64(offset); e.u8(type); e.string(name) }

    /// Reads an entry; `type` is taken from the QID, the wire byte is ignored.
    public init(from d: inout WireDecoder) throws(WireError) {
        qid = try QID(from: &d); offset = try d.u64("dirent.offset"); _ = try d.u8("dirent.type")
        type = qid.type.rawValue; name = try d.string("dirent.name")
    }
}

/// Tlopen / Tlcreate / Tucreate flags (u32, P9_DOTL_* values, PROTOCOL.md §3.4).
public struct OpenFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Access mode O_RDONLY (0; test with `accessMode`).
    public static let readOnly = OpenFlags([])
    /// Access mode O_WRONLY.
    public static let writeOnly = OpenFlags(rawValue: 0o1)
    /// Access mode O_RDWR.
    public static let readWrite = OpenFlags(rawValue: 0o2)
    /// Mask of the access mode bits.
    public static let accessMask = OpenFlags(rawValue: 0o3)
    /// O_CREAT.
    public static let create = OpenFlags(rawValue: 0o100)
    /// O_EXCL.
    public static let exclusive = OpenFlags(rawValue: 0o200)
    /// O_NOCTTY.
    public static let noControllingTTY = OpenFlags(rawValue: 0o400)
    /// O_TRUNC (gVisor OpenTruncate, N ≥ 9).
    public static let truncate = OpenFlags(rawValue: 0o1000)
    /// O_APPEND.
    public static let append = OpenFlags(rawValue: 0o2000)
    /// O_NONBLOCK.
    public static let nonBlocking = OpenFlags(rawValue: 0o4000)
    /// O_DSYNC.
    public static let dataSync = OpenFlags(rawValue: 0o10000)
    /// FASYNC.
    public static let async = OpenFlags(rawValue: 0o20000)
    /// O_DIRECT.
    public static let direct = OpenFlags(rawValue: 0o40000)
    /// O_LARGEFILE.
    public static let largeFile = OpenFlags(rawValue: 0o100000)
    /// O_DIRECTORY.
    public static let directory = OpenFlags(rawValue: 0o200000)
    /// O_NOFOLLOW.
    public static let noFollow = OpenFlags(rawValue: 0o400000)
    /// O_NOATIME.
    public static let noAccessTime = OpenFlags(rawValue: 0o1000000)
    /// O_CLOEXEC.
    public static let closeOnExec = OpenFlags(rawValue: 0o2000000)
    /// __O_SYNC.
    public static let sync = OpenFlags(rawValue: 0o4000000)

    /// Just the access mode bits.
    public var accessMode: OpenFlags { intersection(.accessMask) }
}

/// Rstatfs: the statfs(2) fields in wire order (60 bytes).
public struct StatFS: Hashable, Sendable {
    /// Filesystem magic.
    public var type: UInt32
    /// Block size.
    public var blockSize: UInt32
    /// Total blocks.
    public var blocks: UInt64
    /// Free blocks.
    public var blocksFree: UInt64
    /// Blocks available to unprivileged users.
    public var blocksAvailable: UInt64
    /// Total inodes.
    public var files: UInt64
    /// Free inodes.
    public var filesFree: UInt64
    /// Filesystem id.
    public var fsID: UInt64
    /// Longest name.
    public var nameLength: UInt32

    /// Creates a value.
    public init(type: UInt32 = 0, blockSize: UInt32 = 0, blocks: UInt64 = 0, blocksFree: UInt64 = 0,
                blocksAvailable: UInt64 = 0, files: UInt64 = 0, filesFree: UInt64 = 0, fsID: UInt64 = 0,
                nameLength: UInt32 = 0) {
        self.type = type; self.blockSize = blockSize; self.blocks = blocks; self.blocksFree = blocksFree
        self.blocksAvailable = blocksAvailable; self.files = files; self.filesFree = filesFree
        self.fsID = fsID; self.nameLength = nameLength
    }

    /// Writes the 9 fields.
    public func encode(_ e: inout WireEncoder) {
        e.u32(type); e.u32(blockSize); e.u64(blocks); e.u64(blocksFree); e.u64(blocksAvailable)
        e.u64(files); e.u64(filesFree); e.u64(fsID); e.u32(nameLength)
    }

    /// Reads the 9 fields.
    public init(from d: inout WireDecoder) throws(WireError) {
        type = try d.u32("type"); blockSize = try d.u32("bsize"); blocks = try d.u64("blocks")
        blocksFree = try d.u64("bfree"); blocksAvailable = try d.u64("bavail"); files = try d.u64("files")
        filesFree = try d.u64("ffree"); fsID = try d.u64("fsid"); nameLength = try d.u32("namelen")
    }
}

/// Tlock / Tgetlock / Rgetlock lock type (PROTOCOL.md §3.6).
public enum LockType: UInt8, Sendable, CaseIterable {
    case readLock = 0, writeLock = 1, unlock = 2

    init(from d: inout WireDecoder) throws(WireError) {
        let raw = try d.u8("lock.type")
        guard let v = LockType(rawValue: raw) else { throw .invalid("lock type \(raw)") }
        self = v
    }
}

/// Rlock status (PROTOCOL.md §3.6).
public enum LockStatus: UInt8, Sendable, CaseIterable {
    case success = 0, blocked = 1, error = 2, grace = 3
}

/// Tlock flags (PROTOCOL.md §3.6).
public struct LockFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// A blocking request.
    public static let block = LockFlags(rawValue: 1)
    /// Reserved.
    public static let reclaim = LockFlags(rawValue: 2)
}
