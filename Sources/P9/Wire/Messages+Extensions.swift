/// Tflushf (gVisor, N ≥ 1): fid[4].
public struct Tflushf: FIDMessage, Equatable, Sendable {
    public static let type = MessageType.tflushf
    public var fid: FID
    public init(fid: FID) { self.fid = fid }
}

/// Rflushf: empty body.
public struct Rflushf: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rflushf
    public init() {}
}

/// Twalkgetattr (gVisor, N ≥ 2): fid[4] newfid[4] nwname[2] nwname*(wname[s]); at most 16 names.
public struct Twalkgetattr: WalkRequest, Equatable, Sendable {
    public static let type = MessageType.twalkgetattr
    public var fid: FID
    public var newFid: FID
    public var names: [String]
    public init(fid: FID, newFid: FID, names: [String]) { self.fid = fid; self.newFid = newFid; self.names = names }
}

/// Rwalkgetattr: valid[8] attr[132] nwqid[2] nwqid*(qid[13]) (order valid, attr, qids).
public struct Rwalkgetattr: Message, Equatable, Sendable {
    public static let type = MessageType.rwalkgetattr
    public var valid: AttrMask
    public var attr: Attr
    public var qids: [QID]
    public init(valid: AttrMask, attr: Attr, qids: [QID]) { self.valid = valid; self.attr = attr; self.qids = qids }
    public func encode(_ e: inout WireEncoder) {
        e.u64(valid.rawValue); attr.encode(&e); encodeQIDs(&e, qids)
    }
    public init(from d: inout WireDecoder) throws(WireError) {
        valid = AttrMask(rawValue: try d.u64("valid")); attr = try Attr(from: &d); qids = try decodeQIDs(&d)
    }
}

/// Tucreate (gVisor, N ≥ 3): the Tlcreate body plus uid[4].
public struct Tucreate: UIDExtension, Equatable, Sendable {
    public static let type = MessageType.tucreate
    public var base: Tlcreate
    public var uid: UInt32
    public init(_ base: Tlcreate, uid: UInt32) { self.base = base; self.uid = uid }
    public init(fid: FID, name: String, flags: OpenFlags, mode: UInt32, gid: UInt32, uid: UInt32) {
        self.init(Tlcreate(fid: fid, name: name, flags: flags, mode: mode, gid: gid), uid: uid)
    }
}

/// Rucreate: qid[13] iounit[4] (a host fd may ride along).
public struct Rucreate: OpenReply, Equatable, Sendable {
    public static let type = MessageType.rucreate
    public var qid: QID
    public var ioUnit: UInt32
    public init(qid: QID, ioUnit: UInt32 = 0) { self.qid = qid; self.ioUnit = ioUnit }
}

/// Tumkdir (gVisor, N ≥ 3): the Tmkdir body plus uid[4].
public struct Tumkdir: UIDExtension, Equatable, Sendable {
    public static let type = MessageType.tumkdir
    public var base: Tmkdir
    public var uid: UInt32
    public init(_ base: Tmkdir, uid: UInt32) { self.base = base; self.uid = uid }
    public init(directoryFid: FID, name: String, mode: UInt32, gid: UInt32, uid: UInt32) {
        self.init(Tmkdir(directoryFid: directoryFid, name: name, mode: mode, gid: gid), uid: uid)
    }
}

/// Rumkdir: qid[13].
public struct Rumkdir: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rumkdir
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Tumknod (gVisor, N ≥ 3): the Tmknod body plus uid[4].
public struct Tumknod: UIDExtension, Equatable, Sendable {
    public static let type = MessageType.tumknod
    public var base: Tmknod
    public var uid: UInt32
    public init(_ base: Tmknod, uid: UInt32) { self.base = base; self.uid = uid }
    public init(directoryFid: FID, name: String, mode: UInt32, major: UInt32 = 0, minor: UInt32 = 0, gid: UInt32, uid: UInt32) {
        self.init(Tmknod(directoryFid: directoryFid, name: name, mode: mode, major: major, minor: minor, gid: gid), uid: uid)
    }
}

/// Rumknod: qid[13].
public struct Rumknod: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rumknod
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Tusymlink (gVisor, N ≥ 3): the Tsymlink body plus uid[4].
public struct Tusymlink: UIDExtension, Equatable, Sendable {
    public static let type = MessageType.tusymlink
    public var base: Tsymlink
    public var uid: UInt32
    public init(_ base: Tsymlink, uid: UInt32) { self.base = base; self.uid = uid }
    public init(directoryFid: FID, name: String, target: String, gid: UInt32, uid: UInt32) {
        self.init(Tsymlink(directoryFid: directoryFid, name: name, target: target, gid: gid), uid: uid)
    }
}

/// Rusymlink: qid[13].
public struct Rusymlink: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rusymlink
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}

/// Tlconnect (gVisor, N ≥ 4): fid[4] socktype[4] (Stream 0, Dgram 1, Seqpacket 2, Anonymous 3 at N ≥ 5).
public struct Tlconnect: Message, Equatable, Sendable {
    public static let type = MessageType.tlconnect
    public var fid: FID
    public var socketType: UInt32
    public init(fid: FID, socketType: UInt32) { self.fid = fid; self.socketType = socketType }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u32(socketType) }
    public init(from d: inout WireDecoder) throws(WireError) { fid = try d.fid("fid"); socketType = try d.u32("socktype") }
}

/// Rlconnect: empty body (the connected socket rides along as a host fd).
public struct Rlconnect: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rlconnect
    public init() {}
}

