#if canImport(Glibc)
import Glibc
#endif
import P9
import SystemPackage

/// Fixtures made through 9P on a connection of their own, uncached: what another client of the server would do.
///
/// Plain messages only (Tmkdir, Tlcreate, Twrite, Tsetattr, Tsymlink, Tmknod), with the plain-server fallbacks
/// of `ClientFile` for unlink and rename (Twalk + Tremove, Twalk + Trename on diod). Its RPCs are counted on its
/// own connection, never on the measured client's.
final class NinePFixtureStore: FixtureStore {
    /// The fixtures' connection.
    let client: Client
    /// Its attach root.
    let root: ClientFile
    /// The identity it attaches as.
    private let uname: String?
    private let uid: UInt32?

    /// Attaches `client` (which the store then owns) to `aname`.
    init(client: Client, aname: String, uname: String?, uid: UInt32?) throws(P9Error) {
        self.client = client
        self.uname = uname
        self.uid = uid
        do { root = try client.attach(aname: aname, uname: uname, nUname: uid) } catch {
            client.close()
            throw error
        }
    }

    private func failure(_ what: String, _ path: String, _ error: any Error) -> BenchError {
        BenchError.fixture("\(what) \(path) through 9P: \(error)")
    }

    /// Runs `body` on a new fid of the folder `path` ("" is the attach root), clunked afterwards.
    private func inDirectory<T>(_ path: String, _ body: (ClientFile) throws -> T) throws -> T {
        let names = path.split(separator: "/").map(String.init)
        let dir: ClientFile
        do { dir = try root.walk(names).file } catch { throw failure("walk to", path.isEmpty ? "/" : path, error) }
        defer { try? dir.clunk() }
        return try body(dir)
    }

    func makeDirectory(_ path: String) throws {
        let (parent, name) = splitStorePath(path)
        try inDirectory(parent) { dir in
            do throws(P9Error) { _ = try dir.mkdir(name, mode: 0o755) } catch .remote(.fileExists) {
                throw BenchError.exists(path)
            } catch {
                throw failure("mkdir", path, error)
            }
        }
    }

    /// Creates and opens `name` in `dir` for writing (on a clone of `dir`, which then names the open file).
    private func create(_ name: String, in dir: ClientFile, path: String) throws -> ClientFile {
        let file: ClientFile
        do { file = try dir.walk([]).file } catch { throw failure("walk to", path, error) }
        do {
            let opened = try file.create(name, flags: .writeOnly, mode: 0o644)
            _ = opened.hostFD(keeping: false)  // a donated descriptor is not used: the data goes through Twrite
        } catch {
            try? file.clunk()
            throw failure("create", path, error)
        }
        return file
    }

    func makeFile(_ path: String, size: Int, fill: FixtureFill) throws {
        let (parent, name) = splitStorePath(path)
        try inDirectory(parent) { dir in
            if (try? dir.walk([name]).file.clunk()) != nil {
                do { try dir.unlinkAt(name, flags: 0) } catch { throw failure("unlink", path, error) }
            }
            let file = try create(name, in: dir, path: path)
            defer { try? file.clunk() }
            guard case let .pattern(seed) = fill else {
                guard size > 0 else { return }
                do { try file.setAttr(.size, SetAttr(size: UInt64(size))) } catch { throw failure("truncate", path, error) }
                return
            }
            try PatternGenerator.write(size: size, seed: seed) { piece, offset in
                let w: Int
                do { w = try file.write(from: piece, at: UInt64(offset)) } catch { throw failure("write", path, error) }
                guard w == piece.count else {
                    throw BenchError.fixture("write \(path) through 9P: \(w) of \(piece.count) bytes at offset \(offset)")
                }
            }
        }
    }

