/// Reads 9P fields little-endian from a frame without copying; every read is bounds-checked.
public struct WireDecoder {
    public let base: UnsafeRawPointer
    public let count: Int
    /// Bytes consumed so far.
    public private(set) var offset: Int = 0

    /// A decoder over `count` bytes at `base`.
    public init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    /// A decoder over a buffer.
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.init(base: buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: buffer.count)
    }

    /// Bytes not yet consumed.
    public var remaining: Int { count - offset }

    @inline(__always)
    private mutating func take(_ n: Int, _ field: StaticString) throws(WireError) -> UnsafeRawPointer {
        guard n >= 0, n <= count - offset else {
            throw .truncated(field: "\(field)", offset: offset, needed: n, available: count - offset)
        }
        let p = base + offset
        offset += n
        return p
    }

    @inline(__always) public mutating func u8(_ field: StaticString = "u8") throws(WireError) -> UInt8 {
        try take(1, field).load(as: UInt8.self)
    }
    @inline(__always) public mutating func u16(_ field: StaticString = "u16") throws(WireError) -> UInt16 {
        UInt16(littleEndian: try take(2, field).loadUnaligned(as: UInt16.self))
    }
    @inline(__always) public mutating func u32(_ field: StaticString = "u32") throws(WireError) -> UInt32 {
        UInt32(littleEndian: try take(4, field).loadUnaligned(as: UInt32.self))
    }
    @inline(__always) public mutating func u64(_ field: StaticString = "u64") throws(WireError) -> UInt64 {
        UInt64(littleEndian: try take(8, field).loadUnaligned(as: UInt64.self))
    }
    /// `n` raw bytes as a view into the frame (valid as long as the frame's memory is).
    public mutating func bytes(_ n: Int, _ field: StaticString = "bytes") throws(WireError) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: try take(n, field), count: n)
    }
    /// A 9P string (len[2] then bytes), decoded as UTF-8 with invalid sequences repaired.
    public mutating func string(_ field: StaticString = "string") throws(WireError) -> String {
        let n = Int(try u16(field))
        let raw = try bytes(n, field)
        return String(decoding: raw, as: UTF8.self)
    }
    /// Skips `n` bytes.
    public mutating func skip(_ n: Int, _ field: StaticString = "skip") throws(WireError) {
        _ = try take(n, field)
    }
}
