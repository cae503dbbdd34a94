/// Why a 9P frame could not be encoded or decoded.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ended before a field that needed `needed` bytes at `offset`.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// The size field is below the 7-byte header.
    case frameTooSmall(size: Int)
    /// The size field exceeds the negotiated msize (or the bytes at hand).
    case frameTooLarge(size: Int, limit: Int)
    /// The type byte names no message this codec knows.
    case unknownType(UInt8)
    /// A decoded frame carried a different message than the caller expected.
    case unexpectedType(expected: UInt8, got: UInt8)
    /// A walk carried more than 16 names (MAXWELEM).
    case tooManyWalkNames(Int)
    /// An encoded message would not fit the buffer or msize.
    case messageTooLarge(size: Int, limit: Int)
    /// A string longer than 65535 bytes cannot be encoded.
    case stringTooLong(Int)
    /// The size field disagrees with the frame's length or with the counts inside it.
    case sizeMismatch(size: Int, expected: Int)
    /// A count or length field that is internally inconsistent.
    case invalid(String)

    public var description: String {
        switch self {
        case let .truncated(field, offset, needed, available):
            return "9P frame truncated: field \(field) at body offset \(offset) needs \(needed) bytes, \(available) left"
        case let .frameTooSmall(size): return "9P frame size \(size) is below the 7-byte header"
        case let .frameTooLarge(size, limit): return "9P frame size \(size) exceeds the limit \(limit)"
        case let .unknownType(t): return "unknown 9P message type \(t)"
        case let .unexpectedType(expected, got): return "expected 9P message type \(expected), got \(got)"
        case let .tooManyWalkNames(n): return "walk carries \(n) names; at most 16 are allowed"
        case let .messageTooLarge(size, limit): return "9P message of \(size) bytes exceeds the limit \(limit)"
        case let .stringTooLong(n): return "9P string of \(n) bytes exceeds 65535"
        case let .sizeMismatch(size, expected): return "9P frame size \(size) does not match the expected \(expected)"
        case let .invalid(why): return "malformed 9P message: \(why)"
        }
    }
}
