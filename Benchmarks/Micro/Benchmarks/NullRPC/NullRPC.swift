import Benchmark
import Foundation
import Glibc
import LocalGofer
import P9

// One Tgetattr round trip over a socketpair to an in-process goferd: the client call path's cost and allocations.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))
    let root = NSTemporaryDirectory() + "/swift-gofer-nullrpc-\(getpid())"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let server = Server(fileServer: try! LocalGofer(root: root))
    var sv: [Int32] = [-1, -1]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0)
    server.serve(fd: sv[1])
    let client = try! Client(transport: StreamTransport(fd: sv[0]))
    let file = try! client.attach()

    Benchmark("null RPC: Tgetattr over a socketpair") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try file.getAttr(.basic).qid) }
    }
}
