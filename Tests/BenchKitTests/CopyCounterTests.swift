import BenchKit
import BenchReport
import XCTest

/// The client's in-memory payload copies per op, as the report carries them (exact counts).
final class CopyCounterTests: XCTestCase {
    func testBufferedMultiBlockCopiesThePayloadScatterAndHostFDCopyNothing() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "seq-read,seq-write", "--mode", "shared",
                                           "--path", "hostfd,9p", "--blocks", "1,4", "--block-size", "4K",
                                           "--multiblock", "buffered,scatter", "--file-size", "64K",
                                           "--ops", "8", "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let results = try readReport(out.appending("report.json")).results
        XCTAssertEqual(results.count, 16)
        for r in results {
            let p = r.params
            let label = "\(r.scenario) \(p.text(.path)) blocks=\(p.int(.blocks)) \(p.text(.multiblock))"
            XCTAssertEqual(r.status, .ok, label)
            let buffered9P = p[.path] == .text("9p") && p[.blocks] == .int(4) && p[.multiblock] == .text("buffered")
            // One op moves one I/O unit (blocks x 4K); only the buffered multi-block 9P path copies it, once.
            XCTAssertEqual(r.bytesCopiedPerOp, buffered9P ? 4 * 4096 : 0, label)
        }
    }
}
