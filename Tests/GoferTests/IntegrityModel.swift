import Glibc
import SystemPackage

/// SplitMix64: a small seeded generator, so a sequence is reproduced exactly from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The bytes a write with `seed` carries (the same on the filesystem and in the model).
func integrityBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var g = SplitMix64(seed: seed)
    var out = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        var word = g.next()
        for _ in 0..<min(8, count - i) {
            out[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            i += 1
        }
    }
    return out
}

/// One step of a sequence. Handles are indices into the open list (the model's and the runner's agree).
enum IntegrityOp: CustomStringConvertible {
    case create(String, exclusive: Bool, truncate: Bool)
    case open(String, writable: Bool, truncate: Bool)
    case write(handle: Int, offset: Int, length: Int, layout: [Int], seed: UInt64)
    case read(handle: Int, offset: Int, length: Int, layout: [Int])
    case truncate(String, size: Int)
    case rename(String, to: String)
    case unlink(String)
    case mkdir(String)
    case rmdir(String)
    case fsync(handle: Int)
    case close(handle: Int)
    case dropCaches
    /// A second client (Shared only): open, write, close.
    case otherWrite(String, offset: Int, length: Int, seed: UInt64)
    /// A second client truncates by path.
    case otherTruncate(String, size: Int)
    /// A second client creates (or truncates) and fills a file.
    case otherCreate(String, length: Int, seed: UInt64)

    var description: String {
        switch self {
        case let .create(p, e, t): return "create \(p)\(e ? " O_EXCL" : "")\(t ? " O_TRUNC" : "")"
        case let .open(p, w, t): return "open \(p) \(w ? "O_RDWR" : "O_RDONLY")\(t ? " O_TRUNC" : "")"
        case let .write(h, o, l, layout, s): return "write #\(h) [\(o), +\(l)) blocks \(layout) seed \(s)"
        case let .read(h, o, l, layout): return "read #\(h) [\(o), +\(l)) blocks \(layout)"
        case let .truncate(p, s): return "truncate \(p) to \(s)"
        case let .rename(a, b): return "rename \(a) -> \(b)"
        case let .unlink(p): return "unlink \(p)"
        case let .mkdir(p): return "mkdir \(p)"
        case let .rmdir(p): return "rmdir \(p)"
        case let .fsync(h): return "fsync #\(h)"
        case let .close(h): return "close #\(h)"
        case .dropCaches: return "dropCaches"
        case let .otherWrite(p, o, l, s): return "other client: write \(p) [\(o), +\(l)) seed \(s)"
        case let .otherTruncate(p, s): return "other client: truncate \(p) to \(s)"
        case let .otherCreate(p, l, s): return "other client: create \(p) with \(l) bytes seed \(s)"
        }
    }
}

/// A file's contents: open handles keep theirs after an unlink or a rename over it.
final class ModelNode {
    var data: [UInt8] = []
}

/// An open file description in the model.
struct ModelHandle {
    /// The path it was opened by (for logs).
    let path: String
    let node: ModelNode
    let readable: Bool
    let writable: Bool
}

/// What the export should hold: files (by path) and directories; "" is the root. File names start with
/// "f" and directory names with "d", so a path's kind never changes.
struct IntegrityModel {
    var files: [String: ModelNode] = [:]
    var dirs: Set<String> = [""]
    var handles: [ModelHandle] = []

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// Whether anything lives below directory `dir`.
    func hasChildren(_ dir: String) -> Bool {
        let prefix = dir + "/"
        return files.keys.contains { $0.hasPrefix(prefix) } || dirs.contains { $0.hasPrefix(prefix) }
    }

    /// Names directly in directory `dir`.
    func children(_ dir: String) -> Set<String> {
        var out: Set<String> = []
        for p in Array(files.keys) + dirs where p != "" && Self.parent(p) == dir {
            out.insert(String(p.split(separator: "/").last!))
        }
        return out
    }

    /// `op` with the path each handle it names was opened by, for logs.
    func describe(_ op: IntegrityOp) -> String {
        switch op {
        case let .write(h, _, _, _, _), let .read(h, _, _, _), let .fsync(h), let .close(h):
            return "\(op) (opened as \(handles[h].path))"
        default:
            return "\(op)"
        }
    }

