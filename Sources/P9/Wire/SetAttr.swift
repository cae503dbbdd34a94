/// Tsetattr `valid` bits (u32, PROTOCOL.md §3.3).
public struct SetAttrMask: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// chmod(mode & 07777).
    public static let mode = SetAttrMask(rawValue: 0x001)
    /// chown uid.
    public static let uid = SetAttrMask(rawValue: 0x002)
    /// chown gid.
    public static let gid = SetAttrMask(rawValue: 0x004)
    /// truncate(size).
    public static let size = SetAttrMask(rawValue: 0x008)
    /// Set atime (to "now" unless `atimeSet`).
    public static let atime = SetAttrMask(rawValue: 0x010)
    /// Set mtime (to "now" unless `mtimeSet`).
    public static let mtime = SetAttrMask(rawValue: 0x020)
    /// Touch ctime.
    public static let ctime = SetAttrMask(rawValue: 0x040)
    /// Use the atime carried in the message.
    public static let atimeSet = SetAttrMask(rawValue: 0x080)
    /// Use the mtime carried in the message.
    public static let mtimeSet = SetAttrMask(rawValue: 0x100)
}

/// The value fields of Tsetattr / Tsetattrclunk: mode uid gid size atime mtime (56 bytes).
public struct SetAttr: Hashable, Sendable {
    /// Permission bits (servers mask with 07777).
    public var mode: UInt32
    /// New owner uid.
    public var uid: UInt32
    /// New owner gid.
    public var gid: UInt32
    /// New size.
    public var size: UInt64
    /// New atime (used with `atimeSet`).
    public var atime: Timespec
    /// New mtime (used with `mtimeSet`).
    public var mtime: Timespec

    /// Creates a value; fields whose mask bit is unset should stay 0.
    public init(mode: UInt32 = 0, uid: UInt32 = 0, gid: UInt32 = 0, size: UInt64 = 0,
                atime: Timespec = Timespec(), mtime: Timespec = Timespec()) {
        self.mode = mode; self.uid = uid; self.gid = gid; self.size = size; self.atime = atime; self.mtime = mtime
    }

    /// Encoded size in bytes.
    public static let size = 56

    /// Writes mode uid gid size atime_sec atime_nsec mtime_sec mtime_nsec.
    public func encode(_ e: inout WireEncoder) {
        e.u32(mode); e.u32(uid); e.u32(gid); e.u64(size)
        e.u64(atime.sec); e.u64(atime.nsec); e.u64(mtime.sec); e.u64(mtime.nsec)
    }

    /// Reads the 56-byte block.
    public init(from d: inout WireDecoder) throws(WireError) {
        mode = try d.u32("mode"); uid = try d.u32("uid"); gid = try d.u32("gid"); size = try d.u64("size")
        atime = Timespec(sec: try d.u64("atime_sec"), nsec: try d.u64("atime_nsec"))
        mtime = Timespec(sec: try d.u64("mtime_sec"), nsec: try d.u64("mtime_nsec"))
    }
}
