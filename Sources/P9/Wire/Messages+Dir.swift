/// Treaddir: fid[4] offset[8] count[4].
public struct Treaddir: ReadRequest, Equatable, Sendable {
    public static let type = MessageType.treaddir
    public var fid: FID
    public var offset: UInt64
    public var count: UInt32
    public init(fid: FID, offset: UInt64, count: UInt32) { self.fid = fid; self.offset = offset; self.count = count }
}

/// Rreaddir: count[4] data[count], the data being packed `Dirent`s; count 0 means the end.
public struct Rreaddir: Message, Equatable, Sendable {
    public static let type = MessageType.rreaddir
    public var entries: [Dirent]
    public init(entries: [Dirent]) { self.entries = entries }

    /// The longest prefix of `entries` whose encoding fits in `count` bytes, and how many that is.
    public static func packing<C: Collection>(_ entries: C, count: UInt32) -> (message: Rreaddir, packed: Int)
        where C.Element == Dirent {
        var out = [Dirent]()
        var used = 0
        for entry in entries {
            let n = entry.encodedSize
            guard used + n <= Int(count) else { break }
            used += n
            out.append(entry)
        }
        return (Rreaddir(entries: out), out.count)
    }

    public func encode(_ e: inout WireEncoder) {
        let at = e.count
        e.u32(0)
        for entry in entries { entry.encode(&e) }
        // The count is only known after the names are written; patch it in place.
        if !e.overflowed { e.patchU32(UInt32(e.count - at - 4), at: at) }
    }

    public init(from d: inout WireDecoder) throws(WireError) {
        let n = Int(try d.u32("count"))
        var sub = WireDecoder(try d.bytes(n, "data"))
        var list = [Dirent]()
        // Every entry takes at least 24 bytes; bound the reservation by what the frame can hold.
        list.reserveCapacity(n / Dirent.fixedSize)
        while sub.remaining > 0 { list.append(try Dirent(from: &sub)) }
        entries = list
    }
}
