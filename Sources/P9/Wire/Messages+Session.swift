/// Tversion: msize[4] version[s].
public struct Tversion: VersionMessage, Equatable, Sendable {
    public static let type = MessageType.tversion
    public var msize: UInt32
    public var version: String
    public init(msize: UInt32, version: String) { self.msize = msize; self.version = version }
}

/// Rversion: msize[4] version[s].
public struct Rversion: VersionMessage, Equatable, Sendable {
    public static let type = MessageType.rversion
    public var msize: UInt32
    public var version: String
    public init(msize: UInt32, version: String) { self.msize = msize; self.version = version }
}

/// Rlerror: ecode[4], a Linux errno.
public struct Rlerror: Message, Equatable, Sendable {
    public static let type = MessageType.rlerror
    public var errno: UInt32
    public init(errno: UInt32) { self.errno = errno }
    public func encode(_ e: inout WireEncoder) { e.u32(errno) }
    public init(from d: inout WireDecoder) throws(WireError) { errno = try d.u32("ecode") }
}

/// Tauth: afid[4] uname[s] aname[s] n_uname[4].
public struct Tauth: Message, Equatable, Sendable {
    public static let type = MessageType.tauth
    public var afid: FID
    public var uname: String
    public var aname: String
    public var nUname: UInt32
    public init(afid: FID, uname: String, aname: String, nUname: UInt32 = Frame.noUID) {
        self.afid = afid; self.uname = uname; self.aname = aname; self.nUname = nUname
    }
    public func encode(_ e: inout WireEncoder) { e.fid(afid); e.string(uname); e.string(aname); e.u32(nUname) }
    public init(from d: inout WireDecoder) throws(WireError) {
        afid = try d.fid("afid"); uname = try d.string("uname"); aname = try d.string("aname"); nUname = try d.u32("n_uname")
    }
}

/// Rauth: aqid[13].
public struct Rauth: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rauth
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Tattach: fid[4] afid[4] uname[s] aname[s] n_uname[4].
public struct Tattach: Message, Equatable, Sendable {
    public static let type = MessageType.tattach
    public var fid: FID
    public var afid: FID
    public var uname: String
    public var aname: String
    public var nUname: UInt32
    public init(fid: FID, afid: FID = FID.none, uname: String, aname: String, nUname: UInt32 = Frame.noUID) {
        self.fid = fid; self.afid = afid; self.uname = uname; self.aname = aname; self.nUname = nUname
    }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.fid(afid); e.string(uname); e.string(aname); e.u32(nUname) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); afid = try d.fid("afid"); uname = try d.string("uname")
        aname = try d.string("aname"); nUname = try d.u32("n_uname")
    }
}

/// Rattach: qid[13].
public struct Rattach: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rattach
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Tflush: oldtag[2].
public struct Tflush: Message, Equatable, Sendable {
    public static let type = MessageType.tflush
    public var oldTag: Tag
    public init(oldTag: Tag) { self.oldTag = oldTag }
    public func encode(_ e: inout WireEncoder) { e.tag(oldTag) }
    public init(from d: inout WireDecoder) throws(WireError) { oldTag = try d.tag("oldtag") }
}

/// Rflush: empty body.
public struct Rflush: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rflush
    public init() {}
}

/// Tclunk: fid[4].
public struct Tclunk: FIDMessage, Equatable, Sendable {
    public static let type = MessageType.tclunk
    public var fid: FID
    public init(fid: FID) { self.fid = fid }
}

/// Rclunk: empty body.
public struct Rclunk: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rclunk
    public init() {}
}

/// Tremove: fid[4].
public struct Tremove: FIDMessage, Equatable, Sendable {
    public static let type = MessageType.tremove
    public var fid: FID
    public init(fid: FID) { self.fid = fid }
}

/// Rremove: empty body.
public struct Rremove: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rremove
    public init() {}
}

/// Tstatfs: fid[4].
public struct Tstatfs: FIDMessage, Equatable, Sendable {
    public static let type = MessageType.tstatfs
    public var fid: FID
    public init(fid: FID) { self.fid = fid }
}

/// Rstatfs: type[4] bsize[4] blocks[8] bfree[8] bavail[8] files[8] ffree[8] fsid[8] namelen[4].
public struct Rstatfs: Message, Equatable, Sendable {
    public static let type = MessageType.rstatfs
    public var stat: StatFS
    public init(stat: StatFS) { self.stat = stat }
    public func encode(_ e: inout WireEncoder) { stat.encode(&e) }
    public init(from d: inout WireDecoder) throws(WireError) { stat = try StatFS(from: &d) }
}
