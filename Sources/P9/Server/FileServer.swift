import Glibc
import SystemPackage

/// What a `Server` tells a `FileServer` about the request it is serving.
public struct RequestContext: Sendable {
    /// The negotiated extension version N (0 for plain 9P2000.L).
    public var version: UInt32
    /// True when a host FD may be donated with this reply (unix transport and donation enabled).
    public var donateFDs: Bool

    /// Creates a context.
    public init(version: UInt32, donateFDs: Bool) { self.version = version; self.donateFDs = donateFDs }
}

/// The backend a `Server` dispatches 9P requests to (gVisor `p9.Attacher`).
///
/// Errors are reported by throwing `Errno`; any other error is answered as EIO.
public protocol FileServer: Sendable {
    /// Tattach: returns the file `aname` names ("" and "/" mean the root).
    func attach(aname: String, uname: String, nUname: UInt32) throws -> any ServerFile
}

/// One file a fid refers to (gVisor `p9.File`). The server keeps one per fid; clones are separate objects.
///
/// Calls on one file may arrive concurrently from pipelined requests; implementations guard their state.
/// Resources are released in `clunk()` or, at the latest, when the object is deinitialised.
public protocol ServerFile: AnyObject, Sendable {
    /// Twalk: all-or-nothing; `names` empty clones. Returns one QID per name and the new file.
    func walk(_ names: [String]) throws -> (qids: [QID], file: any ServerFile)
    /// Twalkgetattr: a walk plus the attributes of the final file (of `self` for an empty walk).
    func walkGetAttr(_ names: [String]) throws -> (qids: [QID], file: any ServerFile, valid: AttrMask, attr: Attr)
    /// Tmultigetattr (PROTOCOL §4.3): stats along `names` without creating a file.
    func multiGetAttr(_ names: [String]) throws -> [FullStat]
    /// Tgetattr.
    func getAttr(_ mask: AttrMask) throws -> (qid: QID, valid: AttrMask, attr: Attr)
    /// Tsetattr.
    func setAttr(_ valid: SetAttrMask, _ attr: SetAttr) throws
    /// Tstatfs.
    func statFS() throws -> StatFS
    /// Tlopen: opens this file; a `hostFD` in the result passes to the server, which sends it and then closes it.
    func open(_ flags: OpenFlags, context: RequestContext) throws -> OpenedFile
    /// Tlcreate/Tucreate: creates `name` in this directory; the returned file replaces this one in the fid
    /// and a `hostFD` passes to the server as with `open`.
    func create(_ name: String, flags: OpenFlags, mode: UInt32, uid: UInt32?, gid: UInt32,
                context: RequestContext) throws -> (file: any ServerFile, opened: OpenedFile)
    /// Tmkdir/Tumkdir.
    func mkdir(_ name: String, mode: UInt32, uid: UInt32?, gid: UInt32) throws -> QID
    /// Tsymlink/Tusymlink.
    func symlink(_ name: String, target: String, uid: UInt32?, gid: UInt32) throws -> QID
    /// Tmknod/Tumknod (`mode` includes the S_IFMT bits).
    func mknod(_ name: String, mode: UInt32, major: UInt32, minor: UInt32, uid: UInt32?, gid: UInt32) throws -> QID
    /// Tlink: a new name in this directory for `target`.
    func link(_ target: any ServerFile, name: String) throws
    /// Trename: moves this file into `directory` as `name`.
    func rename(to directory: any ServerFile, name: String) throws
    /// Trenameat: renames `oldName` in this directory to `newName` in `newDirectory`.
    func renameAt(_ oldName: String, to newDirectory: any ServerFile, _ newName: String) throws
    /// Tunlinkat: removes `name` from this directory (`flags` 0 or AT_REMOVEDIR 0x200).
    func unlinkAt(_ name: String, flags: UInt32) throws
    /// Tremove: removes this file (the server clunks the fid afterwards either way).
    func remove() throws
    /// Treadlink.
    func readlink() throws -> String
    /// Treaddir: entries after cookie `offset` whose encoded size fits in `count` bytes.
    func readdir(offset: UInt64, count: Int, context: RequestContext) throws -> [Dirent]
    /// Tread into `buffer` (already clamped to msize) from `offset`; returns bytes read, 0 at EOF.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int
    /// Twrite of `buffer` at `offset`; returns bytes written.
    func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws -> Int
    /// A host descriptor open for reading whose bytes are this file's data, open as long as this object lives:
    /// large Treads splice from it into the socket instead of calling `read(into:at:)` (no copy). nil: none.
    func readSource() -> FileDescriptor?
    /// Tfsync.
    func fsync(datasync: Bool) throws
    /// Tflushf: what close(2) would flush.
    func flushf() throws
    /// Tallocate (fallocate(2) mode bits).
    func allocate(mode: UInt32, offset: UInt64, length: UInt64) throws
    /// Tlock.
    func lock(type: LockType, flags: LockFlags, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws -> LockStatus
    /// Tgetlock: the first conflicting lock, or `type` .unlock when none.
    func getLock(type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws
        -> (type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String)
    /// Tgetxattr, and the value a Txattrwalk fid reads: the value of extended attribute `name` (ENODATA when unset).
    func getXattr(_ name: String) throws -> [UInt8]
    /// Tsetxattr, and a Txattrcreate fid's commit at Tclunk (`flags` XATTR_CREATE 1, XATTR_REPLACE 2).
    func setXattr(_ name: String, value: [UInt8], flags: UInt32) throws
    /// Tlistxattr, and a Txattrwalk of the name "": the extended attribute names.
    func listXattr() throws -> [String]
    /// Tremovexattr, and the commit of a Txattrcreate fid of size 0 (diod's and Linux's removal).
    func removeXattr(_ name: String) throws
    /// Tdonateroot: an O_PATH descriptor of this directory, which the server sends and then closes.
    func donateRoot() throws -> OpenedFile
    /// Tclunk: releases resources now (the server drops its reference afterwards).
    func clunk()
}

/// ENOSYS, the answer for anything a file server does not implement.
let notImplemented = Errno(rawValue: ENOSYS)

/// Defaults, so a backend implements only what it serves; the rest answers ENOSYS.
extension ServerFile {
    /// Default: `walk` then `getAttr(.all)` on the new file.
    public func walkGetAttr(_ names: [String]) throws -> (qids: [QID], file: any ServerFile, valid: AttrMask, attr: Attr) {
        let (qids, file) = try walk(names)
        do {
            let (_, valid, attr) = try file.getAttr(.all)
            return (qids, file, valid, attr)
        } catch {
            file.clunk()
            throw error
        }
    }

    /// Default: one `walk` and `getAttr` per name, with the §4.3 stopping rules.
    public func multiGetAttr(_ names: [String]) throws -> [FullStat] {
        var stats: [FullStat] = []
        var rest = names[...]
        var current: any ServerFile = self
        if rest.first == "" {
            let (qid, valid, attr) = try getAttr(.all)
            stats.append(FullStat(qid: qid, valid: valid, attr: attr))
            rest = rest.dropFirst()
        }
        for name in rest {
            let next: any ServerFile
            do { next = try current.walk([name]).file } catch let e as Errno where e == .noSuchFileOrDirectory { break }
            if current !== self { current.clunk() }
            current = next
            let (qid, valid, attr) = try next.getAttr(.all)
            stats.append(FullStat(qid: qid, valid: valid, attr: attr))
            if !qid.type.contains(.directory) { break }
        }
        if current !== self { current.clunk() }
        return stats
    }

    /// Default: ENOSYS.
    public func setAttr(_ valid: SetAttrMask, _ attr: SetAttr) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func statFS() throws -> StatFS { throw notImplemented }
    /// Default: ENOSYS.
    public func create(_ name: String, flags: OpenFlags, mode: UInt32, uid: UInt32?, gid: UInt32,
                       context: RequestContext) throws -> (file: any ServerFile, opened: OpenedFile) {
        throw notImplemented
    }
    /// Default: ENOSYS.
    public func mkdir(_ name: String, mode: UInt32, uid: UInt32?, gid: UInt32) throws -> QID { throw notImplemented }
    /// Default: ENOSYS.
    public func symlink(_ name: String, target: String, uid: UInt32?, gid: UInt32) throws -> QID { throw notImplemented }
    /// Default: ENOSYS.
    public func mknod(_ name: String, mode: UInt32, major: UInt32, minor: UInt32, uid: UInt32?, gid: UInt32) throws -> QID {
        throw notImplemented
    }
    /// Default: ENOSYS.
    public func link(_ target: any ServerFile, name: String) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func rename(to directory: any ServerFile, name: String) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func renameAt(_ oldName: String, to newDirectory: any ServerFile, _ newName: String) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func unlinkAt(_ name: String, flags: UInt32) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func remove() throws { throw notImplemented }
    /// Default: ENOSYS.
    public func readlink() throws -> String { throw notImplemented }
    /// Default: ENOSYS.
    public func readdir(offset: UInt64, count: Int, context: RequestContext) throws -> [Dirent] { throw notImplemented }
    /// Default: ENOSYS.
    public func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws -> Int { throw notImplemented }
    /// Default: none (every Tread calls `read(into:at:)`).
    public func readSource() -> FileDescriptor? { nil }
    /// Default: ENOSYS.
    public func fsync(datasync: Bool) throws { throw notImplemented }
    /// Default: nothing to flush.
    public func flushf() throws {}
    /// Default: ENOSYS.
    public func allocate(mode: UInt32, offset: UInt64, length: UInt64) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func lock(type: LockType, flags: LockFlags, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws -> LockStatus {
        throw notImplemented
    }
    /// Default: ENOSYS.
    public func getLock(type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) throws
        -> (type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) {
        throw notImplemented
    }
    /// Default: ENOSYS.
    public func getXattr(_ name: String) throws -> [UInt8] { throw notImplemented }
    /// Default: ENOSYS.
    public func setXattr(_ name: String, value: [UInt8], flags: UInt32) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func listXattr() throws -> [String] { throw notImplemented }
    /// Default: ENOSYS.
    public func removeXattr(_ name: String) throws { throw notImplemented }
    /// Default: ENOSYS.
    public func donateRoot() throws -> OpenedFile { throw notImplemented }
    /// Default: nothing to release early.
    public func clunk() {}
}
