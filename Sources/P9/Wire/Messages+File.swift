/// Tlopen: fid[4] flags[4].
public struct Tlopen: Message, Equatable, Sendable {
    public static let type = MessageType.tlopen
    public var fid: FID
    public var flags: OpenFlags
    public init(fid: FID, flags: OpenFlags) { self.fid = fid; self.flags = flags }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u32(flags.rawValue) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); flags = OpenFlags(rawValue: try d.u32("flags"))
    }
}

/// Rlopen: qid[13] iounit[4] (a host fd may ride along).
public struct Rlopen: OpenReply, Equatable, Sendable {
    public static let type = MessageType.rlopen
    public var qid: QID
    public var ioUnit: UInt32
    public init(qid: QID, ioUnit: UInt32 = 0) { self.qid = qid; self.ioUnit = ioUnit }
}

/// Tlcreate: fid[4] name[s] flags[4] mode[4] gid[4].
public struct Tlcreate: Message, Equatable, Sendable {
    public static let type = MessageType.tlcreate
    public var fid: FID
    public var name: String
    public var flags: OpenFlags
    public var mode: UInt32
    public var gid: UInt32
    public init(fid: FID, name: String, flags: OpenFlags, mode: UInt32, gid: UInt32 = Frame.noGID) {
        self.fid = fid; self.name = name; self.flags = flags; self.mode = mode; self.gid = gid
    }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.string(name); e.u32(flags.rawValue); e.u32(mode); e.u32(gid) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); name = try d.string("name"); flags = OpenFlags(rawValue: try d.u32("flags"))
        mode = try d.u32("mode"); gid = try d.u32("gid")
    }
}

/// Rlcreate: qid[13] iounit[4] (a host fd may ride along).
public struct Rlcreate: OpenReply, Equatable, Sendable {
    public static let type = MessageType.rlcreate
    public var qid: QID
    public var ioUnit: UInt32
    public init(qid: QID, ioUnit: UInt32 = 0) { self.qid = qid; self.ioUnit = ioUnit }
}

/// Tsymlink: dfid[4] name[s] symtgt[s] gid[4].
public struct Tsymlink: Message, Equatable, Sendable {
    public static let type = MessageType.tsymlink
    public var directoryFid: FID
    public var name: String
    public var target: String
    public var gid: UInt32
    public init(directoryFid: FID, name: String, target: String, gid: UInt32 = Frame.noGID) {
        self.directoryFid = directoryFid; self.name = name; self.target = target; self.gid = gid
    }
    public func encode(_ e: inout WireEncoder) { e.fid(directoryFid); e.string(name); e.string(target); e.u32(gid) }
    public init(from d: inout WireDecoder) throws(WireError) {
        directoryFid = try d.fid("dfid"); name = try d.string("name"); target = try d.string("symtgt"); gid = try d.u32("gid")
    }
}

/// Rsymlink: qid[13].
public struct Rsymlink: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rsymlink
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Tmknod: dfid[4] name[s] mode[4] major[4] minor[4] gid[4]; mode includes the S_IFMT bits.
public struct Tmknod: Message, Equatable, Sendable {
    public static let type = MessageType.tmknod
    public var directoryFid: FID
    public var name: String
    public var mode: UInt32
    public var major: UInt32
    public var minor: UInt32
    public var gid: UInt32
    public init(directoryFid: FID, name: String, mode: UInt32, major: UInt32 = 0, minor: UInt32 = 0, gid: UInt32 = Frame.noGID) {
        self.directoryFid = directoryFid; self.name = name; self.mode = mode; self.major = major; self.minor = minor; self.gid = gid
    }
    public func encode(_ e: inout WireEncoder) {
        e.fid(directoryFid); e.string(name); e.u32(mode); e.u32(major); e.u32(minor); e.u32(gid)
    }
    public init(from d: inout WireDecoder) throws(WireError) {
        directoryFid = try d.fid("dfid"); name = try d.string("name"); mode = try d.u32("mode")
        major = try d.u32("major"); minor = try d.u32("minor"); gid = try d.u32("gid")
    }
}

/// Rmknod: qid[13].
public struct Rmknod: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rmknod
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Trename: fid[4] dfid[4] name[s].
public struct Trename: Message, Equatable, Sendable {
    public static let type = MessageType.trename
    public var fid: FID
    public var directoryFid: FID
    public var name: String
    public init(fid: FID, directoryFid: FID, name: String) { self.fid = fid; self.directoryFid = directoryFid; self.name = name }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.fid(directoryFid); e.string(name) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); directoryFid = try d.fid("dfid"); name = try d.string("name")
    }
}

