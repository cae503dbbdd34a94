import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// The package root (three levels above this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs `bench run` with `args` (quiet, into a fresh folder) through BenchKit; returns the outcome and the folder.
/// The machine's limits are measured only when `limits` is true (they take a second or so).
func benchRun(_ args: [String], limits: Bool = false,
              configure: (BenchRunner) -> Void = { _ in }) throws -> (RunOutcome, TemporaryDirectory) {
    let out = try TemporaryDirectory(prefix: "bench-out")
    var options = try RunOptions.parse(args + ["--quiet", "--out", out.path] + (limits ? [] : ["--no-limits"]))
    options.argv = ["bench"] + args
    let runner = BenchRunner(options: options)
    configure(runner)
    return (runner.run(), out)
}

/// The usage error `bench run` with `args` stops with (nil when they parse).
func usageError(_ args: [String]) -> String? {
    do { _ = try RunOptions.parse(args); return nil } catch { return error.message }
}

/// The report.json at `path`, through the decoder `bench check`, `compare` and `plot` use.
func readReport(_ path: String) throws -> Report { try Report(contentsOf: path) }

/// The schema violations of the JSON file at `path` (results/schema.json).
func schemaViolations(_ path: String) throws -> [String] {
    SchemaValidator(root: try JSONValue(contentsOf: packageRoot + "/results/schema.json")).validate(try JSONValue(contentsOf: path))
}

/// The results of `report` for `scenario` whose params contain `params`.
func results(_ report: Report, _ scenario: String, _ params: [ParamKey: ParamValue] = [:]) -> [ResultRecord] {
    report.results.filter { r in r.scenario == scenario && params.allSatisfy { r.params[$0.key] == $0.value } }
}

/// Applies `change` to the results of `report` that `matches`.
func doctor(_ report: Report, where matches: (ResultRecord) -> Bool, _ change: (inout ResultRecord) -> Void) -> Report {
    var out = report
    for i in out.results.indices where matches(out.results[i]) { change(&out.results[i]) }
    return out
}

/// Writes `report` as report.json text into `dir`.
func write(_ report: Report, _ dir: TemporaryDirectory, _ name: String) throws -> String {
    let path = dir.appending(name)
    try report.jsonData().write(to: URL(fileURLWithPath: path))
    return path
}

/// Writes `thresholds` as a rule file into `dir`.
func write(_ thresholds: Thresholds, _ dir: TemporaryDirectory, _ name: String) throws -> String {
    let path = dir.appending(name)
    try JSONEncoder().encode(thresholds).write(to: URL(fileURLWithPath: path))
    return path
}
