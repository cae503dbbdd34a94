import Glibc
import CShims
import SystemPackage

/// A reply encoded at the start of the request's frame, plus an optional host FD to donate (owned: closed once
/// sent) or, for a spliced Rread, the payload waiting in a pipe.
struct EncodedReply {
    var length: Int
    var fd: FileDescriptor?
    var spliced = 0
    var pipe: SplicePipe?
}

/// Decodes bodies and encodes replies over one request's frame.
struct RequestCodec {
    let request: RequestFrame
    let msize: Int

    var tag: Tag { request.tag }

    /// Decodes the body as `M`; a short body is a malformed frame. Trailing bytes are ignored.
    func decode<M: Message>(_: M.Type) throws -> M {
        var d = WireDecoder(base: request.base + Frame.headerSize, count: request.size - Frame.headerSize)
        do { return try M(from: &d) } catch { throw MalformedFrame(reason: error.description) }
    }

    /// Encodes `message` as the reply, taking `fd`; one that would not fit in msize becomes EMSGSIZE (and `fd` is closed).
    func reply<M: Message>(_ message: M, fd: FileDescriptor? = nil) throws -> EncodedReply {
        var e = WireEncoder(base: request.base, capacity: min(request.capacity, msize))
        do {
            return EncodedReply(length: try Frame.encode(message, tag: tag, into: &e), fd: fd)
        } catch {
            try? fd?.close()
            throw Errno.messageTooLong
        }
    }
}

extension ServerConnection {
    /// The file a fid names, or EBADF.
    func file(_ fid: FID) throws -> any ServerFile {
        try session.withLock { s throws -> any ServerFile in
            guard let f = s.fids[fid] else { throw Errno.badFileDescriptor }
            return f
        }
    }

    /// Fails with EBADF when `newFid` is taken by another file (walking in place, newFid == fid, is fine).
    func checkFree(_ newFid: FID, from fid: FID) throws {
        guard newFid != fid else { return }
        let taken = session.withLock { $0.fids[newFid] != nil }
        if taken || newFid == FID.none { throw Errno.badFileDescriptor }
    }

    /// Binds `fid` to `file`; a fid taken meanwhile by another request is refused (the new file is released).
    func bind(_ fid: FID, _ file: any ServerFile, replacing old: FID? = nil) throws {
        let previous = try session.withLock { s throws -> (any ServerFile)? in
            if let existing = s.fids[fid], fid != old {
                _ = existing
                throw Errno.badFileDescriptor
            }
            return s.fids.updateValue(file, forKey: fid)
        }
        previous?.clunk()
    }

    /// Unbinds `fid`, returning its file, or EBADF.
    func unbind(_ fid: FID) throws -> any ServerFile {
        try session.withLock { s throws -> any ServerFile in
            guard let f = s.fids.removeValue(forKey: fid) else { throw Errno.badFileDescriptor }
            return f
        }
    }

    private var readOnly: Bool { server.options.readOnly }

