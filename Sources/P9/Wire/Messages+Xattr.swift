/// Reads a 9P `[s]` field as raw bytes (xattr values are binary).
@inline(__always)
func decodeBlob(_ d: inout WireDecoder, _ field: StaticString) throws(WireError) -> [UInt8] {
    let n = Int(try d.u16(field))
    return Array(try d.bytes(n, field))
}

/// Txattrwalk: fid[4] newfid[4] name[s]; name "" lists the names.
public struct Txattrwalk: Message, Equatable, Sendable {
    public static let type = MessageType.txattrwalk
    public var fid: FID
    public var newFid: FID
    public var name: String
    public init(fid: FID, newFid: FID, name: String) { self.fid = fid; self.newFid = newFid; self.name = name }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.fid(newFid); e.string(name) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); newFid = try d.fid("newfid"); name = try d.string("name")
    }
}

/// Rxattrwalk: size[8].
public struct Rxattrwalk: Message, Equatable, Sendable {
    public static let type = MessageType.rxattrwalk
    public var size: UInt64
    public init(size: UInt64) { self.size = size }
    public func encode(_ e: inout WireEncoder) { e.u64(size) }
    public init(from d: inout WireDecoder) throws(WireError) { size = try d.u64("size") }
}

/// Txattrcreate: fid[4] name[s] attr_size[8] flags[4] (XATTR_CREATE 1, XATTR_REPLACE 2).
public struct Txattrcreate: Message, Equatable, Sendable {
    public static let type = MessageType.txattrcreate
    public var fid: FID
    public var name: String
    public var attrSize: UInt64
    public var flags: UInt32
    public init(fid: FID, name: String, attrSize: UInt64, flags: UInt32 = 0) {
        self.fid = fid; self.name = name; self.attrSize = attrSize; self.flags = flags
    }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.string(name); e.u64(attrSize); e.u32(flags) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); name = try d.string("name"); attrSize = try d.u64("attr_size"); flags = try d.u32("flags")
    }
}

/// Rxattrcreate: empty body.
public struct Rxattrcreate: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rxattrcreate
    public init() {}
}

/// Tlistxattr (gVisor, N ≥ 11): fid[4] size[8].
public struct Tlistxattr: Message, Equatable, Sendable {
    public static let type = MessageType.tlistxattr
    public var fid: FID
    public var size: UInt64
    public init(fid: FID, size: UInt64) { self.fid = fid; self.size = size }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.u64(size) }
    public init(from d: inout WireDecoder) throws(WireError) { fid = try d.fid("fid"); size = try d.u64("size") }
}

/// Rlistxattr: n[2] n*(name[s]).
public struct Rlistxattr: Message, Equatable, Sendable {
    public static let type = MessageType.rlistxattr
    public var names: [String]
    public init(names: [String]) { self.names = names }
    public func encode(_ e: inout WireEncoder) { encodeWalkNames(&e, names) }
    public init(from d: inout WireDecoder) throws(WireError) { names = try decodeWalkNames(&d, limit: Int(UInt16.max)) }
}

/// Tgetxattr (gVisor, N ≥ 10): fid[4] name[s] size[8].
public struct Tgetxattr: Message, Equatable, Sendable {
    public static let type = MessageType.tgetxattr
    public var fid: FID
    public var name: String
    public var size: UInt64
    public init(fid: FID, name: String, size: UInt64) { self.fid = fid; self.name = name; self.size = size }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.string(name); e.u64(size) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); name = try d.string("name"); size = try d.u64("size")
    }
}

/// Rgetxattr: value[s].
public struct Rgetxattr: Message, Equatable, Sendable {
    public static let type = MessageType.rgetxattr
    public var value: [UInt8]
    public init(value: [UInt8]) { self.value = value }
    public func encode(_ e: inout WireEncoder) { value.withUnsafeBytes { e.blob($0) } }
    public init(from d: inout WireDecoder) throws(WireError) { value = try decodeBlob(&d, "value") }
}

/// Tsetxattr (gVisor, N ≥ 10): fid[4] name[s] value[s] flags[4].
public struct Tsetxattr: Message, Equatable, Sendable {
    public static let type = MessageType.tsetxattr
    public var fid: FID
    public var name: String
    public var value: [UInt8]
    public var flags: UInt32
    public init(fid: FID, name: String, value: [UInt8], flags: UInt32 = 0) {
        self.fid = fid; self.name = name; self.value = value; self.flags = flags
    }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.string(name); value.withUnsafeBytes { e.blob($0) }; e.u32(flags) }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); name = try d.string("name"); value = try decodeBlob(&d, "value"); flags = try d.u32("flags")
    }
}

/// Rsetxattr: empty body.
public struct Rsetxattr: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rsetxattr
    public init() {}
}

/// Tremovexattr (gVisor, N ≥ 11): fid[4] name[s].
public struct Tremovexattr: Message, Equatable, Sendable {
    public static let type = MessageType.tremovexattr
    public var fid: FID
    public var name: String
    public init(fid: FID, name: String) { self.fid = fid; self.name = name }
    public func encode(_ e: inout WireEncoder) { e.fid(fid); e.string(name) }
    public init(from d: inout WireDecoder) throws(WireError) { fid = try d.fid("fid"); name = try d.string("name") }
}

/// Rremovexattr: empty body.
public struct Rremovexattr: EmptyMessage, Equatable, Sendable {
    public static let type = MessageType.rremovexattr
    public init() {}
}
