import Glibc
import Synchronization
import SystemPackage

/// One fid of a `Client`, with the typed 9P operations on it (plain-server fallbacks built in).
public final class ClientFile: Sendable {
    /// The connection this fid belongs to.
    public let client: Client
    /// The fid number.
    public let fid: FID
    /// Set by clunk/remove/setAttrClunk: the fid is gone and must not be used or freed again.
    private let released = Atomic<Bool>(false)

    init(client: Client, fid: FID) {
        self.client = client
        self.fid = fid
    }

    /// Whether the fid has been clunked or removed.
    public var isReleased: Bool { released.load(ordering: .relaxed) }

    @inline(__always)
    func checkLive() throws(P9Error) {
        if released.load(ordering: .relaxed) { throw .remote(.badFileDescriptor) }
    }

    /// Marks the fid gone and returns it to the pool; false if it already was.
    @discardableResult
    func markReleased() -> Bool {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        client.releaseFid(fid)
        return true
    }

    // MARK: Walking

    /// Walks `names` to a new fid ([] clones); more than 16 names go in several Twalks. A short walk clunks the new fid and throws ENOENT.
    public func walk(_ names: [String]) throws(P9Error) -> (qids: [QID], file: ClientFile) {
        try checkLive()
        let newFid = try client.allocateFid()
        let file = ClientFile(client: client, fid: newFid)
        if names.count <= Frame.maxWalkNames {
            let qids = try walkPiece(from: fid, to: file, names[...], fresh: true)
            return (qids, file)
        }
        var qids: [QID] = []
        qids.reserveCapacity(names.count)
        var start = 0
        while start < names.count {
            let end = min(start + Frame.maxWalkNames, names.count)
            // The first piece creates newfid; later pieces walk it in place.
            qids += try walkPiece(from: start == 0 ? fid : newFid, to: file, names[start..<end], fresh: start == 0)
            start = end
        }
        return (qids, file)
    }

    /// One Twalk of at most 16 names into `file`; on failure `file`'s fid is clunked (if bound) or freed.
    private func walkPiece(from: FID, to file: ClientFile, _ names: ArraySlice<String>, fresh: Bool) throws(P9Error) -> [QID] {
        let r: Rwalk
        do {
            r = try client.call(Twalk(fid: from, newFid: file.fid, names: Array(names)), fid: from, reply: Rwalk.self)
        } catch {
            // A failed first piece binds nothing; a failed later piece leaves the earlier binding.
            if fresh { file.markReleased() } else { try? file.clunk() }
            throw error
        }
        if r.qids.count > names.count {
            try? file.clunk()
            let e = P9Error.protocolViolation("Rwalk returned \(r.qids.count) qids for \(names.count) names")
            client.fail(e)
            throw e
        }
        if r.qids.count < names.count {
            // diod binds newfid to the last element reached; an empty reply to a fresh walk binds nothing.
            if fresh && r.qids.isEmpty { file.markReleased() } else { try? file.clunk() }
            throw .remote(.noSuchFileOrDirectory)
        }
        return r.qids
    }

    /// Walks and gets the attributes of the result: Twalkgetattr at N >= 2, else Twalk + Tgetattr.
    public func walkGetAttr(_ names: [String]) throws(P9Error) -> (qids: [QID], file: ClientFile, valid: AttrMask, attr: Attr) {
        try checkLive()
        if client.supports(.twalkgetattr) && names.count <= Frame.maxWalkNames {
            let newFid = try client.allocateFid()
            let file = ClientFile(client: client, fid: newFid)
            let r: Rwalkgetattr
            do {
                r = try client.call(Twalkgetattr(fid: fid, newFid: newFid, names: names), fid: fid, reply: Rwalkgetattr.self)
            } catch {
                file.markReleased()
                throw error
            }
            guard r.qids.count == names.count else {
                try? file.clunk()
                if r.qids.count > names.count {
                    let e = P9Error.protocolViolation("Rwalkgetattr returned \(r.qids.count) qids for \(names.count) names")
                    client.fail(e)
                    throw e
                }
                throw .remote(.noSuchFileOrDirectory)
            }
            return (r.qids, file, r.valid, r.attr)
        }
        let (qids, file) = try walk(names)
        do {
            let a = try file.getAttr(.all)
            return (qids, file, a.valid, a.attr)
        } catch {
            try? file.clunk()
            throw error
        }
    }

