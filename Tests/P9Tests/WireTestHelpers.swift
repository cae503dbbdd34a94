import P9
import XCTest

/// Helpers for the wire codec tests (namespaced to avoid clashes with other P9Tests files).
enum WireFixture {
    /// Parses a hand-written hex string; whitespace and newlines are ignored.
    static func hex(_ s: String) -> [UInt8] {
        let digits = s.filter { !$0.isWhitespace }
        precondition(digits.count % 2 == 0, "odd hex digit count")
        var out = [UInt8]()
        var i = digits.startIndex
        while i < digits.endIndex {
            let j = digits.index(i, offsetBy: 2)
            out.append(UInt8(digits[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Encodes a whole frame with the codec under test.
    static func encode<M: Message>(_ m: M, tag: Tag = 1, capacity: Int = 1 << 17) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        let n = try buffer.withUnsafeMutableBytes { raw -> Int in
            try Frame.encode(m, tag: tag, into: raw, msize: capacity)
        }
        return Array(buffer[..<n])
    }

    /// Decodes a whole frame as `M`.
    static func decode<M: Message>(_: M.Type, _ bytes: [UInt8], limit: Int = 1 << 20) throws -> (tag: Tag, message: M) {
        try bytes.withUnsafeBytes { raw in try Frame.decode(M.self, frame: raw, limit: limit) }
    }

    /// The error `Frame.decodeAny` throws for `bytes`, or nil when it decodes.
    static func decodeAnyError(_ bytes: [UInt8], limit: Int = 1 << 20) -> WireError? {
        bytes.withUnsafeBytes { raw -> WireError? in
            do throws(WireError) { _ = try Frame.decodeAny(frame: raw, limit: limit); return nil } catch { return error }
        }
    }

    /// Re-encodes a type-erased message.
    static func encodeAny(_ m: any Message, tag: Tag) throws -> [UInt8] {
        func open<M: Message>(_ m: M) throws -> [UInt8] { try encode(m, tag: tag) }
        return try open(m)
    }

    /// A 132-byte attr block matching `attr` below, written out by hand.
    static let attrHex = """
        a4 81 00 00  e8 03 00 00  e8 03 00 00
        01 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  05 00 00 00 00 00 00 00
        00 10 00 00 00 00 00 00  08 00 00 00 00 00 00 00
        01 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00
        03 00 00 00 00 00 00 00  04 00 00 00 00 00 00 00
        05 00 00 00 00 00 00 00  06 00 00 00 00 00 00 00
        07 00 00 00 00 00 00 00  08 00 00 00 00 00 00 00
        09 00 00 00 00 00 00 00  0a 00 00 00 00 00 00 00
        """

    /// The value of `attrHex`.
    static var attr: Attr {
        var a = Attr()
        a.mode = 0o100644; a.uid = 1000; a.gid = 1000; a.nlink = 1; a.rdev = 0; a.size = 5
        a.blksize = 4096; a.blocks = 8
        a.atime = Timespec(sec: 1, nsec: 2); a.mtime = Timespec(sec: 3, nsec: 4)
        a.ctime = Timespec(sec: 5, nsec: 6); a.btime = Timespec(sec: 7, nsec: 8)
        a.gen = 9; a.dataVersion = 10
        return a
    }

    /// A directory QID: type 0x80, version 0, path 0x2a.
    static let q1Hex = "80 00 00 00 00 2a 00 00 00 00 00 00 00"
    static let q1 = QID(type: .directory, version: 0, path: 0x2a)
    /// A file QID: type 0, version 1, path 0x0102.
    static let q2Hex = "00 01 00 00 00 02 01 00 00 00 00 00 00"
    static let q2 = QID(type: .file, version: 1, path: 0x0102)
    /// AttrMask.all (0x3fff) as a u64.
    static let allHex = "ff 3f 00 00 00 00 00 00"
}
