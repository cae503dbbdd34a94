import P9
import TestSupport
import XCTest

/// Scatter/gather I/O split into msize-sized Treads/Twrites, with iovecs cut where a run ends (against diod: msize 64K).
final class ClientScatterTests: XCTestCase {
    func testScatterReadAndGatherWriteAcrossPayloadRuns() throws {
        guard Diod.isInstalled else { throw XCTSkip("diod is not installed (run scripts/bootstrap)") }
        let dir = try TemporaryDirectory(prefix: "scatter")
        defer { dir.remove() }
        let data = patternBytes(200_000, seed: 4)
        try dir.write("f", data)
        let diod = try Diod(export: dir.path)
        defer { diod.stop() }
        let client = try Client(transport: try diod.address.connect())
        defer { client.close() }
        let file = try client.attach(aname: dir.path).walk(["f"]).file
        _ = try file.open(.readWrite)
        // Uneven buffers, one empty: 200,000 bytes in runs of 65,512 need 4 Treads.
        let sizes = [1, 0, 70_000, 99_999, 30_000]
        let buffers = sizes.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0, alignment: 8) }
        defer { buffers.forEach { $0.deallocate() } }
        let before = client.stats.snapshot()
        XCTAssertEqual(try file.read(into: buffers, at: 0), data.count)
        XCTAssertEqual((client.stats.snapshot() - before).count(.tread), 4)
        XCTAssertEqual(buffers.flatMap { Array($0) }, data)
        // Past EOF: short, stopping at the first short run.
        XCTAssertEqual(try file.read(into: buffers, at: 150_000), 50_000)
        // Gather write of new bytes, read back whole.
        let fresh = patternBytes(200_000, seed: 9)
        var off = 0
        for b in buffers { b.copyBytes(from: fresh[off..<off + b.count]); off += b.count }
        let w0 = client.stats.snapshot()
        XCTAssertEqual(try file.write(from: buffers.map { UnsafeRawBufferPointer($0) }, at: 0), fresh.count)
        XCTAssertEqual((client.stats.snapshot() - w0).count(.twrite), 4)
        try file.fsync()
        XCTAssertEqual(try dir.read("f"), fresh)
        try file.clunk()
    }
}
