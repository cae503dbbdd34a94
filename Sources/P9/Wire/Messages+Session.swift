/// Tversion: msize[4] version[s].
public struct Tversion: Message, Equatable, Sendable {
    public static let type = MessageType.tversion
    public var msize: UInt32
    public var version: String
    public init(msize: UInt32, version: String) { self.msize = msize; self.version = version }
    public func encode(_ e: inout WireEncoder) { e.u32(msize); e.string(version) }
    public init(from d: inout WireDecoder) throws(WireError) {
        msize = try d.u32("msize"); version = try d.string("version")
    }
}

/// Rversion: msize[4] version[s].
public struct Rversion: Message, Equatable, Sendable {
    public static let type = MessageType.rversion
    public var msize: UInt32
    public var version: String
    public init(msize: UInt32, version: String) { self.msize = msize; self.version = version }
    public func encode(_ e: inout WireEncoder) { e.u32(msize); e.string(version) }
    public init(from d: inout WireDecoder) throws(WireError) {
        msize = try d.u32("msize"); version = try d.string("version")
    }
}

/// Rlerror: ecode[4], a Linux errno.
public struct Rlerror: Message, Equatable, Sendable {
    public static let type = MessageType.rlerror
    public var errno: UInt32
    public init(errno: UInt32) { self.errno = errno }
    public func encode(_ e: inout WireEncoder) { e.u32(errno) }
    public init(from d: inout WireDecoder) throws(WireError) { errno = try d.u32("ecode") }
}
