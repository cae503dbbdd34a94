import P9

/// The kernel's nodeids and the paths they stand for: each node is a file (one per inode number while linked) with
/// the names it was found under, and the kernel's lookup count, which `forget` brings back to zero.
final class NodeTable: Sendable {
    /// A name in a directory, the directory named by its nodeid.
    struct Link: Hashable {
        var parent: UInt64
        var name: String
    }

    struct Node {
        var ino: UInt64
        /// Names the kernel found it under, most recent first (several for hard links; one for a directory).
        var links: [Link]
        var lookups: UInt64
    }

    struct State {
        var nodes: [UInt64: Node] = [:]
        var byIno: [UInt64: UInt64] = [:]
        var byLink: [Link: UInt64] = [:]
        var next: UInt64 = 2
        let rootIno: UInt64

        func path(_ id: UInt64, depth: Int = 0) -> String? {
            if id == NodeTable.rootID { return "/" }
            guard depth < 4096, let node = nodes[id] else { return nil }
            for link in node.links {
                if let p = path(link.parent, depth: depth + 1) { return NodeTable.join(p, link.name) }
            }
            return nil
        }

        mutating func unlink(_ link: Link) {
            guard let id = byLink.removeValue(forKey: link), var node = nodes[id] else { return }
            node.links.removeAll { $0 == link }
            // A file no name leads to any more: a new file that reuses its inode number gets a new nodeid.
            if node.links.isEmpty, byIno[node.ino] == id { byIno[node.ino] = nil }
            nodes[id] = node
        }
    }

    /// The root's nodeid (FUSE_ROOT_ID).
    static let rootID: UInt64 = 1
    private let state: Locked<State>

    init(rootIno: UInt64) { state = Locked(State(rootIno: rootIno)) }

    static func join(_ parent: String, _ name: String) -> String { parent == "/" ? "/" + name : parent + "/" + name }

    /// The path of `id` in the filesystem, nil once no known name leads to it.
    func path(_ id: UInt64) -> String? { state.withLock { $0.path(id) } }

    /// The path of `name` in directory `parent`.
    func path(_ parent: UInt64, _ name: String) -> String? {
        state.withLock { s in s.path(parent).map { Self.join($0, name) } }
    }

    /// A lookup the kernel counts: `name` in `parent` is the file `ino`; returns its nodeid.
    func found(_ name: String, in parent: UInt64, ino: UInt64, isDirectory: Bool) -> UInt64 {
        state.withLock { s in
            if ino == s.rootIno && isDirectory { return Self.rootID }
            let link = Link(parent: parent, name: name)
            if let old = s.byLink[link], let n = s.nodes[old], n.ino != ino { s.unlink(link) }
            if let id = s.byIno[ino], var node = s.nodes[id] {
                node.lookups += 1
                if node.links.first != link {
                    if isDirectory {
                        for l in node.links where s.byLink[l] == id { s.byLink[l] = nil }
                        node.links = [link]
                    } else {
                        node.links.removeAll { $0 == link }
                        node.links.insert(link, at: 0)
                    }
                }
                s.nodes[id] = node
                s.byLink[link] = id
                return id
            }
            let id = s.next
            s.next += 1
            s.nodes[id] = Node(ino: ino, links: [link], lookups: 1)
            s.byIno[ino] = id
            s.byLink[link] = id
            return id
        }
    }

    /// The kernel dropped `count` lookups of `id`; at zero the node is gone.
    func forget(_ id: UInt64, count: UInt64) {
        guard id != Self.rootID else { return }
        state.withLock { s in
            guard var node = s.nodes[id] else { return }
            node.lookups = node.lookups > count ? node.lookups - count : 0
            if node.lookups > 0 { s.nodes[id] = node; return }
            s.nodes[id] = nil
            if s.byIno[node.ino] == id { s.byIno[node.ino] = nil }
            for l in node.links where s.byLink[l] == id { s.byLink[l] = nil }
        }
    }

    /// `name` in `parent` was removed.
    func removed(_ name: String, in parent: UInt64) {
        state.withLock { $0.unlink(Link(parent: parent, name: name)) }
    }

    /// `name` in `parent` was renamed to `newName` in `newParent` (replacing whatever was there).
    func renamed(_ name: String, in parent: UInt64, to newName: String, in newParent: UInt64) {
        state.withLock { s in
            let from = Link(parent: parent, name: name), to = Link(parent: newParent, name: newName)
            guard from != to else { return }
            s.unlink(to)
            guard let id = s.byLink.removeValue(forKey: from), var node = s.nodes[id] else { return }
            node.links = node.links.map { $0 == from ? to : $0 }
            s.nodes[id] = node
            s.byLink[to] = id
        }
    }

    /// Nodes the kernel holds (the root excluded).
    var count: Int { state.withLock { $0.nodes.count } }
}
