import P9
import SystemPackage

extension Filesystem {
    /// The multi resolver: attributes for every component from one Tmultigetattr, no fids created.
    ///
    /// Returns nil when the path needs the step-by-step resolver (a symlink on the way).
    /// Without Tmultigetattr (plain servers) it falls back to multi-name Twalks (16 names each) + Tgetattr.
    func resolveMulti(_ components: [String], followFinal: Bool) throws -> Dentry? {
        var start = root
        var i = 0
        if options.cachesMetadata {
            // A trusted cache: the cached prefix costs nothing.
            while i < components.count, let c = start.children[components[i]] {
                if c.isSymlink && (i < components.count - 1 || followFinal) { return nil }
                touch(c)
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
        if !client.supports(.tmultigetattr) { return try resolveByWalk(base, fid, names) }
        if components.isEmpty {
            if options.mode == .shared { try refresh(root) }
            return root
        }
        // Shared revalidates the start too: a leading "" asks for its own attributes.
        let revalidateStart = options.mode == .shared
        let reply = try fid.multiGetAttr((revalidateStart ? [""] : []) + names)
        let skip = revalidateStart && !reply.isEmpty ? 1 : 0
        if skip == 1 { base.attr = reply[0].attr }
        let found = reply.count - skip
        var d = base
        for (k, name) in names.enumerated() {
            guard d.isDirectory else {
                if d.isSymlink { return nil }
                throw Errno.notDirectory
            }
            guard mayAccess(d, .execute) else { throw Errno.permissionDenied }
            guard k < found else {
                // The server stops at the first missing name.
                if let old = d.children[name] { markStale(old) }
                if options.cachesMetadata { d.negative.insert(name) }
                throw Errno.noSuchFileOrDirectory
            }
            let st = reply[skip + k]
            if let c = d.children[name], c.matches(st.qid) {
                c.attr = st.attr
                touch(c)
                d = c
            } else {
                // New, or replaced on the server (including an intermediate directory): a fid-less dentry.
                let c = Dentry(parent: d, name: name, qid: st.qid, attr: st.attr, fid: nil)
                insert(c, into: d)
                d = c
            }
            if d.isSymlink && (k < names.count - 1 || followFinal) { return nil }
        }
        return d
    }

    /// Plain-server fallback: one Twalk per 16 names, then Tgetattr of the result; the walked fid becomes the final dentry's.
    private func resolveByWalk(_ base: Dentry, _ fid: ClientFile, _ names: [String]) throws -> Dentry? {
        if names.isEmpty {
            try refresh(base)
            return base
        }
        guard let walked = try walkOrNil(fid, names) else {
            return nil  // which component is missing is unknown: let the step-by-step resolver find it
        }
        let got: (qid: QID, valid: AttrMask, attr: Attr)
        do {
            got = try walked.file.getAttr(.all)
        } catch {
            try? walked.file.clunk()
            throw error
        }
        var d = base
        for (k, name) in names.enumerated() {
            let q = walked.qids[k]
            let last = k == names.count - 1
            if let c = d.children[name], c.matches(q) {
                if last {
                    c.attr = got.attr
                    if c.fid == nil { c.fid = walked.file } else { try walked.file.clunk() }
                }
                touch(c)
                d = c
                continue
            }
            // Intermediate attributes are not fetched: a synthesized directory mode defers permission checks to the server.
            var attr = Attr()
            attr.mode = 0o040777
            let c = Dentry(parent: d, name: name, qid: q, attr: last ? got.attr : attr, fid: last ? walked.file : nil)
            insert(c, into: d)
            d = c
        }
        if d.isSymlink { return nil }
        return d
    }

    private func walkOrNil(_ fid: ClientFile, _ names: [String]) throws -> (qids: [QID], file: ClientFile)? {
        do {
            return try fid.walk(names)
        } catch {
            if errnoOf(error) == .noSuchFileOrDirectory { return nil }
            throw error
        }
    }
}
