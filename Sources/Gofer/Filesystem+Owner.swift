import P9
import SystemPackage

extension Filesystem {
    /// chown(2) (lchown when `followFinal` is false): nil leaves that id as it is.
    public func chown(_ path: String, uid: UInt32?, gid: UInt32?, followFinal: Bool = true) throws(GoferError) {
        try pathOp("chown \(path)") {
            let d = try resolve(path, followFinal: followFinal)
            var valid: SetAttrMask = []
            var attr = SetAttr()
            if let uid { valid.insert(.uid); attr.uid = uid }
            if let gid { valid.insert(.gid); attr.gid = gid }
            guard !valid.isEmpty else { return }
            let f = try fid(of: d)
            try rpc(d) { try f.setAttr(valid, attr) }
            if let uid { d.attr.uid = uid }
            if let gid { d.attr.gid = gid }
        }
    }
}

extension OpenFile {
    /// fstat(2): the cached attributes with this client's size; Shared asks the server through the open fid.
    public func stat() throws(GoferError) -> FileStat {
        if !fs.options.cachesMetadata, let f = handle.file {
            let got = try GoferError.mapping("fstat \(path)") { try f.getAttr(.all) }
            var attr = got.attr
            let local = size()
            if local > attr.size { attr.size = local }
            return FileStat(qid: got.qid, attr: attr)
        }
        return fs.lock.withLock {
            var attr = dentry.attr
            attr.size = fs.currentSize(dentry)
            return FileStat(qid: dentry.qid, attr: attr)
        }
    }
}
