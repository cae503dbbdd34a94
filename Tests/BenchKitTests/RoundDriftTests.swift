import BenchReport
import XCTest

/// The drift every result of a run shares between rounds, and the warnings that discount it.
final class RoundDriftTests: XCTestCase {
    /// 12 results over 5 rounds (one sample each) whose rounds ran at `factors` of their level; result 0 also has
    /// `own` (its own deviation per round).
    private func run(factors: [Double], own: [Double] = [1, 1, 1, 1, 1]) -> [(opsPerS: [Double], rounds: [Int])] {
        (0..<12).map { i in
            let level = Double(1000 * (i + 1))
            let samples = factors.indices.map { r in level * factors[r] * (i == 0 ? own[r] : 1) }
            return (samples, Array(factors.indices))
        }
    }

    func testTheSharedDriftOfEachRoundIsEstimatedFromEveryResult() throws {
        let drift = try XCTUnwrap(Statistics.roundDrift(run(factors: [1.0, 0.6, 1.0, 1.1, 1.0]), rounds: 5))
        XCTAssertEqual(drift.count, 5)
        for (got, want) in zip(drift, [1.0, 0.6, 1.0, 1.1, 1.0]) { XCTAssertEqual(got, want, accuracy: 1e-9) }
    }

    func testNoEstimateWithOneRoundOrTooFewResults() {
        XCTAssertNil(Statistics.roundDrift(run(factors: [1.0, 0.6, 1.0, 1.1, 1.0]), rounds: 1))
        XCTAssertNil(Statistics.roundDrift(Array(run(factors: [1.0, 0.6, 1.0, 1.1, 1.0]).prefix(Statistics.driftMinimumResults - 1)),
                                           rounds: 5))
        XCTAssertNotNil(Statistics.roundDrift(Array(run(factors: [1.0, 0.6, 1.0, 1.1, 1.0]).prefix(Statistics.driftMinimumResults)),
                                              rounds: 5))
    }

    func testASharedDriftNoLongerWarnsButARowThatMovedOnItsOwnStillDoes() throws {
        let factors = [1.0, 0.6, 1.0, 1.1, 1.0]
        // Result 0 also fell to half in round 4 on its own.
        let results = run(factors: factors, own: [1, 1, 1, 0.5, 1])
        let drift = try XCTUnwrap(Statistics.roundDrift(results, rounds: 5))
        for (i, r) in results.enumerated() {
            XCTAssertFalse(Statistics.repetitionWarnings(opsPerS: r.opsPerS).isEmpty, "raw: range 1.83x, \(i)")
            let adjusted = zip(r.opsPerS, r.rounds).map { $0 / drift[$1] }
            let warnings = Statistics.repetitionWarnings(opsPerS: adjusted, driftRemoved: true)
            if i == 0 {
                XCTAssertEqual(warnings.count, 1, "its own 2x fall")
                XCTAssertTrue(warnings[0].hasPrefix("repetitions range 2.00x beyond the drift all results shared"), warnings[0])
            } else {
                XCTAssertEqual(warnings, [], "only the shared drift: \(i)")
            }
        }
    }
}
