// Body layouts several messages share: a message adopting one of these protocols gets its `encode` and
// `init(from:)` here and declares only its type number, fields and initialiser.

/// An empty body (Rclunk, Rflush, Rsetattr, ...).
public protocol EmptyMessage: Message {
    /// The one value.
    init()
}

extension EmptyMessage {
    /// Writes nothing.
    public func encode(_ e: inout WireEncoder) {}
    /// Reads nothing.
    public init(from d: inout WireDecoder) throws(WireError) { self.init() }
}

/// qid[13] (Rattach, Rauth, Rmkdir, Rsymlink, Rmknod and their gVisor U-forms).
public protocol QIDMessage: Message {
    /// The QID carried.
    var qid: QID { get }
    /// A message carrying `qid`.
    init(qid: QID)
}

extension QIDMessage {
    /// Writes qid.
    public func encode(_ e: inout WireEncoder) { qid.encode(&e) }
    /// Reads qid.
    public init(from d: inout WireDecoder) throws(WireError) { self.init(qid: try QID(from: &d)) }
}

/// qid[13] iounit[4] (Rlopen, Rlcreate, Rucreate); a host fd may ride along.
public protocol OpenReply: Message {
    /// The opened file's QID.
    var qid: QID { get }
    /// The server's iounit (0: no preference).
    var ioUnit: UInt32 { get }
    /// A reply carrying `qid` and `ioUnit`.
    init(qid: QID, ioUnit: UInt32)
}

extension OpenReply {
    /// Writes qid iounit.
    public func encode(_ e: inout WireEncoder) { qid.encode(&e); e.u32(ioUnit) }
    /// Reads qid iounit.
    public init(from d: inout WireDecoder) throws(WireError) { self.init(qid: try QID(from: &d), ioUnit: try d.u32("iounit")) }
}

/// fid[4] (Tclunk, Tremove, Tstatfs, Treadlink, Tflushf).
public protocol FIDMessage: Message {
    /// The fid the request names.
    var fid: FID { get }
    /// A request naming `fid`.
    init(fid: FID)
}

extension FIDMessage {
    /// Writes fid.
    public func encode(_ e: inout WireEncoder) { e.fid(fid) }
    /// Reads fid.
    public init(from d: inout WireDecoder) throws(WireError) { self.init(fid: try d.fid("fid")) }
}

/// msize[4] version[s] (Tversion, Rversion).
public protocol VersionMessage: Message {
    /// The message size offered or granted.
    var msize: UInt32 { get }
    /// The version string offered or accepted.
    var version: String { get }
    /// A message carrying `msize` and `version`.
    init(msize: UInt32, version: String)
}

extension VersionMessage {
    /// Writes msize version.
    public func encode(_ e: inout WireEncoder) { e.u32(msize); e.string(version) }
    /// Reads msize version.
    public init(from d: inout WireDecoder) throws(WireError) {
        self.init(msize: try d.u32("msize"), version: try d.string("version"))
    }
}

/// fid[4] newfid[4] nwname[2] nwname*(wname[s]), at most 16 names (Twalk, Twalkgetattr).
public protocol WalkRequest: Message {
    /// The fid walked from.
    var fid: FID { get }
    /// The fid the result is bound to (equal to `fid` to walk in place).
    var newFid: FID { get }
    /// The names walked, in order ([] clones).
    var names: [String] { get }
    /// A request walking `names` from `fid` to `newFid`.
    init(fid: FID, newFid: FID, names: [String])
}

extension WalkRequest {
    /// Writes fid newfid names.
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.fid(newFid); encodeWalkNames(&e, names) }
    /// Reads fid newfid names.
    public init(from d: inout WireDecoder) throws(WireError) {
        self.init(fid: try d.fid("fid"), newFid: try d.fid("newfid"), names: try decodeWalkNames(&d))
    }
}

/// fid[4] offset[8] count[4] (Tread, Treaddir).
public protocol ReadRequest: Message {
    /// The open fid read.
    var fid: FID { get }
    /// Where to start: a byte offset (Tread) or a directory cookie (Treaddir).
    var offset: UInt64 { get }
    /// The most payload bytes the reply may carry.
    var count: UInt32 { get }
    /// A request reading up to `count` bytes of `fid` from `offset`.
    init(fid: FID, offset: UInt64, count: UInt32)
}

extension ReadRequest {
    /// Writes fid offset count.
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u64(offset); e.u32(count) }
    /// Reads fid offset count.
    public init(from d: inout WireDecoder) throws(WireError) {
        self.init(fid: try d.fid("fid"), offset: try d.u64("offset"), count: try d.u32("count"))
    }
}

/// fid[4] valid[4] attr[56] (Tsetattr, Tsetattrclunk).
public protocol SetAttrRequest: Message {
    /// The file whose attributes change.
    var fid: FID { get }
    /// Which fields of `attr` apply.
    var valid: SetAttrMask { get }
    /// The new values.
    var attr: SetAttr { get }
    /// A request setting `attr`'s `valid` fields on `fid`.
    init(fid: FID, valid: SetAttrMask, attr: SetAttr)
}

extension SetAttrRequest {
    /// Writes fid valid attr.
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u32(valid.rawValue); attr.encode(&e) }
    /// Reads fid valid attr.
    public init(from d: inout WireDecoder) throws(WireError) {
        self.init(fid: try d.fid("fid"), valid: SetAttrMask(rawValue: try d.u32("valid")), attr: try SetAttr(from: &d))
    }
}

/// A gVisor message whose body is a base message's body followed by uid[4] (gVisor embeds the base:
/// Tucreate is Tlcreate + uid, Tumkdir is Tmkdir + uid, ...). The base's fields read and write through
/// (`m.fid`, `m.name`, ...).
@dynamicMemberLookup
public protocol UIDExtension: Message {
    /// The message this one extends.
    associatedtype Base: Message
    /// The base message's fields.
    var base: Base { get set }
    /// The owner the server should give the new file.
    var uid: UInt32 { get set }
    /// The base message plus `uid`.
    init(_ base: Base, uid: UInt32)
}

extension UIDExtension {
    /// A field of the base message.
    public subscript<T>(dynamicMember field: WritableKeyPath<Base, T>) -> T {
        get { base[keyPath: field] }
        set { base[keyPath: field] = newValue }
    }

    /// Writes the base body then uid.
    public func encode(_ e: inout WireEncoder) { base.encode(&e); e.u32(uid) }
    /// Reads the base body then uid.
    public init(from d: inout WireDecoder) throws(WireError) { self.init(try Base(from: &d), uid: try d.u32("uid")) }
}