    /// Applies `op` when POSIX would let it succeed and returns nil; otherwise returns the errno and changes nothing.
    /// For a read, `readResult` receives the bytes expected.
    mutating func apply(_ op: IntegrityOp, readResult: inout [UInt8]) -> Errno? {
        switch op {
        case let .create(path, exclusive, truncate):
            guard dirs.contains(Self.parent(path)) else { return .noSuchFileOrDirectory }
            if let node = files[path] {
                if exclusive { return .fileExists }
                if truncate { node.data = [] }
                handles.append(ModelHandle(path: path, node: node, readable: true, writable: true))
            } else {
                let node = ModelNode()
                files[path] = node
                handles.append(ModelHandle(path: path, node: node, readable: true, writable: true))
            }
        case let .open(path, writable, truncate):
            guard let node = files[path] else { return .noSuchFileOrDirectory }
            if truncate && writable { node.data = [] }
            handles.append(ModelHandle(path: path, node: node, readable: true, writable: writable))
        case let .write(h, offset, length, _, seed):
            write(handles[h].node, offset: offset, bytes: integrityBytes(length, seed: seed))
        case let .read(h, offset, length, _):
            let data = handles[h].node.data
            readResult = offset >= data.count ? [] : Array(data[offset..<min(data.count, offset + length)])
        case let .truncate(path, size), let .otherTruncate(path, size):
            guard let node = files[path] else { return .noSuchFileOrDirectory }
            resize(node, size)
        case let .rename(from, to):
            return rename(from, to)
        case let .unlink(path):
            guard files.removeValue(forKey: path) != nil else { return .noSuchFileOrDirectory }
        case let .mkdir(path):
            guard dirs.contains(Self.parent(path)) else { return .noSuchFileOrDirectory }
            guard !dirs.contains(path) else { return .fileExists }
            dirs.insert(path)
        case let .rmdir(path):
            guard dirs.contains(path) else { return .noSuchFileOrDirectory }
            guard !hasChildren(path) else { return .directoryNotEmpty }
            dirs.remove(path)
        case .fsync, .dropCaches:
            break
        case let .close(h):
            handles.remove(at: h)
        case let .otherWrite(path, offset, length, seed):
            guard let node = files[path] else { return .noSuchFileOrDirectory }
            write(node, offset: offset, bytes: integrityBytes(length, seed: seed))
        case let .otherCreate(path, length, seed):
            guard dirs.contains(Self.parent(path)) else { return .noSuchFileOrDirectory }
            let node = files[path] ?? ModelNode()
            files[path] = node
            node.data = integrityBytes(length, seed: seed)
        }
        return nil
    }

    private func write(_ node: ModelNode, offset: Int, bytes: [UInt8]) {
        if node.data.count < offset + bytes.count { resize(node, offset + bytes.count) }
        node.data.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    private func resize(_ node: ModelNode, _ size: Int) {
        if size < node.data.count {
            node.data.removeSubrange(size...)
        } else {
            node.data += [UInt8](repeating: 0, count: size - node.data.count)
        }
    }

    private mutating func rename(_ from: String, _ to: String) -> Errno? {
        guard files[from] != nil || dirs.contains(from) else { return .noSuchFileOrDirectory }
        guard dirs.contains(Self.parent(to)) else { return .noSuchFileOrDirectory }
        if from == to { return nil }
        if let node = files[from] {
            files[from] = nil
            files[to] = node
            return nil
        }
        if to.hasPrefix(from + "/") { return .invalidArgument }
        if dirs.contains(to) {
            if hasChildren(to) { return .directoryNotEmpty }
            dirs.remove(to)
        }
        func moved(_ p: String) -> String { p == from ? to : to + p.dropFirst(from.count) }
        let inside = { (p: String) in p == from || p.hasPrefix(from + "/") }
        dirs = Set(dirs.map { inside($0) ? moved($0) : $0 })
        files = Dictionary(uniqueKeysWithValues: files.map { (inside($0.key) ? moved($0.key) : $0.key, $0.value) })
        return nil
    }
}

/// Draws operations over a small namespace (so names collide) with offsets and lengths around the page
/// size and the 9P payload size, where data paths split transfers.
struct IntegrityGenerator {
    var rng: SplitMix64
    /// Bytes of payload one Tread/Twrite carries.
    let payload: Int
    /// Whether a second client's changes may be drawn (Shared).
    let otherClient: Bool
    static let page = 4096
    static let maxSize = 96 * 1024