    /// Routes one request to the file server and encodes its reply.
    func dispatch(_ request: RequestFrame, version: UInt32) throws -> EncodedReply {
        let msize = self.msize.load(ordering: .relaxed)
        let c = RequestCodec(request: request, msize: msize)
        let context = RequestContext(version: version, donateFDs: donate)
        guard let type = MessageType(rawValue: request.type) else { throw Errno(rawValue: ENOSYS) }
        switch type {
        case .tattach:
            let m = try c.decode(Tattach.self)
            guard m.afid == FID.none, m.fid != FID.none else { throw Errno.invalidArgument }
            try checkFree(m.fid, from: FID.none)
            let f = try server.fileServer.attach(aname: m.aname, uname: m.uname, nUname: m.nUname)
            let qid: QID
            do { qid = try f.getAttr(.basic).qid } catch { f.clunk(); throw error }
            try bindNew(m.fid, f)
            return try c.reply(Rattach(qid: qid))

        case .twalk:
            let m = try c.decode(Twalk.self)
            let f = try file(m.fid)
            try checkFree(m.newFid, from: m.fid)
            let (qids, newFile) = try f.walk(m.names)
            try bindWalked(m.newFid, newFile, from: m.fid)
            return try c.reply(Rwalk(qids: qids))

        case .twalkgetattr:
            let m = try c.decode(Twalkgetattr.self)
            let f = try file(m.fid)
            try checkFree(m.newFid, from: m.fid)
            let (qids, newFile, valid, attr) = try f.walkGetAttr(m.names)
            try bindWalked(m.newFid, newFile, from: m.fid)
            return try c.reply(Rwalkgetattr(valid: valid, attr: attr, qids: qids))

        case .tmultigetattr:
            let m = try c.decode(Tmultigetattr.self)
            if m.names.dropFirst(m.names.first == "" ? 1 : 0).contains(where: { !validName($0) }) {
                throw Errno.invalidArgument
            }
            return try c.reply(Rmultigetattr(stats: try file(m.fid).multiGetAttr(m.names)))

        case .tgetattr:
            let m = try c.decode(Tgetattr.self)
            let (qid, valid, attr) = try file(m.fid).getAttr(m.requestMask)
            return try c.reply(Rgetattr(valid: valid, qid: qid, attr: attr))

        case .tsetattr:
            let m = try c.decode(Tsetattr.self)
            let f = try file(m.fid)
            if readOnly { throw Errno.readOnlyFileSystem }
            try f.setAttr(m.valid, m.attr)
            return try c.reply(Rsetattr())

        case .tsetattrclunk:
            let m = try c.decode(Tsetattrclunk.self)
            let f = try unbind(m.fid)
            defer { f.clunk() }
            if readOnly { throw Errno.readOnlyFileSystem }
            try f.setAttr(m.valid, m.attr)
            return try c.reply(Rsetattrclunk())

        case .tstatfs:
            let m = try c.decode(Tstatfs.self)
            return try c.reply(Rstatfs(stat: try file(m.fid).statFS()))

        case .tlopen:
            let m = try c.decode(Tlopen.self)
            let f = try file(m.fid)
            if readOnly && (m.flags.accessMode == .writeOnly || m.flags.accessMode == .readWrite || m.flags.contains(.truncate)) {
                throw Errno.readOnlyFileSystem
            }
            let r = try f.open(m.flags, context: context)
            return try c.reply(Rlopen(qid: r.qid, ioUnit: r.ioUnit), fd: r.hostFD)

        case .tlcreate:
            let m = try c.decode(Tlcreate.self)
            let r = try create(m.fid, m.name, m.flags, m.mode, uid: nil, gid: m.gid, context)
            return try c.reply(Rlcreate(qid: r.qid, ioUnit: r.ioUnit), fd: r.hostFD)

        case .tucreate:
            let m = try c.decode(Tucreate.self)
            let r = try create(m.fid, m.name, m.flags, m.mode, uid: m.uid, gid: m.gid, context)
            return try c.reply(Rucreate(qid: r.qid, ioUnit: r.ioUnit), fd: r.hostFD)

        case .tmkdir:
            let m = try c.decode(Tmkdir.self)
            return try c.reply(Rmkdir(qid: try mutable(m.directoryFid).mkdir(m.name, mode: m.mode, uid: nil, gid: m.gid)))

        case .tumkdir:
            let m = try c.decode(Tumkdir.self)
            return try c.reply(Rumkdir(qid: try mutable(m.directoryFid).mkdir(m.name, mode: m.mode, uid: m.uid, gid: m.gid)))

        case .tsymlink:
            let m = try c.decode(Tsymlink.self)
            let qid = try mutable(m.directoryFid).symlink(m.name, target: m.target, uid: nil, gid: m.gid)
            return try c.reply(Rsymlink(qid: qid))

        case .tusymlink:
            let m = try c.decode(Tusymlink.self)
            let qid = try mutable(m.directoryFid).symlink(m.name, target: m.target, uid: m.uid, gid: m.gid)
            return try c.reply(Rusymlink(qid: qid))

        case .tmknod:
            let m = try c.decode(Tmknod.self)
            let qid = try mutable(m.directoryFid).mknod(m.name, mode: m.mode, major: m.major, minor: m.minor, uid: nil, gid: m.gid)
            return try c.reply(Rmknod(qid: qid))

        case .tumknod:
            let m = try c.decode(Tumknod.self)
            let qid = try mutable(m.directoryFid).mknod(m.name, mode: m.mode, major: m.major, minor: m.minor, uid: m.uid, gid: m.gid)
            return try c.reply(Rumknod(qid: qid))

        case .tlink:
            let m = try c.decode(Tlink.self)
            let dir = try mutable(m.directoryFid)
            try dir.link(try file(m.fid), name: m.name)
            return try c.reply(Rlink())

        case .trename:
            let m = try c.decode(Trename.self)
            let f = try mutable(m.fid)
            try f.rename(to: try file(m.directoryFid), name: m.name)
            return try c.reply(Rrename())

        case .trenameat:
            let m = try c.decode(Trenameat.self)
            let old = try mutable(m.oldDirectoryFid)
            try old.renameAt(m.oldName, to: try file(m.newDirectoryFid), m.newName)
            return try c.reply(Rrenameat())

        case .tunlinkat:
            let m = try c.decode(Tunlinkat.self)
            try mutable(m.directoryFid).unlinkAt(m.name, flags: m.flags)
            return try c.reply(Runlinkat())

        case .tremove:
            let m = try c.decode(Tremove.self)
            let f = try unbind(m.fid)
            defer { f.clunk() }
            if readOnly { throw Errno.readOnlyFileSystem }
            try f.remove()
            return try c.reply(Rremove())

        case .tclunk:
            let m = try c.decode(Tclunk.self)
            let f = try unbind(m.fid)
            defer { f.clunk() }
            // A Txattrcreate fid sets its attribute now; the fid is gone either way.
            if let x = f as? XattrWriteFile { try x.commit() }
            return try c.reply(Rclunk())

        case .txattrwalk:
            let m = try c.decode(Txattrwalk.self)
            let f = try file(m.fid)
            try checkFree(m.newFid, from: m.fid)
            let x = try XattrReadFile.reading(m.name, of: f)
            try bindWalked(m.newFid, x, from: m.fid)
            return try c.reply(Rxattrwalk(size: UInt64(x.bytes.count)))

        case .txattrcreate:
            // The fid becomes the attribute's write fid (9P2000.L): Twrite the value, Tclunk commits.
            let m = try c.decode(Txattrcreate.self)
            let f = try mutable(m.fid)
            let writer = try XattrWriteFile(target: f, name: m.name, size: m.attrSize, flags: m.flags)
            // Swapped in place, not clunked: the writer keeps the file until its own clunk.
            try session.withLock { s throws in
                guard s.fids[m.fid] === f else { throw Errno.badFileDescriptor }
                s.fids[m.fid] = writer
            }
            return try c.reply(Rxattrcreate())

        case .tgetxattr:
            let m = try c.decode(Tgetxattr.self)
            let value = try file(m.fid).getXattr(m.name)
            if m.size != 0 && UInt64(value.count) > m.size { throw Errno(rawValue: ERANGE) }
            return try c.reply(Rgetxattr(value: value))

        case .tsetxattr:
            let m = try c.decode(Tsetxattr.self)
            try mutable(m.fid).setXattr(m.name, value: m.value, flags: m.flags)
            return try c.reply(Rsetxattr())

        case .tlistxattr:
            let m = try c.decode(Tlistxattr.self)
            let names = try file(m.fid).listXattr()
            let total = names.reduce(0) { $0 + $1.utf8.count + 1 }
            if m.size != 0 && UInt64(total) > m.size { throw Errno(rawValue: ERANGE) }
            return try c.reply(Rlistxattr(names: names))

        case .tremovexattr:
            let m = try c.decode(Tremovexattr.self)
            try mutable(m.fid).removeXattr(m.name)
            return try c.reply(Rremovexattr())

        case .treadlink:
            let m = try c.decode(Treadlink.self)
            return try c.reply(Rreadlink(target: try file(m.fid).readlink()))

        case .treaddir:
            let m = try c.decode(Treaddir.self)
            let count = min(Int(m.count), msize - Rread.headerSize)
            let entries = try file(m.fid).readdir(offset: m.offset, count: count, context: context)
            return try c.reply(Rreaddir.packing(entries, count: UInt32(max(0, count))).message)

        case .tread:
            let m = try c.decode(Tread.self)
            let f = try file(m.fid)
            // Clamp to what fits in one reply (PROTOCOL §1: gVisor does not, and kills its client).
            let count = max(0, min(Int(m.count), msize - Rread.headerSize))
            let base = request.base
            if count >= Self.spliceThreshold, let spliced = try splice(f, count: count, at: m.offset) {
                try Rread.encodeHeader(tag: c.tag, count: UInt32(spliced.count),
                                       into: UnsafeMutableRawBufferPointer(start: base, count: Rread.headerSize))
                return EncodedReply(length: Rread.headerSize, fd: nil, spliced: spliced.count, pipe: spliced.pipe)
            }
            let n = try f.read(into: UnsafeMutableRawBufferPointer(start: base + Rread.headerSize, count: count), at: m.offset)
            try Rread.encodeHeader(tag: c.tag, count: UInt32(n), into: UnsafeMutableRawBufferPointer(start: base, count: Rread.headerSize))
            return EncodedReply(length: Rread.headerSize + n, fd: nil)

        case .twrite:
            let m = try c.decode(Twrite.self)
            let f = try mutable(m.fid)
            let n = try f.write(from: m.data, at: m.offset)
            return try c.reply(Rwrite(count: UInt32(n)))

        case .tfsync:
            let m = try c.decode(Tfsync.self)
            try file(m.fid).fsync(datasync: m.datasync != 0)
            return try c.reply(Rfsync())

        case .tflushf:
            let m = try c.decode(Tflushf.self)
            try file(m.fid).flushf()
            return try c.reply(Rflushf())

        case .tallocate:
            let m = try c.decode(Tallocate.self)
            try mutable(m.fid).allocate(mode: m.mode, offset: m.offset, length: m.length)
            return try c.reply(Rallocate())

        case .tlock:
            let m = try c.decode(Tlock.self)
            let status = try file(m.fid).lock(type: m.type, flags: m.flags, start: m.start, length: m.length,
                                              procID: m.procID, clientID: m.clientID)
            return try c.reply(Rlock(status: status))

        case .tgetlock:
            let m = try c.decode(Tgetlock.self)
            let r = try file(m.fid).getLock(type: m.type, start: m.start, length: m.length, procID: m.procID, clientID: m.clientID)
            return try c.reply(Rgetlock(type: r.type, start: r.start, length: r.length, procID: r.procID, clientID: r.clientID))

        case .tauth:
            // No authentication is configured: diod's answer, which diod's own clients read as "attach directly".
            _ = try c.decode(Tauth.self)
            throw Errno.noSuchFileOrDirectory

        case .tdonateroot:
            // A donated root can be opened for writing: a read-only server refuses (EROFS), as one without FD passing does.
            let m = try c.decode(Tdonateroot.self)
            let f = try mutable(m.fid)
            guard context.donateFDs else { throw Errno.notSupported }
            let r = try f.donateRoot()
            return try c.reply(Rdonateroot(qid: r.qid), fd: r.hostFD)

        default:
            // Tlconnect, Tchannel, Tbind, R messages sent as requests: not served, connection kept.
            throw Errno(rawValue: ENOSYS)
        }
    }