    func makeEmptyFiles(in directory: String, names: [String]) throws {
        try inDirectory(directory) { dir in
            // Tmknod makes a regular file in one RPC; a server that refuses it gets clone + Tlcreate + Tclunk.
            var mknod = true
            for (i, name) in names.enumerated() {
                if i % 256 == 255, interruptRequested.load(ordering: .relaxed) { throw BenchError.interrupted }
                if mknod {
                    do throws(P9Error) {
                        _ = try dir.mknod(name, mode: UInt32(S_IFREG) | 0o644)
                        continue
                    } catch .remote(.fileExists) {
                        throw BenchError.fixture("create \(directory)/\(name) through 9P: it exists")
                    } catch {
                        mknod = false
                    }
                }
                let file = try create(name, in: dir, path: directory + "/" + name)
                try? file.clunk()
            }
        }
    }

    func makeSymlink(_ path: String, target: String) throws {
        let (parent, name) = splitStorePath(path)
        try inDirectory(parent) { dir in
            do { _ = try dir.symlink(name, target: target) } catch { throw failure("symlink", path, error) }
        }
    }

    func replaceFile(_ path: String, byte: UInt8) throws {
        let (parent, name) = splitStorePath(path)
        try inDirectory(parent) { dir in
            let file = try create(name + ".new", in: dir, path: path + ".new")
            var b = byte
            let w: Int
            do { w = try withUnsafeBytes(of: &b) { (p) throws(P9Error) in try file.write(from: p, at: 0) } } catch {
                try? file.clunk()
                throw failure("write", path + ".new", error)
            }
            try? file.clunk()
            guard w == 1 else { throw BenchError.fixture("write \(path).new through 9P: nothing written") }
            do { try dir.renameAt(name + ".new", to: dir, name) } catch { throw failure("rename over", path, error) }
        }
    }

    func removeTree(_ path: String) throws {
        let (parent, name) = splitStorePath(path)
        try inDirectory(parent) { dir in try remove(name, in: dir, path: path) }
    }

    /// Removes the entry `name` of `dir`: a folder after everything in it.
    private func remove(_ name: String, in dir: ClientFile, path: String) throws {
        let (qids, child): ([QID], ClientFile)
        do throws(P9Error) { (qids, child) = try dir.walk([name]) } catch .remote(.noSuchFileOrDirectory) { return } catch {
            throw failure("walk to", path, error)
        }
        let isDirectory = qids.last?.type.contains(.directory) ?? false
        if isDirectory {
            defer { try? child.clunk() }
            for entry in try list(child, path: path) { try remove(entry, in: child, path: path + "/" + entry) }
        } else {
            try? child.clunk()
        }
        do throws(P9Error) { try dir.unlinkAt(name, flags: isDirectory ? UInt32(AT_REMOVEDIR) : 0) } catch .remote(.noSuchFileOrDirectory) {
            // gone already
        } catch {
            throw failure("remove", path, error)
        }
    }

    /// The names in the folder `dir` (without "." and ".."), read on an opened clone.
    private func list(_ dir: ClientFile, path: String) throws -> [String] {
        let opened: ClientFile
        do { opened = try dir.walk([]).file } catch { throw failure("walk to", path, error) }
        defer { try? opened.clunk() }
        var names: [String] = []
        do {
            _ = try opened.open(.readOnly).hostFD(keeping: false)
            var offset: UInt64 = 0
            while true {
                let batch = try opened.readdir(offset: offset, count: UInt32(min(client.payloadSize, 64 << 10)))
                guard let last = batch.last else { break }
                for e in batch where e.name != "." && e.name != ".." { names.append(e.name) }
                offset = last.offset
            }
        } catch {
            throw failure("list", path, error)
        }
        return names
    }

    /// Whether attaching `aname` reaches the folder `path` of this store (the same QID): a server that takes a path
    /// below its export as aname (goferd, diod) lets the measured connections attach at the scratch folder.
    func attach(_ aname: String, reaches path: String) -> Bool {
        guard let (qids, folder) = try? root.walk(path.split(separator: "/").map(String.init)) else { return false }
        try? folder.clunk()
        guard let target = qids.last, let attached = try? client.attach(aname: aname, uname: uname, nUname: uid) else { return false }
        defer { try? attached.clunk() }
        guard let got = try? attached.getAttr(.all) else { return false }
        return got.qid.path == target.path && got.qid.type == target.type
    }

    func close() {
        try? root.clunk()
        client.close()
    }
}
