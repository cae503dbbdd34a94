import P9
import SystemPackage

/// The multi resolver: attributes for every component from one Tmultigetattr and no fids created.
///
/// Its dentries may be fid-less; a fid is walked from the nearest ancestor holding one only when an operation
/// needs it. A path with a symlink on the way takes VFS2's step-by-step route, and so does every single-name step.
/// Without Tmultigetattr (plain servers) it walks multi-name Twalks (16 names each) + Tgetattr.
struct MultiResolver: Resolver {
    private let stepwise = VFS2Resolver()

    func resolve(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> Dentry {
        if let d = try resolveAtOnce(components, followFinal: followFinal, in: fs) { return d }
        return try stepwise.resolve(components, followFinal: followFinal, in: fs)
    }

    func child(_ name: String, of dir: Dentry, in fs: Filesystem) throws -> Dentry {
        try stepwise.child(name, of: dir, in: fs)
    }

    /// One Tmultigetattr for the whole path; nil when the path needs the step-by-step route (a symlink on the way).
    private func resolveAtOnce(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> Dentry? {
        var start = fs.root
        var i = 0
        if fs.options.cachesMetadata {
            // A trusted cache: the cached prefix costs nothing.
            while i < components.count, let c = start.children[components[i]] {
                if c.isSymlink && (i < components.count - 1 || followFinal) { return nil }
                fs.touch(c)
                start = c
                i += 1
            }
            if i == components.count { return start }
            if start.negative.contains(components[i]) { throw Errno.noSuchFileOrDirectory }
            guard start.isDirectory else { throw Errno.notDirectory }
        }
        // Start from the nearest ancestor holding a fid; the names between are walked again by the server.
        var base = start
        var prefix: [String] = []
        while base.fid == nil, let p = base.parent {
            prefix.append(base.name)
            base = p
        }
        let names: [String] = prefix.reversed() + Array(components[i...])
        guard let fid = base.fid else { throw Errno.badFileDescriptor }
        if !fs.client.supports(.tmultigetattr) { return try resolveByWalk(base, fid, names, in: fs) }
        if components.isEmpty {
            if fs.options.mode == .shared { try fs.refresh(fs.root) }
            return fs.root
        }
        // Shared revalidates the start too: a leading "" asks for its own attributes.
        let revalidateStart = fs.options.mode == .shared
        let asked = (revalidateStart ? [""] : []) + names
        let reply = try fs.rpc(base) { try fid.multiGetAttr(asked) }
        let skip = revalidateStart && !reply.isEmpty ? 1 : 0
        if skip == 1 { base.attr = reply[0].attr }
        let found = reply.count - skip
        var d = base
        for (k, name) in names.enumerated() {
            guard d.isDirectory else {
                if d.isSymlink { return nil }
                throw Errno.notDirectory
            }
            guard fs.mayAccess(d, .execute) else { throw Errno.permissionDenied }
            guard k < found else {
                // The server stops at the first missing name.
                if let old = d.children[name] { fs.markStale(old) }
                if fs.options.cachesMetadata { d.negative.insert(name) }
                throw Errno.noSuchFileOrDirectory
            }
            let st = reply[skip + k]
            if let c = d.children[name], c.matches(st.qid) {
                c.attr = st.attr
                fs.touch(c)
                d = c
            } else {
                // New, or replaced on the server (including an intermediate directory): a fid-less dentry.
                let c = Dentry(parent: d, name: name, qid: st.qid, attr: st.attr, fid: nil)
                fs.insert(c, into: d)
                d = c
            }
            if d.isSymlink && (k < names.count - 1 || followFinal) { return nil }
        }
        return d
    }

    /// Plain-server route: one Twalk per 16 names, then Tgetattr of the result; the walked fid becomes the final dentry's.
    private func resolveByWalk(_ base: Dentry, _ fid: ClientFile, _ names: [String], in fs: Filesystem) throws -> Dentry? {
        if names.isEmpty {
            try fs.refresh(base)
            return base
        }
        guard let walked = try fs.rpc(base, { try walkOrNil(fid, names) }) else {
            return nil  // which component is missing is unknown: let the step-by-step route find it
        }
        let got: (qid: QID, valid: AttrMask, attr: Attr)
        do {
            got = try fs.rpc(nil) { try walked.file.getAttr(.all) }
        } catch {
            try? fs.rpc(nil) { try walked.file.clunk() }
            throw error
        }
        var d = base
        for (k, name) in names.enumerated() {
            d = upsert(d, name, walked.qids[k], attr: k == names.count - 1 ? got.attr : nil, in: fs)
        }
        if d.fid == nil { d.fid = walked.file } else { try fs.rpc(nil) { try walked.file.clunk() } }
        if d.isSymlink { return nil }
        return d
    }

    /// A cold open of an existing file: Twalk for all but the last 16 names (or fewer), Twalkgetattr for the rest, and
    /// the new fid is opened as the handle (Tlopen): no Tmultigetattr and no clone, so a cold open costs two RPCs more
    /// than a cold stat at any depth up to 32. Nil (creation, a cached handle that serves, a directory): the usual route.
    func open(_ components: [String], _ request: OpenRequest, in fs: Filesystem) throws -> OpenFile? {
        guard !request.create, !components.isEmpty, fs.client.supports(.twalkgetattr) else { return nil }
        // A cached dentry whose handle serves this open: the usual route revalidates it (Shared) or trusts it.
        var start = fs.root
        var i = 0
        while i < components.count, let c = start.children[components[i]] {
            start = c
            i += 1
        }
        if i == components.count, let h = start.handle, !fs.options.specialRegularFiles,
           !request.read || h.readable, !request.write || h.writable {
            return nil
        }
        // Walk from the deepest cached dentry holding a fid when the cache is trusted, else from the root.
        var base = fs.root
        var names = components
        if fs.options.cachesMetadata {
            var d = fs.root
            for (k, name) in components.dropLast().enumerated() {
                guard let c = d.children[name] else { break }
                d = c
                if c.fid != nil {
                    base = c
                    names = Array(components[(k + 1)...])
                }
            }
        }
        guard var from = base.fid else { return nil }
        let lastPiece = names.count % Frame.maxWalkNames == 0 ? Frame.maxWalkNames : names.count % Frame.maxWalkNames
        var d = base
        let head = Array(names.dropLast(lastPiece))
        if !head.isEmpty {
            let start = from
            let w = try fs.rpc(base) { try start.walk(head) }
            for (k, name) in head.enumerated() { d = upsert(d, name, w.qids[k], attr: nil, in: fs) }
            if d.fid == nil { d.fid = w.file } else { try fs.rpc(nil) { try w.file.clunk() } }
            from = d.fid!
        }
        let tail = Array(names.suffix(lastPiece))
        let tailStart = from
        guard let r = try fs.rpc(d, { try walkGetAttrOrNil(tailStart, tail) }) else {
            return nil  // let the usual route say which component is missing (and cache the negative entry)
        }
        for (k, name) in tail.enumerated() {
            d = upsert(d, name, r.qids[k], attr: k == tail.count - 1 ? r.attr : nil, in: fs)
        }
        guard d.attr.isRegular, fs.mayAccess(d, request.access) else {
            try? fs.rpc(nil) { try r.file.clunk() }
            if d.attr.isRegular { throw Errno.permissionDenied }
            return nil  // directories, symlinks and special files take the usual route
        }
        do { try fs.flushPages(d) } catch { try? fs.rpc(nil) { try r.file.clunk() }; throw error }
        let handleReads = request.read || fs.cacheFillsNeedRead(request.write)
        let h: Handle
        do {
            h = try fs.rpc(d) { try Handle.open(r.file, read: handleReads, write: request.write, truncate: request.truncate,
                                useHostFD: fs.options.hostFDs, multiblock: fs.options.multiblock, cloned: true,
                                counters: fs.counters) }
        } catch where GoferError.errno(of: error) == .permissionDenied && handleReads != request.read {
            return nil  // a write-only file: the usual route retries with the access asked for
        }
        return fs.describe(d, handle: h, request)
    }

    /// The cached child `name` of `parent` if it is still `qid`, else a new fid-less dentry replacing it.
    ///
    /// Without `attr` (a walk returns none for intermediate names) a new dentry gets a synthesized directory
    /// mode: permission checks on it are left to the server.
    private func upsert(_ parent: Dentry, _ name: String, _ qid: QID, attr: Attr?, in fs: Filesystem) -> Dentry {
        if let c = parent.children[name], c.matches(qid) {
            if let attr { c.attr = attr }
            fs.touch(c)
            return c
        }
        var a = attr ?? Attr()
        if attr == nil { a.mode = 0o040777 }
        let c = Dentry(parent: parent, name: name, qid: qid, attr: a, fid: nil)
        fs.insert(c, into: parent)
        return c
    }

    private func walkOrNil(_ fid: ClientFile, _ names: [String]) throws -> (qids: [QID], file: ClientFile)? {
        do {
            return try fid.walk(names)
        } catch P9Error.remote(.noSuchFileOrDirectory) {
            return nil
        }
    }

    private func walkGetAttrOrNil(_ fid: ClientFile, _ names: [String]) throws -> (qids: [QID], file: ClientFile, valid: AttrMask, attr: Attr)? {
        do {
            return try fid.walkGetAttr(names)
        } catch P9Error.remote(.noSuchFileOrDirectory) {
            return nil
        }
    }
}
