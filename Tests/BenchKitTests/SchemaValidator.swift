/// Validates a JSON value against the subset of JSON Schema results/schema.json uses:
/// type, enum, const, required, properties, additionalProperties, items, minimum, anyOf, $ref to #/$defs.
struct SchemaValidator {
    let root: JSONValue

    /// Every violation, as "path: reason".
    func validate(_ value: JSONValue) -> [String] {
        var errors: [String] = []
        check(value, root, "$", &errors)
        return errors
    }

    private func typeName(_ v: JSONValue) -> [String] {
        switch v {
        case .null: return ["null"]
        case .bool: return ["boolean"]
        case .int: return ["integer", "number"]
        case let .double(d): return d == d.rounded() ? ["number", "integer"] : ["number"]
        case .string: return ["string"]
        case .array: return ["array"]
        case .object: return ["object"]
        }
    }

    private func check(_ v: JSONValue, _ schema: JSONValue, _ path: String, _ errors: inout [String]) {
        let known: Set<String> = ["$schema", "$id", "title", "description", "type", "enum", "const", "required", "properties",
                                  "additionalProperties", "items", "minimum", "anyOf", "$ref", "$defs"]
        for k in (schema.object ?? [:]).keys.sorted() where !known.contains(k) { errors.append("\(path): schema keyword \(k) not supported") }
        if let ref = schema["$ref"]?.string {
            guard ref.hasPrefix("#/$defs/"), let target = root["$defs"]?[String(ref.dropFirst(8))] else {
                errors.append("\(path): unresolvable $ref \(ref)"); return
            }
            check(v, target, path, &errors)
        }
        if let anyOf = schema["anyOf"]?.array {
            let ok = anyOf.contains { s in var e: [String] = []; check(v, s, path, &e); return e.isEmpty }
            if !ok { errors.append("\(path): matches none of anyOf") }
        }
        if let t = schema["type"] {
            let allowed = t.array?.compactMap(\.string) ?? [t.string ?? ""]
            if !typeName(v).contains(where: allowed.contains) {
                errors.append("\(path): type \(typeName(v)[0]) not in \(allowed)"); return
            }
        }
        if let c = schema["const"], c != v { errors.append("\(path): is not the constant \(c)") }
        if let e = schema["enum"]?.array, !e.contains(v) { errors.append("\(path): \(v) not in enum") }
        if let m = schema["minimum"]?.number, let n = v.number, n < m { errors.append("\(path): \(n) < minimum \(m)") }
        if let members = v.object {
            for r in schema["required"]?.array?.compactMap(\.string) ?? [] where v[r] == nil {
                errors.append("\(path): missing required \(r)")
            }
            let props = schema["properties"]
            for (k, value) in members.sorted(by: { $0.key < $1.key }) {
                if let p = props?[k] {
                    check(value, p, path + "." + k, &errors)
                } else if let extra = schema["additionalProperties"] {
                    if case .bool(false) = extra { errors.append("\(path): unexpected property \(k)") }
                    else if extra.object != nil { check(value, extra, path + "." + k, &errors) }
                }
            }
        }
        if let items = v.array, let s = schema["items"] {
            for (i, item) in items.enumerated() { check(item, s, "\(path)[\(i)]", &errors) }
        }
    }
}