    /// Stats of this file and then each of `names` in turn (Tmultigetattr, N >= 13; stops at the first missing
    /// name or non-directory); throws `.unsupported` below 13 so the caller can fall back.
    public func multiGetAttr(_ names: [String]) throws(P9Error) -> [FullStat] {
        try checkLive()
        guard client.supports(.tmultigetattr) else { throw .unsupported(.tmultigetattr) }
        return try client.call(Tmultigetattr(fid: fid, names: names), fid: fid, reply: Rmultigetattr.self).stats
    }

    // MARK: Attributes

    /// Tgetattr.
    public func getAttr(_ mask: AttrMask = .all) throws(P9Error) -> (qid: QID, valid: AttrMask, attr: Attr) {
        try checkLive()
        let r = try client.call(Tgetattr(fid: fid, requestMask: mask), fid: fid, reply: Rgetattr.self)
        return (r.qid, r.valid, r.attr)
    }

    /// Tsetattr.
    public func setAttr(_ valid: SetAttrMask, _ attr: SetAttr) throws(P9Error) {
        try checkLive()
        _ = try client.call(Tsetattr(fid: fid, valid: valid, attr: attr), fid: fid, reply: Rsetattr.self)
    }

    /// Sets attributes and clunks: Tsetattrclunk at N >= 12, else Tsetattr + Tclunk. The fid is gone either way.
    public func setAttrClunk(_ valid: SetAttrMask, _ attr: SetAttr) throws(P9Error) {
        try checkLive()
        if client.supports(.tsetattrclunk) {
            defer { markReleased() }
            _ = try client.call(Tsetattrclunk(fid: fid, valid: valid, attr: attr), fid: fid, reply: Rsetattrclunk.self)
            return
        }
        var failure: P9Error?
        do { try setAttr(valid, attr) } catch { failure = error }
        do { try clunk() } catch { if failure == nil { failure = error } }
        if let failure { throw failure }
    }

    // MARK: Open and create

    /// Tlopen; a host descriptor the server donated comes back in `hostFD` (the caller owns it).
    public func open(_ flags: OpenFlags) throws(P9Error) -> OpenedFile {
        try checkLive()
        let (r, fd) = try client.callWithFD(Tlopen(fid: fid, flags: flags), fid: fid, reply: Rlopen.self)
        return OpenedFile(qid: r.qid, ioUnit: r.ioUnit, hostFD: fd)
    }

    /// Creates and opens `name` in this directory; this file then names the new open file.
    /// Tucreate when `uid` is given and N >= 3, else Tlcreate. A donated `hostFD` is the caller's.
    public func create(_ name: String, flags: OpenFlags, mode: UInt32, gid: UInt32 = Frame.noGID,
                       uid: UInt32? = nil) throws(P9Error) -> OpenedFile {
        try checkLive()
        if let uid, client.supports(.tucreate) {
            let m = Tucreate(fid: fid, name: name, flags: flags, mode: mode, gid: gid, uid: uid)
            let (r, fd) = try client.callWithFD(m, fid: fid, reply: Rucreate.self)
            return OpenedFile(qid: r.qid, ioUnit: r.ioUnit, hostFD: fd)
        }
        let m = Tlcreate(fid: fid, name: name, flags: flags, mode: mode, gid: gid)
        let (r, fd) = try client.callWithFD(m, fid: fid, reply: Rlcreate.self)
        return OpenedFile(qid: r.qid, ioUnit: r.ioUnit, hostFD: fd)
    }

