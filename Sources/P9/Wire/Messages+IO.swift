/// Tread: fid[4] offset[8] count[4].
public struct Tread: ReadRequest, Equatable, Sendable {
    public static let type = MessageType.tread
    public var fid: FID
    public var offset: UInt64
    public var count: UInt32
    public init(fid: FID, offset: UInt64, count: UInt32) { self.fid = fid; self.offset = offset; self.count = count }
}

/// Rread: count[4] data[count]; `data` is a view (into the frame when decoded, caller memory when encoding).
public struct Rread: Message {
    public static let type = MessageType.rread
    /// Header plus the count field: size[4] type[1] tag[2] count[4].
    public static let headerSize = Frame.headerSize + 4
    public var data: UnsafeRawBufferPointer
    public init(data: UnsafeRawBufferPointer) { self.data = data }
    public func encode(_ e: inout WireEncoder) { e.u32(UInt32(truncatingIfNeeded: data.count)); e.bytes(data) }
    public init(from d: inout WireDecoder) throws(WireError) {
        let n = Int(try d.u32("count"))
        data = try d.bytes(n, "data")
    }

    /// Writes the 11-byte Rread header for a `count`-byte payload that is sent separately (writev).
    public static func encodeHeader(tag: Tag, count: UInt32, into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        var e = WireEncoder(buffer)
        e.u32(UInt32(truncatingIfNeeded: headerSize + Int(count))); e.u8(type.rawValue); e.tag(tag); e.u32(count)
        try e.finish()
    }

    /// Parses an 11-byte Rread header so the payload can be read straight into caller memory.
    public static func decodeHeader(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> (tag: Tag, count: Int) {
        let h = try Frame.header(bytes, limit: limit)
        guard h.type == type.rawValue else { throw .unexpectedType(expected: type.rawValue, got: h.type) }
        var d = WireDecoder(bytes)
        try d.skip(Frame.headerSize, "header")
        let count = Int(try d.u32("count"))
        guard h.size == headerSize + count else { throw .sizeMismatch(size: h.size, expected: headerSize + count) }
        return (h.tag, count)
    }
}

/// Twrite: fid[4] offset[8] count[4] data[count]; `data` is a view (frame or caller memory).
public struct Twrite: Message {
    public static let type = MessageType.twrite
    /// Header plus fid, offset and count: 23 bytes.
    public static let headerSize = Frame.headerSize + 16
    public var fid: FID
    public var offset: UInt64
    public var data: UnsafeRawBufferPointer
    public init(fid: FID, offset: UInt64, data: UnsafeRawBufferPointer) { self.fid = fid; self.offset = offset; self.data = data }
    public func encode(_ e: inout WireEncoder) {
        e.fid(fid); e.u64(offset); e.u32(UInt32(truncatingIfNeeded: data.count)); e.bytes(data)
    }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); offset = try d.u64("offset")
        let n = Int(try d.u32("count"))
        data = try d.bytes(n, "data")
    }

    /// Writes the 23-byte Twrite header (size counts the payload) for a payload sent separately (writev).
    public static func encodeHeader(tag: Tag, fid: FID, offset: UInt64, count: UInt32,
                                    into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        var e = WireEncoder(buffer)
        e.u32(UInt32(truncatingIfNeeded: headerSize + Int(count))); e.u8(type.rawValue); e.tag(tag)
        e.fid(fid); e.u64(offset); e.u32(count)
        try e.finish()
    }

    /// Parses a 23-byte Twrite header so the payload can be read straight into its destination.
    public static func decodeHeader(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(WireError)
        -> (tag: Tag, fid: FID, offset: UInt64, count: Int) {
        let h = try Frame.header(bytes, limit: limit)
        guard h.type == type.rawValue else { throw .unexpectedType(expected: type.rawValue, got: h.type) }
        var d = WireDecoder(bytes)
        try d.skip(Frame.headerSize, "header")
        let fid = try d.fid("fid"), offset = try d.u64("offset"), count = Int(try d.u32("count"))
        guard h.size == headerSize + count else { throw .sizeMismatch(size: h.size, expected: headerSize + count) }
        return (h.tag, fid, offset, count)
    }
}

/// Rwrite: count[4].
public struct Rwrite: Message, Equatable, Sendable {
    public static let type = MessageType.rwrite
    public var count: UInt32
    public init(count: UInt32) { self.count = count }
    public func encode(_ e: inout WireEncoder) { e.u32(count) }
    public init(from d: inout WireDecoder) throws(WireError) { count = try d.u32("count") }
}

/// Tfsync: fid[4] datasync[4]; always encodes datasync, decodes a 4-byte (gVisor) body as datasync 0.
public struct Tfsync: Message, Equatable, Sendable {
    public static let type = MessageType.tfsync
    public var fid: FID
    /// 0 for fsync, nonzero for fdatasync.
    public var datasync: UInt32
    public init(fid: FID, datasync: UInt32 = 0) { self.fid = fid; self.datasync = datasync }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u32(datasync) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid")
        datasync = d.remaining == 0 ? 0 : try d.u32("datasync")
    }
}

/// Rfsync: empty body.
public struct Rfsync: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rfsync
    public init() {}
}
