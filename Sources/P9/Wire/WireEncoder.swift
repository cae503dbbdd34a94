/// Writes 9P fields little-endian into caller-owned memory; no allocation.
///
/// Bounds are checked on every put but reported once, by `finish()`, so the hot path stays branch-light.
public struct WireEncoder {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Bytes written so far (including the 7-byte header when framing).
    public private(set) var count: Int = 0
    /// Set when a put did not fit; the buffer content is then meaningless.
    public private(set) var overflowed = false

    /// An encoder over `capacity` bytes at `base`.
    public init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// An encoder over a buffer.
    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.init(base: buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, capacity: buffer.count)
    }

    @inline(__always)
    private mutating func reserve(_ n: Int) -> UnsafeMutableRawPointer? {
        guard !overflowed, count + n <= capacity else { overflowed = true; return nil }
        let p = base + count
        count += n
        return p
    }

    @inline(__always) public mutating func u8(_ v: UInt8) {
        reserve(1)?.storeBytes(of: v, as: UInt8.self)
    }
    @inline(__always) public mutating func u16(_ v: UInt16) {
        reserve(2)?.storeBytes(of: v.littleEndian, as: UInt16.self)
    }
    @inline(__always) public mutating func u32(_ v: UInt32) {
        reserve(4)?.storeBytes(of: v.littleEndian, as: UInt32.self)
    }
    @inline(__always) public mutating func u64(_ v: UInt64) {
        reserve(8)?.storeBytes(of: v.littleEndian, as: UInt64.self)
    }
    /// Raw bytes, no length prefix.
    public mutating func bytes(_ b: UnsafeRawBufferPointer) {
        guard let p = reserve(b.count) else { return }
        if let src = b.baseAddress, b.count > 0 { p.copyMemory(from: src, byteCount: b.count) }
    }
    /// A 9P string: len[2] then bytes. Longer than 65535 bytes marks the encoder overflowed.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in blob(UnsafeRawBufferPointer(utf8)) }
    }
    /// Raw bytes in 9P string form (len[2] then bytes). Longer than 65535 bytes marks the encoder overflowed.
    public mutating func blob(_ b: UnsafeRawBufferPointer) {
        guard b.count <= 0xFFFF else { overflowed = true; return }
        u16(UInt16(b.count))
        bytes(b)
    }
    /// Overwrites a u32 already written at `offset` (the frame's size field).
    public mutating func patchU32(_ v: UInt32, at offset: Int) {
        precondition(offset + 4 <= count)
        (base + offset).storeBytes(of: v.littleEndian, as: UInt32.self)
    }
    /// Throws if any put did not fit.
    public func finish() throws(WireError) {
        if overflowed { throw .messageTooLarge(size: count, limit: capacity) }
    }
}