    /// Makes directory `name` here (Tumkdir when `uid` is given and N >= 3, else Tmkdir).
    public func mkdir(_ name: String, mode: UInt32, gid: UInt32 = Frame.noGID, uid: UInt32? = nil) throws(P9Error) -> QID {
        try checkLive()
        if let uid, client.supports(.tumkdir) {
            return try client.call(Tumkdir(directoryFid: fid, name: name, mode: mode, gid: gid, uid: uid), fid: fid, reply: Rumkdir.self).qid
        }
        return try client.call(Tmkdir(directoryFid: fid, name: name, mode: mode, gid: gid), fid: fid, reply: Rmkdir.self).qid
    }

    /// Makes symlink `name` -> `target` here (Tusymlink when `uid` is given and N >= 3, else Tsymlink).
    public func symlink(_ name: String, target: String, gid: UInt32 = Frame.noGID, uid: UInt32? = nil) throws(P9Error) -> QID {
        try checkLive()
        if let uid, client.supports(.tusymlink) {
            let m = Tusymlink(directoryFid: fid, name: name, target: target, gid: gid, uid: uid)
            return try client.call(m, fid: fid, reply: Rusymlink.self).qid
        }
        return try client.call(Tsymlink(directoryFid: fid, name: name, target: target, gid: gid), fid: fid, reply: Rsymlink.self).qid
    }

    /// Makes node `name` here; `mode` includes the S_IFMT bits (Tumknod when `uid` is given and N >= 3, else Tmknod).
    public func mknod(_ name: String, mode: UInt32, major: UInt32 = 0, minor: UInt32 = 0, gid: UInt32 = Frame.noGID,
                      uid: UInt32? = nil) throws(P9Error) -> QID {
        try checkLive()
        if let uid, client.supports(.tumknod) {
            let m = Tumknod(directoryFid: fid, name: name, mode: mode, major: major, minor: minor, gid: gid, uid: uid)
            return try client.call(m, fid: fid, reply: Rumknod.self).qid
        }
        let m = Tmknod(directoryFid: fid, name: name, mode: mode, major: major, minor: minor, gid: gid)
        return try client.call(m, fid: fid, reply: Rmknod.self).qid
    }

    /// Links `target` into this directory as `name` (Tlink).
    public func link(_ target: ClientFile, name: String) throws(P9Error) {
        try checkLive()
        _ = try client.call(Tlink(directoryFid: fid, fid: target.fid, name: name), fid: fid, reply: Rlink.self)
    }

    /// Treadlink.
    public func readlink() throws(P9Error) -> String {
        try checkLive()
        return try client.call(Treadlink(fid: fid), fid: fid, reply: Rreadlink.self).target
    }

    /// One Treaddir of at most `count` bytes (clamped to msize - 24); an empty result is the end.
    public func readdir(offset: UInt64, count: UInt32) throws(P9Error) -> [Dirent] {
        try checkLive()
        let n = UInt32(min(Int(count), client.payloadSize))
        return try client.call(Treaddir(fid: fid, offset: offset, count: n), fid: fid, reply: Rreaddir.self).entries
    }

    // MARK: Names

    /// Removes `name` from this directory: Tunlinkat at N >= 1; at N = 0 (diod refuses Tunlinkat) Twalk + Tremove.
    /// `flags` is 0 or AT_REMOVEDIR (0x200).
    public func unlinkAt(_ name: String, flags: UInt32) throws(P9Error) {
        try checkLive()
        if client.version >= 1 {
            do {
                _ = try client.call(Tunlinkat(directoryFid: fid, name: name, flags: flags), fid: fid, reply: Runlinkat.self)
                return
            } catch .remote(.notSupported) {
                // fall through to the plain path
            }
        }
        let (qids, child) = try walk([name])
        let isDir = qids.last?.type.contains(.directory) ?? false
        if flags & 0x200 != 0 && !isDir { try? child.clunk(); throw .remote(.notDirectory) }
        if flags & 0x200 == 0 && isDir { try? child.clunk(); throw .remote(.isDirectory) }
        try child.remove()
    }