/// Tallocate (gVisor, N ≥ 7): fid[4] mode[4] offset[8] length[8]; mode is FALLOC_FL_*.
public struct Tallocate: Message, Equatable, Sendable {
    public static let type = MessageType.tallocate
    public var fid: FID
    public var mode: UInt32
    public var offset: UInt64
    public var length: UInt64
    public init(fid: FID, mode: UInt32, offset: UInt64, length: UInt64) {
        self.fid = fid; self.mode = mode; self.offset = offset; self.length = length
    }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u32(mode); e.u64(offset); e.u64(length) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); mode = try d.u32("mode"); offset = try d.u64("offset"); length = try d.u64("length")
    }
}

/// Rallocate: empty body.
public struct Rallocate: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rallocate
    public init() {}
}

/// Tsetattrclunk (gVisor, N ≥ 12): the Tsetattr body; the fid is clunked even if the setattr fails.
public struct Tsetattrclunk: SetAttrRequest, Equatable, Sendable {
    public static let type = MessageType.tsetattrclunk
    public var fid: FID
    public var valid: SetAttrMask
    public var attr: SetAttr
    public init(fid: FID, valid: SetAttrMask, attr: SetAttr) { self.fid = fid; self.valid = valid; self.attr = attr }
}

/// Rsetattrclunk: empty body.
public struct Rsetattrclunk: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rsetattrclunk
    public init() {}
}

/// Tmultigetattr (gVisor, N ≥ 13): fid[4] nwname[2] nwname*(wname[s]); no 16-name limit.
public struct Tmultigetattr: Message, Equatable, Sendable {
    public static let type = MessageType.tmultigetattr
    public var fid: FID
    public var names: [String]
    public init(fid: FID, names: [String]) { self.fid = fid; self.names = names }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); encodeWalkNames(&e, names) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); names = try decodeWalkNames(&d, limit: Int(UInt16.max))
    }
}

/// Rmultigetattr: nstat[2] nstat*(qid[13] valid[8] attr[132]).
public struct Rmultigetattr: Message, Equatable, Sendable {
    public static let type = MessageType.rmultigetattr
    public var stats: [FullStat]
    public init(stats: [FullStat]) { self.stats = stats }
    public func encode(_ e: inout WireEncoder) { e.u16(UInt16(truncatingIfNeeded: stats.count)); for s in stats { s.encode(&e) } }
    public init(from d: inout WireDecoder) throws(WireError) {
        let n = Int(try d.u16("nstat"))
        // Reject impossible counts before allocating.
        guard n * FullStat.size <= d.remaining else {
            throw .truncated(field: "stat", offset: d.offset, needed: n * FullStat.size, available: d.remaining)
        }
        var list = [FullStat]()
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try FullStat(from: &d)) }
        stats = list
    }
}

/// Tbind (gVisor, never enabled): dfid[4] socktype[4] sockname[s] uid[4] gid[4] newfid[4].
public struct Tbind: Message, Equatable, Sendable {
    public static let type = MessageType.tbind
    public var directoryFid: FID
    public var socketType: UInt32
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var newFid: FID
    public init(directoryFid: FID, socketType: UInt32, name: String, uid: UInt32, gid: UInt32, newFid: FID) {
        self.directoryFid = directoryFid; self.socketType = socketType; self.name = name
        self.uid = uid; self.gid = gid; self.newFid = newFid
    }
    public func encode(_ e: inout WireEncoder) {
        e.fid(directoryFid); e.u32(socketType); e.string(name); e.u32(uid); e.u32(gid); e.fid(newFid)
    }
    public init(from d: inout WireDecoder) throws(WireError) {
        directoryFid = try d.fid("dfid"); socketType = try d.u32("socktype"); name = try d.string("sockname")
        uid = try d.u32("uid"); gid = try d.u32("gid"); newFid = try d.fid("newfid")
    }
}

/// Rbind: qid[13] valid[8] attr[132] (the FullStat order).
public struct Rbind: Message, Equatable, Sendable {
    public static let type = MessageType.rbind
    public var qid: QID
    public var valid: AttrMask
    public var attr: Attr
    public init(qid: QID, valid: AttrMask, attr: Attr) { self.qid = qid; self.valid = valid; self.attr = attr }
    public func encode(_ e: inout WireEncoder) { qid.encode(&e); e.u64(valid.rawValue); attr.encode(&e) }
    public init(from d: inout WireDecoder) throws(WireError) {
        qid = try QID(from: &d); valid = AttrMask(rawValue: try d.u64("valid")); attr = try Attr(from: &d)
    }
}

/// Tchannel (gVisor, N ≥ 8): id[4] control[4].
public struct Tchannel: Message, Equatable, Sendable {
    public static let type = MessageType.tchannel
    public var id: UInt32
    /// 0 asks for the data fd, 1 for the control fd.
    public var control: UInt32
    public init(id: UInt32, control: UInt32) { self.id = id; self.control = control }
    public func encode(_ e: inout WireEncoder) { e.u32(id); e.u32(control) }
    public init(from d: inout WireDecoder) throws(WireError) { id = try d.u32("id"); control = try d.u32("control") }
}

/// Rchannel: offset[8] length[8] (a host fd rides along).
public struct Rchannel: Message, Equatable, Sendable {
    public static let type = MessageType.rchannel
    public var offset: UInt64
    public var length: UInt64
    public init(offset: UInt64, length: UInt64) { self.offset = offset; self.length = length }
    public func encode(_ e: inout WireEncoder) { e.u64(offset); e.u64(length) }
    public init(from d: inout WireDecoder) throws(WireError) { offset = try d.u64("offset"); length = try d.u64("length") }
}
