/// Reads a walk name list (nwname[2] nwname*(wname[s])), refusing more than 16 names.
@inline(__always)
func decodeWalkNames(_ d: inout WireDecoder, limit: Int = Frame.maxWalkNames) throws(WireError) -> [String] {
    let n = Int(try d.u16("nwname"))
    guard n <= limit else { throw .tooManyWalkNames(n) }
    // Each name needs at least its 2-byte length: reject impossible counts before allocating.
    guard n * 2 <= d.remaining else {
        throw .truncated(field: "wname", offset: d.offset, needed: n * 2, available: d.remaining)
    }
    var names = [String]()
    names.reserveCapacity(n)
    for _ in 0..<n { names.append(try d.string("wname")) }
    return names
}

/// Writes a walk name list.
@inline(__always)
func encodeWalkNames(_ e: inout WireEncoder, _ names: [String]) {
    e.u16(UInt16(truncatingIfNeeded: names.count))
    for n in names { e.string(n) }
}

/// Writes a QID list.
@inline(__always)
func encodeQIDs(_ e: inout WireEncoder, _ qids: [QID]) {
    e.u16(UInt16(truncatingIfNeeded: qids.count))
    for q in qids { q.encode(&e) }
}

/// Reads a QID list (nwqid[2] nwqid*(qid[13])).
@inline(__always)
func decodeQIDs(_ d: inout WireDecoder, limit: Int = Frame.maxWalkNames) throws(WireError) -> [QID] {
    let n = Int(try d.u16("nwqid"))
    guard n <= limit else { throw .tooManyWalkNames(n) }
    guard n * QID.size <= d.remaining else {
        throw .truncated(field: "qid", offset: d.offset, needed: n * QID.size, available: d.remaining)
    }
    var qids = [QID]()
    qids.reserveCapacity(n)
    for _ in 0..<n { qids.append(try QID(from: &d)) }
    return qids
}

/// Twalk: fid[4] newfid[4] nwname[2] nwname*(wname[s]); at most 16 names.
public struct Twalk: WalkRequest, Equatable, Sendable {
    public static let type = MessageType.twalk
    public var fid: FID
    public var newFid: FID
    public var names: [String]
    public init(fid: FID, newFid: FID, names: [String]) { self.fid = fid; self.newFid = newFid; self.names = names }
}

/// Rwalk: nwqid[2] nwqid*(qid[13]).
public struct Rwalk: Message, Equatable, Sendable {
    public static let type = MessageType.rwalk
    public var qids: [QID]
    public init(qids: [QID]) { self.qids = qids }
    public func encode(_ e: inout WireEncoder) { encodeQIDs(&e, qids) }
    public init(from d: inout WireDecoder) throws(WireError) { qids = try decodeQIDs(&d) }
}
