import CShims
import Glibc
import P9
import SystemPackage

/// Extended attributes, through the /proc link of the held descriptor (the f*xattr calls refuse O_PATH ones).
///
/// Any namespace may be read; only `user.*` may be changed: `trusted.*` and `security.*` (file capabilities, say)
/// would let a client change what the host grants, and `system.*` holds ACLs that the mode bits already govern.
extension LocalFile {
    func getXattr(_ name: String) throws -> [UInt8] {
        try checkXattrName(name)
        let path = Host.procPath(pathFD)
        return try Self.withXattrBuffer { buf in
            let n = getxattr(path, name, buf.baseAddress, buf.count)
            if n < 0 { throw Self.xattrErrno() }
            return Array(buf[..<n])
        }
    }

    func setXattr(_ name: String, value: [UInt8], flags: UInt32) throws {
        try checkXattrName(name)
        try gofer.checkWritable()
        try checkChangeable(name)
        guard flags & ~UInt32(3) == 0 else { throw Errno.invalidArgument }
        let path = Host.procPath(pathFD)
        let r = value.withUnsafeBytes { setxattr(path, name, $0.baseAddress, $0.count, Int32(flags)) }
        _ = try Host.check(r)
    }

    func listXattr() throws -> [String] {
        let path = Host.procPath(pathFD)
        return try Self.withXattrBuffer { buf in
            let n = listxattr(path, buf.baseAddress?.assumingMemoryBound(to: CChar.self), buf.count)
            if n < 0 { throw Self.xattrErrno() }
            return buf[..<n].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    func removeXattr(_ name: String) throws {
        try checkXattrName(name)
        try gofer.checkWritable()
        try checkChangeable(name)
        _ = try Host.check(removexattr(Host.procPath(pathFD), name))
    }

    /// A name the host can take: not empty, no NUL, at most XATTR_NAME_MAX (255) bytes.
    private func checkXattrName(_ name: String) throws {
        let n = name.utf8.count
        if n == 0 || n > 255 || name.utf8.contains(0) { throw n > 255 ? Errno(rawValue: ERANGE) : Errno.invalidArgument }
    }

    /// Only the user namespace changes (EOPNOTSUPP otherwise, what a filesystem without it answers).
    private func checkChangeable(_ name: String) throws {
        if !name.hasPrefix("user.") { throw Errno.notSupported }
    }

    /// Runs `body` with a buffer as large as one `[s]` field can carry.
    private static func withXattrBuffer<T>(_ body: (UnsafeMutableRawBufferPointer) throws -> T) throws -> T {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(UInt16.max), alignment: 8)
        defer { buf.deallocate() }
        return try body(buf)
    }

    /// The errno of a failed get or list; ERANGE (more than a `[s]` field carries) is E2BIG, as for setxattr(2).
    private static func xattrErrno() -> Errno {
        errno == ERANGE ? Errno(rawValue: E2BIG) : Errno(rawValue: errno)
    }
}
