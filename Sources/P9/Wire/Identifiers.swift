/// A 9P identifier: an unsigned number on the wire whose all-ones value means "none" (`FID`, `Tag`).
///
/// Integer literals convert, so `Tclunk(fid: 3)` reads as on the wire; variables of other integer types do not.
public protocol WireIdentifier: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible
    where RawValue: FixedWidthInteger & UnsignedInteger & Sendable, IntegerLiteralType == RawValue {
    /// Wraps a wire value.
    init(rawValue: RawValue)
    /// The reserved "none" value (all bits set), never handed out by a pool.
    static var none: Self { get }
}

extension WireIdentifier {
    /// Wraps a literal wire value.
    public init(integerLiteral value: RawValue) { self.init(rawValue: value) }
    /// The number in decimal.
    public var description: String { String(rawValue) }
}

/// fid[4]: a client's name for a file on one connection; `FID.none` is NOFID.
public struct FID: WireIdentifier {
    /// The wire value.
    public let rawValue: UInt32
    /// Wraps a wire value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// NOFID (~0): "no fid", as Tattach's afid.
    public static let none = FID(rawValue: .max)
}

/// tag[2]: what pairs a reply with its request; `Tag.none` is NOTAG (Tversion's tag).
public struct Tag: WireIdentifier {
    /// The wire value.
    public let rawValue: UInt16
    /// Wraps a wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// NOTAG (~0): the tag of Tversion.
    public static let none = Tag(rawValue: .max)
}

extension WireEncoder {
    /// A fid[4].
    @inline(__always) public mutating func fid(_ v: FID) { u32(v.rawValue) }
    /// A tag[2].
    @inline(__always) public mutating func tag(_ v: Tag) { u16(v.rawValue) }
}

extension WireDecoder {
    /// A fid[4].
    @inline(__always) public mutating func fid(_ field: StaticString = "fid") throws(WireError) -> FID {
        FID(rawValue: try u32(field))
    }
    /// A tag[2].
    @inline(__always) public mutating func tag(_ field: StaticString = "tag") throws(WireError) -> Tag {
        Tag(rawValue: try u16(field))
    }
}
