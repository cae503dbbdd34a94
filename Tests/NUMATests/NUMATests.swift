import NUMA
import XCTest

final class NUMATests: XCTestCase {
    func testNodeZeroExistsAndHasCPUs() throws {
        guard NUMA.isAvailable else {
            // The API must still answer, not fail.
            XCTAssertEqual(NUMA.nodes(), [])
            XCTAssertThrowsError(try NUMA.cpus(ofNode: 0)) { XCTAssertEqual($0 as? NUMAError, .unavailable) }
            throw XCTSkip("NUMA unavailable on this kernel: checked that the API reports it")
        }
        XCTAssertTrue(NUMA.nodes().contains(0))
        let cpus = try NUMA.cpus(ofNode: 0)
        XCTAssertFalse(cpus.isEmpty)
        XCTAssertEqual(cpus, cpus.sorted())
    }

    func testBogusNodeNamesTheNodesThatExist() throws {
        guard NUMA.isAvailable else { throw XCTSkip("NUMA unavailable on this kernel") }
        XCTAssertThrowsError(try NUMA.runCurrentThread(onNode: 4096)) { error in
            XCTAssertEqual(error as? NUMAError, .noSuchNode(requested: 4096, available: NUMA.nodes()))
            XCTAssertTrue("\(error)".contains("available nodes: 0"), "\(error)")
        }
        XCTAssertThrowsError(try NUMA.allocate(bytes: 4096, onNode: -1))
    }

    func testAllocateOnNodeZeroIsUsableAndThreadRuns() throws {
        guard NUMA.isAvailable else { throw XCTSkip("NUMA unavailable on this kernel") }
        let buf = try NUMA.allocate(bytes: 1 << 20, onNode: 0)
        defer { NUMA.free(buf) }
        XCTAssertEqual(buf.count, 1 << 20)
        buf.storeBytes(of: 0xAB, toByteOffset: buf.count - 1, as: UInt8.self)
        XCTAssertEqual(buf[buf.count - 1], 0xAB)
        try NUMA.runCurrentThread(onNode: 0)
    }

    func testAffinityRoundTripsThroughAMask() throws {
        guard NUMA.isAvailable else {
            XCTAssertThrowsError(try NUMA.affinity()) { XCTAssertEqual($0 as? NUMAError, .unavailable) }
            throw XCTSkip("NUMA unavailable on this kernel: checked that the API reports it")
        }
        let saved = try NUMA.affinity()
        XCTAssertFalse(saved.isEmpty)
        defer { XCTAssertNoThrow(try NUMA.setAffinity(saved)) }
        let first = try XCTUnwrap(saved.first)
        XCTAssertEqual(try CPUMask(cpus: [first, -1, 1 << 20]).cpus, [first], "numbers outside the mask are left out")
        try NUMA.setAffinity([first])
        XCTAssertEqual(try NUMA.affinity(), [first])
        try NUMA.setAffinity(saved)
        XCTAssertEqual(try NUMA.affinity(), saved)
        XCTAssertThrowsError(try NUMA.setAffinity([])) { XCTAssertEqual(($0 as? NUMAError).map { "\($0)" }?.contains("numa_sched_setaffinity"), true) }
    }
}