/// Rrename: empty body.
public struct Rrename: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rrename
    public init() {}
}

/// Treadlink: fid[4].
public struct Treadlink: FIDMessage, Equatable, Sendable {
    public static let type = MessageType.treadlink
    public var fid: FID
    public init(fid: FID) { self.fid = fid }
}

/// Rreadlink: target[s].
public struct Rreadlink: Message, Equatable, Sendable {
    public static let type = MessageType.rreadlink
    public var target: String
    public init(target: String) { self.target = target }
    public func encode(_ e: inout WireEncoder) { e.string(target) }
    public init(from d: inout WireDecoder) throws(WireError) { target = try d.string("target") }
}

/// Tlink: dfid[4] fid[4] name[s]; dfid gets the new name for the existing file fid.
public struct Tlink: Message, Equatable, Sendable {
    public static let type = MessageType.tlink
    public var directoryFid: FID
    public var fid: FID
    public var name: String
    public init(directoryFid: FID, fid: FID, name: String) { self.directoryFid = directoryFid; self.fid = fid; self.name = name }
    public func encode(_ e: inout WireEncoder) { e.fid(directoryFid); e.fid(fid); e.string(name) }
    public init(from d: inout WireDecoder) throws(WireError) {
        directoryFid = try d.fid("dfid"); fid = try d.fid("fid"); name = try d.string("name")
    }
}

/// Rlink: empty body.
public struct Rlink: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rlink
    public init() {}
}

/// Tmkdir: dfid[4] name[s] mode[4] gid[4].
public struct Tmkdir: Message, Equatable, Sendable {
    public static let type = MessageType.tmkdir
    public var directoryFid: FID
    public var name: String
    public var mode: UInt32
    public var gid: UInt32
    public init(directoryFid: FID, name: String, mode: UInt32, gid: UInt32 = Frame.noGID) {
        self.directoryFid = directoryFid; self.name = name; self.mode = mode; self.gid = gid
    }
    public func encode(_ e: inout WireEncoder) { e.fid(directoryFid); e.string(name); e.u32(mode); e.u32(gid) }
    public init(from d: inout WireDecoder) throws(WireError) {
        directoryFid = try d.fid("dfid"); name = try d.string("name"); mode = try d.u32("mode"); gid = try d.u32("gid")
    }
}

/// Rmkdir: qid[13].
public struct Rmkdir: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rmkdir
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Trenameat: olddirfid[4] oldname[s] newdirfid[4] newname[s].
public struct Trenameat: Message, Equatable, Sendable {
    public static let type = MessageType.trenameat
    public var oldDirectoryFid: FID
    public var oldName: String
    public var newDirectoryFid: FID
    public var newName: String
    public init(oldDirectoryFid: FID, oldName: String, newDirectoryFid: FID, newName: String) {
        self.oldDirectoryFid = oldDirectoryFid; self.oldName = oldName; self.newDirectoryFid = newDirectoryFid; self.newName = newName
    }
    public func encode(_ e: inout WireEncoder) { e.fid(oldDirectoryFid); e.string(oldName); e.fid(newDirectoryFid); e.string(newName) }
    public init(from d: inout WireDecoder) throws(WireError) {
        oldDirectoryFid = try d.fid("olddirfid"); oldName = try d.string("oldname")
        newDirectoryFid = try d.fid("newdirfid"); newName = try d.string("newname")
    }
}

/// Rrenameat: empty body.
public struct Rrenameat: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rrenameat
    public init() {}
}

/// Tunlinkat: dirfid[4] name[s] flags[4] (AT_REMOVEDIR 0x200).
public struct Tunlinkat: Message, Equatable, Sendable {
    public static let type = MessageType.tunlinkat
    /// AT_REMOVEDIR.
    public static let removeDirectory: UInt32 = 0x200
    public var directoryFid: FID
    public var name: String
    public var flags: UInt32
    public init(directoryFid: FID, name: String, flags: UInt32 = 0) { self.directoryFid = directoryFid; self.name = name; self.flags = flags }
    public func encode(_ e: inout WireEncoder) { e.fid(directoryFid); e.string(name); e.u32(flags) }
    public init(from d: inout WireDecoder) throws(WireError) {
        directoryFid = try d.fid("dirfid"); name = try d.string("name"); flags = try d.u32("flags")
    }
}

/// Runlinkat: empty body.
public struct Runlinkat: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.runlinkat
    public init() {}
}
