import Foundation
import P9
import Synchronization
import TestSupport
import XCTest

/// Many threads on one connection to diod: every reply reaches its own caller.
final class DiodConcurrencyTests: XCTestCase {
    func testEightThreadsOfGetattrOnOneConnection() throws {
        try XCTSkipUnless(Diod.isInstalled, "diod is not installed at \(Diod.path)")
        let threads = 8, calls = 2_000
        let dir = try TemporaryDirectory(prefix: "diod-concurrency")
        defer { dir.remove() }
        for i in 0..<threads { try dir.write("f\(i)", [UInt8](repeating: UInt8(i), count: i + 1)) }
        let diod = try Diod(export: dir.path, listen: .unix)
        defer { diod.stop() }
        let client = try Client(transport: try diod.address.connect())
        defer { client.close() }
        let root = try client.attach(aname: dir.path)
        let files = try (0..<threads).map { try root.walk(["f\($0)"]) }
        XCTAssertEqual(Set(files.map { $0.qids[0].path }).count, threads, "distinct files have distinct qids")
        let before = client.stats.snapshot()

        let mismatches = Atomic<Int>(0)
        let failures = Locked<[String]>([])
        let workers = (0..<threads).map { i in
            TestThread {
                let (qids, file) = files[i]
                for _ in 0..<calls {
                    do {
                        let a = try file.getAttr([.mode, .size])
                        if a.qid != qids[0] || a.attr.size != UInt64(i + 1) { mismatches.add(1, ordering: .relaxed) }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
        }
        for w in workers { XCTAssertTrue(w.join(timeout: 120), "a worker hung") }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(mismatches.load(ordering: .relaxed), 0, "a reply reached the wrong caller")
        XCTAssertEqual((client.stats.snapshot() - before).byType, [.tgetattr: threads * calls])
        XCTAssertEqual(client.tagsInUse, 0)
        for (_, f) in files { try f.clunk() }
        try root.clunk()
        XCTAssertEqual(client.fidsInUse, 0)
    }
}
