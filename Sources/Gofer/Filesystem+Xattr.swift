import P9
import SystemPackage

/// Extended attributes, path-based; nothing about them is cached, so each call is its walks plus the xattr RPCs
/// (Tgetxattr and friends on goferd, xattr fids on plain 9P2000.L servers).
extension Filesystem {
    /// getxattr(2): the value of `name` on `path` (ENODATA when unset); follows a final symlink.
    public func getxattr(_ path: String, name: String) throws(GoferError) -> [UInt8] {
        try pathOp("getxattr \(name) of \(path)") {
            let d = try resolve(path)
            if name.hasPrefix("user.") && !mayAccess(d, .read) { throw Errno.permissionDenied }
            let f = try fid(of: d)
            return try rpc(d) { try f.getXattr(name) }
        }
    }

    /// setxattr(2): sets `name` on `path` to `value`; `flags` XATTR_CREATE (1) or XATTR_REPLACE (2).
    public func setxattr(_ path: String, name: String, value: [UInt8], flags: Int32 = 0) throws(GoferError) {
        try pathOp("setxattr \(name) of \(path)") {
            guard flags & ~3 == 0 else { throw Errno.invalidArgument }
            let d = try resolve(path)
            if name.hasPrefix("user.") && !mayAccess(d, .write) { throw Errno.permissionDenied }
            let f = try fid(of: d)
            try rpc(d) { try f.setXattr(name, value: value, flags: UInt32(flags)) }
        }
    }

    /// listxattr(2): the attribute names of `path`; follows a final symlink.
    public func listxattr(_ path: String) throws(GoferError) -> [String] {
        try pathOp("listxattr \(path)") {
            let d = try resolve(path)
            let f = try fid(of: d)
            return try rpc(d) { try f.listXattr() }
        }
    }

    /// removexattr(2): removes `name` from `path` (ENODATA when unset).
    public func removexattr(_ path: String, name: String) throws(GoferError) {
        try pathOp("removexattr \(name) of \(path)") {
            let d = try resolve(path)
            if name.hasPrefix("user.") && !mayAccess(d, .write) { throw Errno.permissionDenied }
            let f = try fid(of: d)
            try rpc(d) { try f.removeXattr(name) }
        }
    }
}
