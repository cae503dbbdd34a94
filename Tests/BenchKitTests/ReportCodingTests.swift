import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// report.json through Codable: the contract's keys, nulls and CSV stay those of the reports written before.
final class ReportCodingTests: XCTestCase {
    /// A report (and its CSV) written by the bench before reports were Codable: stat, seq-read and null-rpc,
    /// with skipped results, results that move no bytes and the JSON's own key order.
    static let golden = packageRoot + "/Tests/BenchKitTests/Golden/report-v1"

    /// The columns issues 14 (placement, vs limit, background time, CPU apart) and 15 (vs native) added after the
    /// golden report's, in order.
    static let addedColumns = ["background_ns_per_op", "vs_limit", "vs_limit_basis",
                               "cpu.client.user_s", "cpu.client.sys_s", "cpu.server.user_s", "cpu.server.sys_s", "vs_native"]
    /// The JSON fields issues 14 and 15 added: every one null in a re-encoded v1 report (`data` empty).
    static let addedKeyPaths: Set<String> = [
        "$.context.export_fs", "$.context.placement.client_cpus", "$.context.placement.server_cpus", "$.context.placement.pinning",
        "$.context.limits.socket_rtt_same_cpu_us", "$.context.limits.socket_rtt_cross_cpu_us", "$.context.limits.data",
        "$.results[].background_ns_per_op", "$.results[].vs_limit", "$.results[].vs_limit_basis",
        "$.results[].cpu.client", "$.results[].cpu.server", "$.results[].vs_native",
    ]

    func testGoldenReportDecodesAndRendersTheSameCSV() throws {
        let report = try readReport(Self.golden + ".json")
        XCTAssertEqual(report.results.count, 8 + 8 + 1)  // stat, seq-read, null-rpc
        XCTAssertEqual(report.results.filter { $0.status == .skipped }.count, 2, "vfs1 in exclusive")
        let csv = try String(contentsOfFile: Self.golden + ".csv", encoding: .utf8)
        // The golden CSV byte for byte, with the added columns at the end of every line (empty: v1 has no such values).
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[0] += "," + Self.addedColumns.joined(separator: ",")
        for i in 1..<lines.count where !lines[i].isEmpty { lines[i] += String(repeating: ",", count: Self.addedColumns.count) }
        XCTAssertEqual(CSVReport.render(report), lines.joined(separator: "\n"))
    }

    func testEncodingKeepsEveryKeyAndNullOfTheGoldenReport() throws {
        let before = try JSONValue(contentsOf: Self.golden + ".json")
        let data = try readReport(Self.golden + ".json").jsonData()
        let after = try JSONDecoder().decode(JSONValue.self, from: data)
        XCTAssertEqual(before.keyPaths.subtracting(after.keyPaths), [], "every key of the golden report is kept")
        XCTAssertEqual(after.keyPaths.subtracting(before.keyPaths), Self.addedKeyPaths, "and exactly the added ones are new")
        for path in Self.addedKeyPaths {
            let values = after.values(at: path)
            XCTAssertFalse(values.isEmpty, path)
            XCTAssertTrue(values.allSatisfy { $0 == (path.hasSuffix(".data") ? .array([]) : .null) }, "\(path): \(values)")
        }
        XCTAssertEqual(after.removing(Self.addedKeyPaths), before, "the same values (numbers compared as numbers)")
        XCTAssertEqual(after.at(path: "context.placement.cpu_node"), .null)
        XCTAssertEqual(after.at(path: "context.limits.placement"), .null)
        let skipped = try XCTUnwrap(after["results"]?.array?.first { $0["status"] == .string("skipped") })
        for k in ["rpcs_per_op", "throughput", "latency_ns", "cpu"] { XCTAssertEqual(skipped[k], .null, k) }
        let dir = try TemporaryDirectory(prefix: "bench-coding")
        defer { dir.remove() }
        let path = dir.appending("report.json")
        try data.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try schemaViolations(path), [])
        XCTAssertEqual(try readReport(path), try readReport(Self.golden + ".json"), "decode(encode(r)) == r")
    }

    func testReportsAreWrittenWithSortedKeys() throws {
        let text = String(decoding: try readReport(Self.golden + ".json").jsonData(), as: UTF8.self)
        let context = try XCTUnwrap(text.range(of: "\"context\"")), results = try XCTUnwrap(text.range(of: "\"results\""))
        let schema = try XCTUnwrap(text.range(of: "\"schema\""))
        XCTAssertTrue(context.lowerBound < results.lowerBound && results.lowerBound < schema.lowerBound)
        XCTAssertTrue(text.hasSuffix("}\n"))
    }

    func testEveryScenarioListsItsParamsInDeclarationOrder() {
        // A decoded report orders params by ParamKey; the run orders them as the scenario lists them: the same order.
        for s in ScenarioSpec.all {
            let positions = s.params.map { ParamKey.allCases.firstIndex(of: $0)! }
            XCTAssertEqual(positions, positions.sorted(), s.name)
        }
    }

    func testMalformedReportsNameThePlaceThatDoesNotDecode() throws {
        var text = try String(contentsOfFile: Self.golden + ".json", encoding: .utf8)
        text = text.replacingOccurrences(of: "\"status\": \"skipped\"", with: "\"status\": \"lost\"")
        XCTAssertThrowsError(try Report(jsonData: Data(text.utf8))) { error in
            XCTAssertTrue("\(error)".contains("results[2].status"), "\(error)")
        }
        let unknown = text.replacingOccurrences(of: "\"depth\": 3", with: "\"dpeth\": 3")
        XCTAssertThrowsError(try Report(jsonData: Data(unknown.utf8))) { error in
            XCTAssertTrue("\(error)".contains("unknown parameter \"dpeth\""), "\(error)")
        }
        XCTAssertThrowsError(try Report(jsonData: Data("{\"schema\": 1".utf8)))
        XCTAssertThrowsError(try Thresholds(jsonData: Data(#"{"rules": [{"name": "x", "metric": "ops", "max": "ten"}]}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("rules[0].max"), "\($0)")
        }
    }
}
