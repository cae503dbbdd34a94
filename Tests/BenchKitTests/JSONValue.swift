import Foundation

/// Any JSON value, read with JSONDecoder: what the schema validator and the field checks see of report.json
/// (the typed `Report` would not tell a null field from a missing one).
enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Reads the JSON file at `path`.
    init(contentsOf path: String) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// The member `key` of an object (nil when absent or not an object).
    subscript(key: String) -> JSONValue? { object?[key] }

    /// The value at a dotted path ("throughput.mib_per_s.median").
    func at(path: String) -> JSONValue? {
        var v: JSONValue? = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) { v = v?[String(part)] }
        return v
    }

    var number: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    var string: String? { if case let .string(s) = self { return s } else { return nil } }
    var array: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }
    var object: [String: JSONValue]? { if case let .object(o) = self { return o } else { return nil } }

    /// The value without the members at `paths` (key paths as `keyPaths` names them).
    func removing(_ paths: Set<String>, at path: String = "$") -> JSONValue {
        switch self {
        case let .object(members):
            var kept: [String: JSONValue] = [:]
            for (k, x) in members {
                let p = path + "." + (path.hasSuffix(".rpcs_by_type") ? "<T>" : k)
                if !paths.contains(p) { kept[k] = x.removing(paths, at: p) }
            }
            return .object(kept)
        case let .array(items): return .array(items.map { $0.removing(paths, at: path + "[]") })
        default: return self
        }
    }

    /// The values at key path `path` (as `keyPaths` names it), one per array element on the way.
    func values(at path: String, from here: String = "$") -> [JSONValue] {
        if here == path { return [self] }
        switch self {
        case let .object(members):
            return members.flatMap { k, x in x.values(at: path, from: here + "." + (here.hasSuffix(".rpcs_by_type") ? "<T>" : k)) }
        case let .array(items): return items.flatMap { $0.values(at: path, from: here + "[]") }
        default: return []
        }
    }

    /// Every key path of objects in the value ("context.limits.placement", arrays as "[]", `rpcs_by_type` names as "<T>").
    var keyPaths: Set<String> {
        var out: Set<String> = []
        func walk(_ v: JSONValue, _ path: String) {
            switch v {
            case let .object(members):
                for (k, x) in members {
                    let p = path + "." + (path.hasSuffix(".rpcs_by_type") ? "<T>" : k)
                    out.insert(p)
                    walk(x, p)
                }
            case let .array(items): for x in items { walk(x, path + "[]") }
            default: break
            }
        }
        walk(self, "$")
        return out
    }

    var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return String(b)
        case let .int(i): return String(i)
        case let .double(d): return String(d)
        case let .string(s): return "\"\(s)\""
        case let .array(a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}