    /// Reads of at least this many bytes move file pages into the socket through a pipe instead of copying them.
    static let spliceThreshold = 32 << 10

    /// Splices up to `count` bytes of `f` at `offset` into a pipe of this connection (the reply's payload);
    /// nil when `f` has no descriptor to splice from or no pipe is large enough (the caller copies instead).
    private func splice(_ f: any ServerFile, count: Int, at offset: UInt64) throws -> (count: Int, pipe: SplicePipe)? {
        guard let source = f.readSource(), let pipe = pipes.take(count, at: offset) else { return nil }
        var position = Int64(bitPattern: offset)
        var n = 0
        while n < count {
            // Never waits on the pipe: it is sized for the whole payload, and a full one means fall back.
            let got = cshims_splice(source.rawValue, &position, pipe.writeEnd, count - n, 1)
            if got == 0 { break }  // end of file
            if got < 0 {
                let e = Errno(rawValue: errno)
                if n == 0 && (e == .invalidArgument || e == .resourceTemporarilyUnavailable) {
                    pipes.give(pipe)
                    return nil  // nothing spliced: read(into:at:) answers (or fails with the right errno)
                }
                if e == .resourceTemporarilyUnavailable { return nil }  // part of it in the pipe: drop the pipe, copy instead
                throw e  // the pipe may hold bytes: it is dropped, not reused
            }
            n += got
        }
        return (n, pipe)
    }

