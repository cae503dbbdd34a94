import Foundation

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

/// A JSON object key of any name.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// Throws when the object `decoder` reads has a key outside `known` (a misspelt rule key is an error, not ignored).
func rejectUnknownKeys(_ decoder: any Decoder, _ known: [String]) throws {
    let c = try decoder.container(keyedBy: AnyCodingKey.self)
    for k in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(k.stringValue) {
        throw DecodingError.dataCorruptedError(forKey: k, in: c,
                                               debugDescription: "unknown key \"\(k.stringValue)\" (expected \(known.joined(separator: ", ")))")
    }
}
