import Glibc
import SystemPackage

/// Extended attributes: gVisor's Tgetxattr/Tsetxattr (N >= 10) and Tlistxattr/Tremovexattr (N >= 11) where the
/// version admits them, else 9P2000.L's xattr fids (Txattrwalk + Tread, Txattrcreate + Twrite + Tclunk).
extension ClientFile {
    /// The largest value or name list one `[s]` field carries, the buffer size asked of the server.
    public static let xattrMaximumSize = Int(UInt16.max)

    /// The value of extended attribute `name` (ENODATA when unset): Tgetxattr, else Txattrwalk + Tread + Tclunk.
    public func getXattr(_ name: String) throws(P9Error) -> [UInt8] {
        try checkLive()
        if client.supports(.tgetxattr) {
            let m = Tgetxattr(fid: fid, name: name, size: UInt64(Self.xattrMaximumSize))
            return try client.call(m, fid: fid, reply: Rgetxattr.self).value
        }
        return try readXattrFid(name)
    }

    /// The extended attribute names: Tlistxattr, else Txattrwalk of "" + Tread + Tclunk (NUL-separated names).
    public func listXattr() throws(P9Error) -> [String] {
        try checkLive()
        if client.supports(.tlistxattr) {
            let m = Tlistxattr(fid: fid, size: UInt64(Self.xattrMaximumSize))
            return try client.call(m, fid: fid, reply: Rlistxattr.self).names
        }
        return try readXattrFid("").split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sets extended attribute `name` (`flags` XATTR_CREATE 1, XATTR_REPLACE 2): Tsetxattr, else a clone
    /// + Txattrcreate + Twrite + Tclunk (the clunk commits). An empty value needs Tsetxattr: a plain server reads
    /// an xattr fid of size 0 as a removal, so it is refused (EOPNOTSUPP) rather than sent.
    public func setXattr(_ name: String, value: [UInt8], flags: UInt32 = 0) throws(P9Error) {
        try checkLive()
        guard value.count <= Self.xattrMaximumSize else { throw .remote(Errno(rawValue: E2BIG)) }
        if client.supports(.tsetxattr) {
            _ = try client.call(Tsetxattr(fid: fid, name: name, value: value, flags: flags), fid: fid, reply: Rsetxattr.self)
            return
        }
        guard !value.isEmpty else { throw .remote(.notSupported) }
        try writeXattrFid(name, value: value, flags: flags)
    }

    /// Removes extended attribute `name` (ENODATA when unset): Tremovexattr, else a clone + Txattrcreate of
    /// size 0 + Tclunk (Linux's removal on plain servers).
    public func removeXattr(_ name: String) throws(P9Error) {
        try checkLive()
        if client.supports(.tremovexattr) {
            _ = try client.call(Tremovexattr(fid: fid, name: name), fid: fid, reply: Rremovexattr.self)
            return
        }
        try writeXattrFid(name, value: [], flags: 0)
    }

    /// Txattrwalk to a new fid, Tread of its whole size (none when empty), Tclunk.
    private func readXattrFid(_ name: String) throws(P9Error) -> [UInt8] {
        let newFid = try client.allocateFid()
        let x = ClientFile(client: client, fid: newFid)
        let size: UInt64
        do {
            size = try client.call(Txattrwalk(fid: fid, newFid: newFid, name: name), fid: fid, reply: Rxattrwalk.self).size
        } catch {
            x.markReleased()
            throw error
        }
        guard size <= UInt64(Self.xattrMaximumSize) else {
            try? x.clunk()
            throw .remote(Errno(rawValue: E2BIG))
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(size), alignment: 8)
        defer { buffer.deallocate() }
        var got = 0
        if size > 0 {
            do throws(P9Error) {
                got = try x.read(into: buffer, at: 0)
            } catch {
                try? x.clunk()
                throw error
            }
        }
        try x.clunk()
        return Array(buffer[..<got])
    }

    /// A clone of this fid made an xattr fid by Txattrcreate, the value written, then Tclunk, which commits.
    private func writeXattrFid(_ name: String, value: [UInt8], flags: UInt32) throws(P9Error) {
        let (_, x) = try walk([])
        do throws(P9Error) {
            let m = Txattrcreate(fid: x.fid, name: name, attrSize: UInt64(value.count), flags: flags)
            _ = try client.call(m, fid: x.fid, reply: Rxattrcreate.self)
            if !value.isEmpty {
                let n = try value.withUnsafeBytes { b in Result { () throws(P9Error) -> Int in try x.write(from: b, at: 0) } }.get()
                if n != value.count { throw .remote(.ioError) }
            }
        } catch {
            try? x.clunk()
            throw error
        }
        try x.clunk()
    }
}
