import SystemPackage

/// Splits a path of the filesystem into components; `.` dropped, `..` resolved lexically (never above the root).
///
/// `..` is resolved on the client because some servers let it escape the export (PROTOCOL.md §2).
func pathComponents(_ path: String) throws -> [String] {
    guard !path.isEmpty else { throw Errno.noSuchFileOrDirectory }
    var out: [String] = []
    // Bytes, not Characters: "/" separates names whatever follows it, as the kernel reads a path.
    for part in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
        let dot = UInt8(ascii: ".")
        if part.count == 1 && part.first == dot { continue }
        if part.count == 2 && part.first == dot && part.last == dot {
            if !out.isEmpty { out.removeLast() }
            continue
        }
        guard part.count <= 255 else { throw Errno.fileNameTooLong }
        out.append(String(Substring(part)))
    }
    return out
}

/// The number of leading slashes of `path` when the rest is what joining its `pathComponents` gives back (no empty,
/// `.` or `..` component, none longer than 255 bytes, at least one); nil otherwise.
func canonicalStart(_ path: String) -> Int? {
    var leading = 0
    var length = 0  // of the current component
    var dots = 0    // leading dots of the current component
    var first = true
    for b in path.utf8 {
        if b == UInt8(ascii: "/") {
            if first { leading += 1; continue }
            if length == 0 || dots == length && length <= 2 { return nil }
            length = 0
            dots = 0
            continue
        }
        first = false
        if b == UInt8(ascii: ".") && dots == length { dots += 1 }
        length += 1
        if length > 255 { return nil }
    }
    return length > 0 && !(dots == length && length <= 2) ? leading : nil
}

/// Splits a path into its parent's components and the final name (which must not be empty).
func parentAndName(_ path: String) throws -> (parent: [String], name: String) {
    var comps = try pathComponents(path)
    guard let name = comps.popLast() else { throw Errno.invalidArgument }
    return (comps, name)
}
