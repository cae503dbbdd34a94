import Foundation
import Gofer
import P9
import TestSupport
import XCTest

/// A real server over a temporary export, and helpers to count the RPCs of one filesystem call.
final class Fixture {
    enum Kind { case diod, goferd }
    /// How clients reach the server: the socket only, or shared-memory channels (diod refuses them: the socket).
    enum Transport { case socket, channel }
    let kind: Kind
    let transport: Transport
    let export: TemporaryDirectory
    private var diod: Diod?
    private var goferd: InProcessGoferd?
    private var stopServer: (() -> Void)?
    private var clients: [Client] = []

    init(_ kind: Kind, transport: Transport = .socket) throws {
        self.kind = kind
        self.transport = transport
        export = try TemporaryDirectory(prefix: "gofer-export")
        switch kind {
        case .diod:
            guard Diod.isInstalled else { throw XCTSkip("diod is not installed (run scripts/bootstrap)") }
            diod = try Diod(export: export.path)
        case .goferd:
            let g = try InProcessGoferd(export: export.path)
            goferd = g
            stopServer = { g.server.stop() }
        }
    }

    deinit {
        // Over channels, every call without a host FD went over one: some did.
        if transport == .channel && kind == .goferd { XCTAssertGreaterThan(clients.map(\.stats.channelRequests).reduce(0, +), 0) }
        clients.forEach { $0.close() }
        diod?.stop()
        stopServer?()
        export.remove()
    }

    /// A new connection to the server.
    func connect(maxVersion: UInt32 = 13) throws -> Client {
        let client: Client
        let channels = transport == .channel ? ClientOptions.defaultChannels : 0
        let options = ClientOptions(maxVersion: maxVersion, channels: channels)
        switch kind {
        case .diod:
            client = try Client(transport: try diod!.address.connect(), options: options)
        case .goferd:
            client = try Client(transport: try goferd!.connect(), options: options)
        }
        XCTAssertEqual(client.channelCount, kind == .goferd && maxVersion >= 8 ? channels : 0)
        clients.append(client)
        return client
    }

    /// The aname this server wants.
    var aname: String { kind == .diod ? export.path : "" }

    /// A filesystem on a fresh connection.
    func filesystem(_ options: FilesystemOptions) throws -> Filesystem {
        try Filesystem(client: try connect(), options: options, aname: aname)
    }

    /// Makes the directories of `path` and a file at its end, directly in the export.
    func makePath(_ path: String, contents: [UInt8] = Array("x".utf8)) throws {
        try export.write(path, contents)
    }

    /// Replaces the file at `path` directly in the export with a new inode (create, then rename over).
    func replace(_ path: String) throws {
        let tmp = export.appending(path + ".new")
        try Data("y".utf8).write(to: URL(fileURLWithPath: tmp))
        XCTAssertEqual(Foundation.rename(tmp, export.appending(path)), 0)
    }
}

/// Message types sent while `body` runs.
func rpcs<T>(_ fs: Filesystem, _ body: () throws -> T) rethrows -> (result: T, types: [MessageType]) {
    try rpcsOn(fs.client, body)
}

/// Message types sent on `client` while `body` runs.
func rpcsOn<T>(_ client: Client, _ body: () throws -> T) rethrows -> (result: T, types: [MessageType]) {
    client.stats.startTrace()
    let result: T
    do {
        result = try body()
    } catch {
        _ = client.stats.stopTrace()
        throw error
    }
    return (result, client.stats.stopTrace().map(\.type))
}

/// Names of the message types, for readable assertion messages.
func names(_ types: [MessageType]) -> [String] { types.map(\.description) }

/// The state a path is in when its stat is measured (DESIGN.md's RPC model columns).
enum StatState: String, CaseIterable { case cold, warm, replaced }

/// Builds d1/d2/.../f (depth components) in the export and returns the path.
func deepPath(_ depth: Int) -> String {
    (1..<depth).map { "d\($0)" }.joined(separator: "/") + (depth > 1 ? "/" : "") + "f"
}

/// RPC types of one stat of a depth-N path in `state`; the state is prepared outside the measured call.
func statRPCs(_ fx: Fixture, _ options: FilesystemOptions, depth: Int, state: StatState) throws -> [MessageType] {
    let path = deepPath(depth)
    if (try? fx.export.read(path)) == nil { try fx.makePath(path) }
    let fs = try fx.filesystem(options)
    defer { fs.release() }
    if state != .cold { _ = try fs.stat(path) }
    if state == .replaced {
        try fx.replace(path)
    }
    let before = try fx.export.read(path)
    let (st, types) = try rpcs(fs) { try fs.stat(path) }
    XCTAssertEqual(st.size, UInt64(before.count))
    return types
}
