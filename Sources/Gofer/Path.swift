import SystemPackage

/// Splits a path of the filesystem into components; `.` dropped, `..` resolved lexically (never above the root).
///
/// `..` is resolved on the client because some servers let it escape the export (PROTOCOL.md §2).
func pathComponents(_ path: String) throws -> [String] {
    guard !path.isEmpty else { throw Errno.noSuchFileOrDirectory }
    var out: [String] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        switch part {
        case ".": continue
        case "..": if !out.isEmpty { out.removeLast() }
        default:
            guard part.utf8.count <= 255 else { throw Errno.fileNameTooLong }
            out.append(String(part))
        }
    }
    return out
}

/// Splits a path into its parent's components and the final name (which must not be empty).
func parentAndName(_ path: String) throws -> (parent: [String], name: String) {
    var comps = try pathComponents(path)
    guard let name = comps.popLast() else { throw Errno.invalidArgument }
    return (comps, name)
}