    /// The file for a mutating request, or EROFS on a read-only server.
    private func mutable(_ fid: FID) throws -> any ServerFile {
        let f = try file(fid)
        if readOnly { throw Errno.readOnlyFileSystem }
        return f
    }

    private func bindNew(_ fid: FID, _ f: any ServerFile) throws {
        do { try bind(fid, f) } catch { f.clunk(); throw error }
    }

    private func bindWalked(_ newFid: FID, _ f: any ServerFile, from fid: FID) throws {
        do { try bind(newFid, f, replacing: newFid == fid ? fid : nil) } catch { f.clunk(); throw error }
    }

    private func create(_ fid: FID, _ name: String, _ flags: OpenFlags, _ mode: UInt32, uid: UInt32?, gid: UInt32,
                        _ context: RequestContext) throws -> OpenedFile {
        let dir = try mutable(fid)
        let r = try dir.create(name, flags: flags, mode: mode, uid: uid, gid: gid, context: context)
        // The fid now names the new, open file (9P2000.L lcreate).
        do { try bind(fid, r.file, replacing: fid) } catch {
            r.file.clunk()
            try? r.opened.hostFD?.close()
            throw error
        }
        return r.opened
    }
}

/// A name Tmultigetattr accepts (gVisor's walk-name rule).
private func validName(_ name: String) -> Bool {
    !(name.isEmpty || name == "." || name == ".." || name.utf8.contains(where: { $0 == 0x2F || $0 == 0 }))
}
