/// Tgetattr: fid[4] request_mask[8].
public struct Tgetattr: Message, Equatable, Sendable {
    public static let type = MessageType.tgetattr
    public var fid: FID
    public var requestMask: AttrMask
    public init(fid: FID, requestMask: AttrMask = .all) { self.fid = fid; self.requestMask = requestMask }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u64(requestMask.rawValue) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); requestMask = AttrMask(rawValue: try d.u64("request_mask"))
    }
}

/// Rgetattr: valid[8] qid[13] attr[132] (153 bytes; order valid, qid, attr).
public struct Rgetattr: Message, Equatable, Sendable {
    public static let type = MessageType.rgetattr
    public var valid: AttrMask
    public var qid: QID
    public var attr: Attr
    public init(valid: AttrMask, qid: QID, attr: Attr) { self.valid = valid; self.qid = qid; self.attr = attr }
    public func encode(_ e: inout WireEncoder) { e.u64(valid.rawValue); qid.encode(&e); attr.encode(&e) }
    public init(from d: inout WireDecoder) throws(WireError) {
        valid = AttrMask(rawValue: try d.u64("valid")); qid = try QID(from: &d); attr = try Attr(from: &d)
    }
}

/// Tsetattr: fid[4] valid[4] mode[4] uid[4] gid[4] size[8] atime[16] mtime[16] (60 bytes).
public struct Tsetattr: SetAttrRequest, Equatable, Sendable {
    public static let type = MessageType.tsetattr
    public var fid: FID
    public var valid: SetAttrMask
    public var attr: SetAttr
    public init(fid: FID, valid: SetAttrMask, attr: SetAttr) { self.fid = fid; self.valid = valid; self.attr = attr }
}

/// Rsetattr: empty body.
public struct Rsetattr: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rsetattr
    public init() {}
}
