#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A report or rule file that cannot be read or written.
public struct ReportError: Error, CustomStringConvertible {
    /// What went wrong, naming the file.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { "report: \(message)" }
}

/// The files `bench run` writes: report.json, report.csv, report.svg, and on request the dashboard exports
/// report.bmf.json (Bencher Metric Format) and report.gab.json (github-action-benchmark's custom JSON).
public enum ReportFormat: String, CaseIterable, Sendable {
    case json, csv, svg, bmf, gab

    /// What a run writes without `--format`.
    public static let defaults: [ReportFormat] = [.json, .csv, .svg]

    /// The file's name in the output folder.
    public var fileName: String {
        switch self {
        case .json, .csv, .svg: return "report." + rawValue
        case .bmf, .gab: return "report." + rawValue + ".json"
        }
    }
}

extension Report {
    /// Reads a report.json; the error names the file and the place that does not decode.
    public init(contentsOf path: String) throws(ReportError) {
        self = try decodeJSONFile(Report.self, at: path)
    }

    /// Decodes a report.json text.
    public init(jsonData data: Data) throws(ReportError) {
        self = try decodeJSON(Report.self, from: data, source: "report")
    }

    /// The report.json text: sorted keys, pretty printed, a final newline.
    public func jsonData() throws -> Data {
        var data = try reportEncoder().encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes the formats asked for into `dir` atomically (temp file + rename); returns the paths written.
    public func write(to dir: String, formats: [ReportFormat]) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var paths: [String] = []
        for f in formats {
            let data: Data
            switch f {
            case .json: data = try jsonData()
            case .csv: data = Data(CSVReport.render(self).utf8)
            case .svg: data = Data(Plot.render(self).utf8)
            case .bmf: data = try BencherMetricFormat.data(self)
            case .gab: data = try GitHubActionBenchmarkFormat.data(self)
            }
            let path = dir + "/" + f.fileName
            try writeAtomically(data, to: path)
            paths.append(path)
        }
        return paths
    }
}

/// Writes `data` to a temporary file beside `path`, then renames it over `path`.
public func writeAtomically(_ data: Data, to path: String) throws(ReportError) {
    let tmp = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: data) else {
        throw ReportError("cannot write \(tmp): \(String(cString: strerror(errno)))")
    }
    guard rename(tmp, path) == 0 else {
        let e = errno
        unlink(tmp)
        throw ReportError("cannot rename \(tmp) to \(path): \(String(cString: strerror(e)))")
    }
}
