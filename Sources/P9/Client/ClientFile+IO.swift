#if canImport(Glibc)
import Glibc
#endif

extension ClientFile {
    /// Reads into `buffer` from `offset`, in Treads of at most msize - 24 bytes, stopping at a short read;
    /// each Rread payload is received straight into `buffer`. Returns the bytes read (0 at EOF).
    public func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(P9Error) -> Int {
        try checkLive()
        let chunk = client.payloadSize
        var done = 0
        while done < buffer.count {
            let want = min(chunk, buffer.count - done)
            var v = iovec(iov_base: buffer.baseAddress! + done, iov_len: want)
            let n = try withUnsafePointer(to: &v) { (p) throws(P9Error) -> Int in
                try client.callRead(fid: fid, offset: offset + UInt64(done), sink: UnsafeBufferPointer(start: p, count: 1), count: want)
            }
            done += n
            if n < want { break }
        }
        return done
    }

    /// Writes `buffer` at `offset`, in Twrites of at most msize - 24 bytes sent with writev straight from
    /// `buffer`, stopping at a short write. Returns the bytes written.
    public func write(from buffer: UnsafeRawBufferPointer, offset: UInt64) throws(P9Error) -> Int {
        try checkLive()
        let chunk = client.payloadSize
        var done = 0
        while done < buffer.count {
            let want = min(chunk, buffer.count - done)
            var v = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress! + done), iov_len: want)
            let n = try withUnsafePointer(to: &v) { (p) throws(P9Error) -> Int in
                try client.callWrite(fid: fid, offset: offset + UInt64(done), payload: UnsafeBufferPointer(start: p, count: 1), count: want)
            }
            guard n <= want else { throw P9Error.protocolViolation("Rwrite count \(n) exceeds the \(want) bytes sent") }
            done += n
            if n < want { break }
        }
        return done
    }

    /// Scatter read: fills `buffers` in order from `offset`; each Rread payload is received straight into them.
    public func read(into buffers: [UnsafeMutableRawBufferPointer], offset: UInt64) throws(P9Error) -> Int {
        try checkLive()
        if buffers.count == 1 { return try read(into: buffers[0], offset: offset) }
        let iovs = buffers.filter { $0.count > 0 }.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        var done = 0
        var cursor = IOVecCursor(iovs)
        while !cursor.isAtEnd {
            let piece = cursor.take(client.payloadSize)
            let want = piece.reduce(0) { $0 + $1.iov_len }
            let n = try piece.withUnsafeBufferPointer { (p) throws(P9Error) -> Int in
                try client.callRead(fid: fid, offset: offset + UInt64(done), sink: p, count: want)
            }
            done += n
            if n < want { break }
        }
        return done
    }

    /// Gather write: sends `buffers` in order at `offset` with writev, in Twrites of at most msize - 24 bytes.
    public func write(from buffers: [UnsafeRawBufferPointer], offset: UInt64) throws(P9Error) -> Int {
        try checkLive()
        if buffers.count == 1 { return try write(from: buffers[0], offset: offset) }
        let iovs = buffers.filter { $0.count > 0 }.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        var done = 0
        var cursor = IOVecCursor(iovs)
        while !cursor.isAtEnd {
            let piece = cursor.take(client.payloadSize)
            let want = piece.reduce(0) { $0 + $1.iov_len }
            let n = try piece.withUnsafeBufferPointer { (p) throws(P9Error) -> Int in
                try client.callWrite(fid: fid, offset: offset + UInt64(done), payload: p, count: want)
            }
            guard n <= want else { throw P9Error.protocolViolation("Rwrite count \(n) exceeds the \(want) bytes sent") }
            done += n
            if n < want { break }
        }
        return done
    }
}

/// Walks a list of iovecs handing out runs of at most N bytes (splitting an iovec where needed).
struct IOVecCursor {
    private let iovs: [iovec]
    private var index = 0
    private var skip = 0

    init(_ iovs: [iovec]) { self.iovs = iovs }

    var isAtEnd: Bool { index >= iovs.count }

    mutating func take(_ limit: Int) -> [iovec] {
        var out: [iovec] = []
        var left = limit
        while left > 0 && index < iovs.count {
            let v = iovs[index]
            let n = min(left, v.iov_len - skip)
            out.append(iovec(iov_base: v.iov_base.map { $0 + skip }, iov_len: n))
            left -= n
            skip += n
            if skip == v.iov_len { index += 1; skip = 0 }
        }
        return out
    }
}
