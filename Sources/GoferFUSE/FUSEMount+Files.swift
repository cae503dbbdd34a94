import CFuse3
import Glibc
import Gofer

/// Open files and directories: file handles are `OpenFile`s, directory handles listings taken at opendir.
extension FUSEMount {
    /// The open file behind a request's file handle.
    func file(_ fi: UnsafeMutablePointer<fuse_file_info>) throws(GoferError) -> OpenFile {
        guard let f = files[fi.pointee.fh] else { throw GoferError(.badFileDescriptor, "no open file \(fi.pointee.fh)") }
        return f.file
    }

    /// The open(2) flags the filesystem takes from a FUSE open.
    static func openFlags(_ flags: Int32) -> Int32 { flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL) }

    /// Registers `file` as the request's file handle with the mode's cache flags.
    func register(_ file: OpenFile, node: UInt64, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        fi.pointee.fh = files.add(OpenNode(node: node, file: file))
        cfuse_set_open_flags(fi, caching.keepCache ? 1 : 0, 0, 0)
    }

    /// A reply the kernel did not take (the request was interrupted): the handle is closed again.
    func abandon(_ fi: UnsafeMutablePointer<fuse_file_info>) {
        if let f = files.remove(fi.pointee.fh) { try? f.file.close() }
    }

    func open(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            let f = try filesystem.open(try path(ino), flags: Self.openFlags(fi.pointee.flags))
            register(f, node: ino, fi)
            if fuse_reply_open(req, fi) != 0 { abandon(fi) }
        }
    }

    func create(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ name: String, _ mode: mode_t,
                _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            let p = try path(parent, name)
            let f = try filesystem.open(p, flags: Self.openFlags(fi.pointee.flags) | O_CREAT, mode: mode & 0o7777)
            let s: FileStat
            do throws(GoferError) { s = try f.stat() } catch {
                try? f.close()
                throw error
            }
            var e = entry(name, in: parent, s)
            register(f, node: e.ino, fi)
            if fuse_reply_create(req, &e, fi) != 0 { abandon(fi) }
        }
    }

    func read(_ req: fuse_req_t?, _ size: Int, _ offset: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            let f = try file(fi)
            let buffer = buffers.take(size)
            defer { buffers.put(buffer) }
            var done = 0
            // The kernel reads a short reply as the end of the file: fill it unless the file ends first.
            while done < size {
                let n = try f.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<size]), at: UInt64(offset) + UInt64(done))
                if n == 0 { break }
                done += n
            }
            fuse_reply_buf(req, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), done)
        }
    }

    func write(_ req: fuse_req_t?, _ buf: UnsafePointer<CChar>, _ size: Int, _ offset: off_t,
               _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            let f = try file(fi)
            let bytes = UnsafeRawBufferPointer(start: buf, count: size)
            var done = 0
            while done < size {
                let n = try f.write(from: UnsafeRawBufferPointer(rebasing: bytes[done..<size]), at: UInt64(offset) + UInt64(done))
                if n == 0 { throw GoferError(.ioError, "write made no progress") }
                done += n
            }
            fuse_reply_write(req, done)
        }
    }

    func release(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            try files.remove(fi.pointee.fh)?.file.close()
            fuse_reply_err(req, 0)
        }
    }

    func fsync(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            try file(fi).fsync()
            fuse_reply_err(req, 0)
        }
    }

    func opendir(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            let p = try path(ino)
            let listed = try filesystem.readdir(p)
            // Inode numbers of "." and "..": readdir(3) skips an entry whose inode number is 0.
            let here = try filesystem.lstat(p).ino
            let up = p == "/" ? here : (try? filesystem.lstat(p + "/..").ino) ?? here
            var entries: [(name: String, ino: UInt64, mode: UInt32)] = [(".", here, S_IFDIR), ("..", up, S_IFDIR)]
            entries.reserveCapacity(listed.count + 2)
            for e in listed {
                let mode: UInt32 = e.type.contains(.directory) ? S_IFDIR : e.type.contains(.symlink) ? S_IFLNK : S_IFREG
                entries.append((e.name, e.ino, mode))
            }
            fi.pointee.fh = directories.add(DirectorySnapshot(entries: entries))
            cfuse_set_open_flags(fi, caching.cacheDirectories ? 1 : 0, 0, caching.cacheDirectories ? 1 : 0)
            if fuse_reply_open(req, fi) != 0 { _ = directories.remove(fi.pointee.fh) }
        }
    }

    func readdir(_ req: fuse_req_t?, _ size: Int, _ offset: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            guard let dir = directories[fi.pointee.fh] else { throw GoferError(.badFileDescriptor, "no open directory") }
            let buffer = buffers.take(size)
            defer { buffers.put(buffer) }
            let base = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            var used = 0
            var i = Int(max(0, offset))
            while i < dir.entries.count {
                let e = dir.entries[i]
                var st = stat()
                st.st_ino = UInt(e.ino)
                st.st_mode = e.mode
                let need = fuse_add_direntry(req, base + used, size - used, e.name, &st, off_t(i + 1))
                if need > size - used { break }
                used += need
                i += 1
            }
            fuse_reply_buf(req, base, used)
        }
    }
}