    init(seed: UInt64, payload: Int, otherClient: Bool) {
        rng = SplitMix64(seed: seed)
        self.payload = payload
        self.otherClient = otherClient
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    private mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
    private mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }

    /// A directory path: the root, an existing directory, or (rarely) one that may not exist.
    private mutating func directory(_ m: IntegrityModel) -> String {
        if chance(8) { return pick(["d0", "d1", "d0/d2", "d1/d0"]) }
        return pick(Array(m.dirs).sorted())
    }

    private mutating func filePath(_ m: IntegrityModel) -> String {
        if !m.files.isEmpty && chance(70) { return pick(m.files.keys.sorted()) }
        let dir = directory(m)
        let name = "f\(below(4))"
        return dir.isEmpty ? name : dir + "/" + name
    }

    private mutating func dirPath(_ m: IntegrityModel) -> String {
        let dir = directory(m)
        let name = "d\(below(3))"
        return dir.isEmpty ? name : dir + "/" + name
    }

    /// An offset near a page or payload boundary, or anywhere up to a little past the end.
    private mutating func offset(size: Int) -> Int {
        let o: Int
        switch below(4) {
        case 0: o = below(size + 2 * payload)
        case 1: o = Self.page * below(Self.maxSize / Self.page / 2) + below(7) - 3
        case 2: o = payload * below(4) + below(7) - 3
        default: o = max(0, size + below(2 * Self.page) - Self.page)
        }
        return min(max(0, o), Self.maxSize / 2)
    }

    private mutating func length() -> Int {
        let l: Int
        switch below(5) {
        case 0: l = 1 + below(16)
        case 1: l = Self.page + below(7) - 3
        case 2: l = payload + below(7) - 3
        case 3: l = 2 * payload + below(7) - 3
        default: l = 1 + below(3 * payload)
        }
        return max(1, min(l, Self.maxSize / 2))
    }

    /// One block, or the length split into 2...4 blocks.
    private mutating func layout(_ length: Int) -> [Int] {
        guard length >= 4, chance(50) else { return [length] }
        var cuts = Set((0..<(1 + below(3))).map { _ in 1 + below(length - 1) })
        cuts.insert(length)
        var previous = 0
        return cuts.sorted().map { c in defer { previous = c }; return c - previous }
    }

    mutating func next(_ m: IntegrityModel) -> IntegrityOp {
        let open = m.handles
        let roll = below(100)
        if !open.isEmpty && roll < 30 {
            let h = below(open.count)
            let off = offset(size: open[h].node.data.count)
            let len = length()
            if open[h].writable && chance(55) { return .write(handle: h, offset: off, length: len, layout: layout(len), seed: rng.next()) }
            return .read(handle: h, offset: off, length: len, layout: layout(len))
        }
        switch roll {
        case ..<42: return .create(filePath(m), exclusive: chance(20), truncate: chance(15))
        case ..<52: return .open(filePath(m), writable: chance(70), truncate: chance(10))
        case ..<58: return .truncate(filePath(m), size: chance(50) ? below(Self.maxSize / 2) : pick([0, Self.page, payload, Self.page + 1]))
        case ..<62: return chance(80) ? .rename(filePath(m), to: filePath(m)) : .rename(dirPath(m), to: dirPath(m))
        case ..<66: return .unlink(filePath(m))
        case ..<70: return .mkdir(dirPath(m))
        case ..<72: return .rmdir(dirPath(m))
        case ..<76: return open.isEmpty ? .dropCaches : .fsync(handle: below(open.count))
        case ..<84: return open.isEmpty ? .dropCaches : .close(handle: below(open.count))
        case ..<87: return .dropCaches
        default:
            guard otherClient else { return .create(filePath(m), exclusive: false, truncate: false) }
            let path = filePath(m)
            switch below(3) {
            case 0: return .otherWrite(path, offset: offset(size: m.files[path]?.data.count ?? 0), length: length(), seed: rng.next())
            case 1: return .otherTruncate(path, size: below(Self.maxSize / 2))
            default: return .otherCreate(path, length: below(3 * payload), seed: rng.next())
            }
        }
    }
}
