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

/// The files `bench run` writes: report.json, report.csv, report.svg.
public enum ReportFormat: String, CaseIterable, Sendable { case json, csv, svg }

/// The JSON encoder of report files: sorted keys, two-space pretty printing, slashes as they are.
func reportEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return e
}

/// Decodes a `T` from the JSON file at `path`; the error names the file and where in it decoding failed.
func decodeJSONFile<T: Decodable>(_ type: T.Type, at path: String) throws(ReportError) -> T {
    guard let data = FileManager.default.contents(atPath: path) else { throw ReportError("cannot read \(path)") }
    return try decodeJSON(type, from: data, source: path)
}

/// Decodes a `T` from JSON `data`; `source` names the data in errors.
func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, source: String) throws(ReportError) -> T {
    do { return try JSONDecoder().decode(type, from: data) } catch let e as DecodingError {
        throw ReportError("\(source): \(describe(e))")
    } catch {
        throw ReportError("\(source): \(error)")
    }
}

/// A decoding error in one line: where (`results[3].server.kind`) and what.
func describe(_ error: DecodingError) -> String {
    func at(_ path: [any CodingKey]) -> String {
        var out = ""
        for k in path {
            if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
        }
        return out.isEmpty ? "top level" : out
    }
    switch error {
    case let .keyNotFound(key, c): return "\(at(c.codingPath)): missing \"\(key.stringValue)\""
    case let .valueNotFound(type, c): return "\(at(c.codingPath)): expected \(type), found null"
    case let .typeMismatch(type, c): return "\(at(c.codingPath)): expected \(type)"
    case let .dataCorrupted(c):
        let underlying = c.underlyingError.map { " (\($0))" } ?? ""
        return "\(at(c.codingPath)): \(c.debugDescription)\(underlying)"
    @unknown default: return "\(error)"
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
            }
            let path = dir + "/report." + f.rawValue
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

extension KeyedEncodingContainer {
    /// Encodes `value`, or null when it is nil: a contract field is never left out.
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    /// Encodes `value`, or null when it is nil or not finite (JSON has no NaN).
    mutating func encodeNumber(_ value: Double?, forKey key: Key) throws {
        if let value, value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
