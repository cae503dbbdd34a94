import BenchKit
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

func readJSON(_ path: String) throws -> JSON {
    try JSON.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
}

/// The results of `report` for `scenario` whose params contain `params`.
func results(_ report: JSON, _ scenario: String, _ params: [String: JSON] = [:]) -> [JSON] {
    (report["results"]?.array ?? []).filter { r in
        r["scenario"]?.string == scenario && params.allSatisfy { r["params"]?[$0.key] == $0.value }
    }
}

/// Replaces the value at `path` (object keys) in `json`.
func replacing(_ json: JSON, _ path: [String], with value: JSON) -> JSON {
    guard let key = path.first else { return value }
    guard case let .object(members) = json else { return json }
    return .object(members.map { k, v in k == key ? (k, replacing(v, Array(path.dropFirst()), with: value)) : (k, v) })
}

/// Applies `change` to the results of `report` that `matches`.
func doctor(_ report: JSON, where matches: (JSON) -> Bool, _ change: (JSON) -> JSON) -> JSON {
    replacing(report, ["results"], with: .array((report["results"]?.array ?? []).map { matches($0) ? change($0) : $0 }))
}

func write(_ json: JSON, _ dir: TemporaryDirectory, _ name: String) throws -> String {
    let path = dir.appending(name)
    try Data(json.serialized().utf8).write(to: URL(fileURLWithPath: path))
    return path
}