    /// Renames `oldName` here to `newName` in `newDir`: Trenameat at N >= 1; at N = 0 Twalk + Trename + Tclunk.
    public func renameAt(_ oldName: String, to newDir: ClientFile, _ newName: String) throws(P9Error) {
        try checkLive()
        if client.version >= 1 {
            do {
                let m = Trenameat(oldDirectoryFid: fid, oldName: oldName, newDirectoryFid: newDir.fid, newName: newName)
                _ = try client.call(m, fid: fid, reply: Rrenameat.self)
                return
            } catch .remote(.notSupported) {
                // fall through to the plain path
            }
        }
        let (_, child) = try walk([oldName])
        var failure: P9Error?
        do { try child.rename(to: newDir, name: newName) } catch { failure = error }
        do { try child.clunk() } catch { if failure == nil { failure = error } }
        if let failure { throw failure }
    }

    /// Moves this file into `dir` as `name` (Trename).
    public func rename(to dir: ClientFile, name: String) throws(P9Error) {
        try checkLive()
        _ = try client.call(Trename(fid: fid, directoryFid: dir.fid, name: name), fid: fid, reply: Rrename.self)
    }

    // MARK: Misc

    /// Tstatfs.
    public func statfs() throws(P9Error) -> StatFS {
        try checkLive()
        return try client.call(Tstatfs(fid: fid), fid: fid, reply: Rstatfs.self).stat
    }

    /// Tfsync (datasync: fdatasync).
    public func fsync(datasync: Bool = false) throws(P9Error) {
        try checkLive()
        _ = try client.call(Tfsync(fid: fid, datasync: datasync ? 1 : 0), fid: fid, reply: Rfsync.self)
    }

    /// Tflushf at N >= 1; a no-op below.
    public func flushf() throws(P9Error) {
        try checkLive()
        guard client.supports(.tflushf) else { return }
        _ = try client.call(Tflushf(fid: fid), fid: fid, reply: Rflushf.self)
    }

    /// Tallocate (fallocate; `mode` takes FALLOC_FL_* bits), N >= 7.
    public func allocate(mode: UInt32, offset: UInt64, length: UInt64) throws(P9Error) {
        try checkLive()
        guard client.supports(.tallocate) else { throw .unsupported(.tallocate) }
        _ = try client.call(Tallocate(fid: fid, mode: mode, offset: offset, length: length), fid: fid, reply: Rallocate.self)
    }

    /// Tlock; returns the server's status (BLOCKED means retry).
    public func lock(type: LockType, flags: LockFlags = [], start: UInt64, length: UInt64, procID: UInt32,
                     clientID: String) throws(P9Error) -> LockStatus {
        try checkLive()
        let m = Tlock(fid: fid, type: type, flags: flags, start: start, length: length, procID: procID, clientID: clientID)
        return try client.call(m, fid: fid, reply: Rlock.self).status
    }

    /// Tgetlock; the reply describes a conflicting lock, or has type UNLCK when there is none.
    public func getLock(type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws(P9Error) -> Rgetlock {
        try checkLive()
        let m = Tgetlock(fid: fid, type: type, start: start, length: length, procID: procID, clientID: clientID)
        return try client.call(m, fid: fid, reply: Rgetlock.self)
    }

    /// Tclunk; the fid is freed even when the server reports an error.
    public func clunk() throws(P9Error) {
        try checkLive()
        defer { markReleased() }
        _ = try client.call(Tclunk(fid: fid), fid: fid, reply: Rclunk.self)
    }

    /// Tremove; the fid is freed even when the server reports an error.
    public func remove() throws(P9Error) {
        try checkLive()
        defer { markReleased() }
        _ = try client.call(Tremove(fid: fid), fid: fid, reply: Rremove.self)
    }
}
