/// A 9P message body that encodes and decodes itself (gVisor pkg/p9 style).
///
/// `encode` writes only the body; `Frame` adds the 7-byte header. Decoders validate every length
/// against the bytes at hand and throw `WireError`, never trap.
public protocol Message {
    /// The message number this type encodes.
    static var type: MessageType { get }
    /// Writes the body fields in wire order.
    func encode(_ e: inout WireEncoder)
    /// Reads the body fields in wire order.
    init(from d: inout WireDecoder) throws(WireError)
}

/// 9P framing constants and helpers: `size[4] type[1] tag[2] body`.
public enum Frame {
    /// Bytes in the header.
    public static let headerSize = 7
    /// n_uname / uid meaning "none".
    public static let noUID: UInt32 = 0xFFFF_FFFF
    /// gid meaning "none".
    public static let noGID: UInt32 = 0xFFFF_FFFF
    /// The most names one walk may carry.
    public static let maxWalkNames = 16
    /// Overhead reserved for Tread/Twrite/Treaddir payloads: payload = msize - 24.
    public static let ioHeaderSize = 24

    /// The parsed header of a frame.
    public struct Header: Equatable, Sendable {
        public var size: Int
        public var type: UInt8
        public var tag: Tag
    }

    /// Encodes a whole frame (header + body) into `e`, which must start empty; returns its length.
    @discardableResult
    public static func encode<M: Message>(_ message: M, tag: Tag, into e: inout WireEncoder) throws(WireError) -> Int {
        let start = e.count
        e.u32(0)
        e.u8(M.type.rawValue)
        e.tag(tag)
        message.encode(&e)
        try e.finish()
        let size = e.count - start
        e.patchU32(UInt32(size), at: start)
        return size
    }

    /// Encodes a frame into `buffer`, refusing anything larger than `msize`.
    public static func encode<M: Message>(_ message: M, tag: Tag, into buffer: UnsafeMutableRawBufferPointer, msize: Int) throws(WireError) -> Int {
        var e = WireEncoder(UnsafeMutableRawBufferPointer(rebasing: buffer[..<max(0, min(buffer.count, msize))]))
        return try encode(message, tag: tag, into: &e)
    }

    /// Parses and validates the header at the start of `bytes` (at least 7 bytes); `limit` is msize.
    public static func header(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> Header {
        guard bytes.count >= headerSize else {
            throw .truncated(field: "header", offset: 0, needed: headerSize, available: bytes.count)
        }
        var d = WireDecoder(bytes)
        let size = Int(try d.u32("size"))
        let type = try d.u8("type")
        let tag = try d.tag("tag")
        guard size >= headerSize else { throw .frameTooSmall(size: size) }
        guard size <= limit else { throw .frameTooLarge(size: size, limit: limit) }
        return Header(size: size, type: type, tag: tag)
    }

    /// Validates a whole frame against `limit` (msize) and returns its header and a decoder over its body.
    public static func open(_ frame: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> (header: Header, body: WireDecoder) {
        let h = try header(frame, limit: limit)
        guard h.size <= frame.count else {
            throw .truncated(field: "frame", offset: 0, needed: h.size, available: frame.count)
        }
        guard h.size == frame.count else { throw .sizeMismatch(size: h.size, expected: frame.count) }
        return (h, WireDecoder(base: frame.baseAddress! + headerSize, count: h.size - headerSize))
    }

    /// Decodes the body of a whole frame as `M`; the frame's type must be `M.type`. `limit` is msize.
    public static func decode<M: Message>(_: M.Type, frame: UnsafeRawBufferPointer, limit: Int = Int(UInt32.max)) throws(WireError) -> (tag: Tag, message: M) {
        var (h, d) = try open(frame, limit: limit)
        guard h.type == M.type.rawValue else { throw .unexpectedType(expected: M.type.rawValue, got: h.type) }
        return (h.tag, try M(from: &d))
    }

    /// Decodes a whole frame of any known type (the server's entry point). `limit` is msize.
    public static func decodeAny(frame: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> (tag: Tag, message: any Message) {
        var (h, d) = try open(frame, limit: limit)
        return (h.tag, try MessageRegistry.decode(type: h.type, body: &d))
    }
}
