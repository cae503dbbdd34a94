import Foundation
import Glibc
import P9
import Synchronization
import SystemPackage
import TestSupport
import XCTest

/// Soak: 4 threads of mixed operations on one connection to a goferd process. Afterwards the fid and tag
/// pools are back to their initial size, both processes' descriptors back to their count, and resident
/// memory grew less than 10 MB in each. SOAK_RPCS sets the count (`scripts/soak RPCS`; 1,000,000 for the
/// issue's figure); `swift test` runs 10,000.
final class SoakTests: XCTestCase {
    static let threads = 4

    func testMixedOperationsLeaveNothingBehind() throws {
        let total = ProcessInfo.processInfo.environment["SOAK_RPCS"].flatMap(Int.init) ?? 10_000
        var files: [String: [UInt8]] = [:]
        for i in 0..<8 { files["shared/f\(i)"] = patternBytes(64 << 10, seed: UInt64(i)) }
        for t in 0..<Self.threads { files["t\(t)/.keep"] = [] }
        let child = try GoferdChild(files: files)
        let client = try child.connect()
        let root = try client.attach()
        let initialFids = client.fidsInUse
        let initialTags = client.tagsInUse

        // Warm up (allocator caches, pools, the server's buffers), then take the baseline at a quiet point.
        let warmup = max(total / 10, 5_000)
        try run(client, root, until: warmup)
        let before = Figures(client, child)
        let start = monotonicNanoseconds()
        try run(client, root, until: before.rpcs + total)
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let after = Figures(client, child)
        let rpcs = after.rpcs - before.rpcs

        print(String(format: "soak: %d RPCs in %.1f s (%.0f RPC/s), %d threads, one connection", rpcs, seconds, Double(rpcs) / seconds, Self.threads))
        print("soak: fids in use \(before.fids) -> \(after.fids) (initial \(initialFids)), tags \(before.tags) -> \(after.tags)")
        print("soak: descriptors client \(before.clientFDs) -> \(after.clientFDs), goferd \(before.serverFDs) -> \(after.serverFDs)")
        print(String(format: "soak: resident memory client %.1f -> %.1f MB (%+.2f), goferd %.1f -> %.1f MB (%+.2f)",
                     mb(before.clientRSS), mb(after.clientRSS), mb(after.clientRSS - before.clientRSS),
                     mb(before.serverRSS), mb(after.serverRSS), mb(after.serverRSS - before.serverRSS)))
        XCTAssertGreaterThanOrEqual(rpcs, total)
        XCTAssertEqual(after.fids, initialFids, "the fid pool is back to its initial size")
        XCTAssertEqual(after.tags, initialTags, "the tag pool is back to its initial size")
        XCTAssertEqual(after.clientFDs, before.clientFDs, "client descriptors")
        XCTAssertEqual(after.serverFDs, before.serverFDs, "goferd descriptors")
        // ASan's quarantine and TSan's shadow keep freed memory resident: the bound holds for plain builds only.
        if dlsym(nil, "__asan_init") == nil && dlsym(nil, "__tsan_init") == nil {
            XCTAssertLessThan(after.clientRSS - before.clientRSS, 10 << 20, "client resident memory growth")
            XCTAssertLessThan(after.serverRSS - before.serverRSS, 10 << 20, "goferd resident memory growth")
        } else {
            print("soak: resident memory not checked under a sanitizer")
        }
        try root.clunk()
        client.close()
    }

    private func mb(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

    /// The counts compared before and after.
    struct Figures {
        let rpcs, fids, tags, clientFDs, serverFDs, clientRSS, serverRSS: Int
        init(_ client: Client, _ child: GoferdChild) {
            rpcs = client.stats.snapshot().total
            fids = client.fidsInUse
            tags = client.tagsInUse
            clientFDs = openDescriptorCount()
            serverFDs = child.descriptorCount
            clientRSS = residentMemory()
            serverRSS = child.residentBytes
        }
    }

    /// Runs the threads until the connection has carried `target` RPCs in all; every thread stops at a quiet point.
    private func run(_ client: Client, _ root: ClientFile, until target: Int) throws {
        let workers = (0..<Self.threads).map { t in
            Worker {
                var i = 0
                var buffer = [UInt8](repeating: 0, count: 16 << 10)
                let data = patternBytes(8 << 10, seed: UInt64(t))
                // The RPC count is read every 16 operations (a snapshot sums every message type).
                while i % 16 != 0 || client.stats.snapshot().total < target {
                    try Self.operation(i, thread: t, root, &buffer, data)
                    i += 1
                }
            }
        }
        for w in workers {
            XCTAssertTrue(w.join(timeout: 600))
            if let e = w.error { throw e }
        }
    }

    /// One of eight operations (1-6 RPCs each), chosen by `i`.
    private static func operation(_ i: Int, thread t: Int, _ root: ClientFile, _ buffer: inout [UInt8], _ data: [UInt8]) throws {
        let shared = "f\(i % 8)"
        switch i % 8 {
        case 0:
            let (_, f, _, _) = try root.walkGetAttr(["shared", shared])
            try f.clunk()
        case 1:
            let (_, f) = try root.walk(["shared", shared])
            if let fd = try f.open(.readOnly).hostFD { try fd.close() }
            _ = try buffer.withUnsafeMutableBytes { try f.read(into: $0, at: UInt64(i % 48) << 10) }
            try f.clunk()
        case 2:
            let (_, dir) = try root.walk(["t\(t)"])
            let name = "n\(i % 16)"
            if let fd = try dir.create(name, flags: .readWrite, mode: 0o644).hostFD { try fd.close() }
            _ = try data.withUnsafeBytes { try dir.write(from: $0, at: 0) }
            try dir.clunk()
            try root.walk(["t\(t)"]).file.unlinkAtAndClunk(name)
        case 3:
            _ = try root.statfs()
        case 4:
            let (_, dir) = try root.walk(["shared"])
            _ = try dir.open(.readOnly)
            _ = try dir.readdir(offset: 0, count: 4096)
            try dir.clunk()
        case 5:
            _ = try root.getAttr()
        case 6:
            let (_, f) = try root.walk(["shared", shared])
            try f.setAttr(.size, SetAttr(size: 64 << 10))
            try f.clunk()
        default:
            _ = try root.multiGetAttr(["", "shared", shared])
        }
    }
}

extension ClientFile {
    /// Tunlinkat of `name` here, then Tclunk of this fid.
    fileprivate func unlinkAtAndClunk(_ name: String) throws {
        defer { try? clunk() }
        try unlinkAt(name, flags: 0)
    }
}
