import Foundation

/// Errors of a bench run that are not usage errors (exit 1).
public enum BenchError: Error, CustomStringConvertible {
    case server(String)
    case fixture(String)
    case report(String)
    case skip(String)
    case interrupted
    /// Something already has the name a fixture folder was to get.
    case exists(String)
    /// The server could not be reached: the address (or server kind) and what failed ("connect: ...").
    case unreachable(String, String)

    public var description: String {
        switch self {
        case let .server(s): return "server: \(s)"
        case let .fixture(s): return "fixtures: \(s)"
        case let .report(s): return "report: \(s)"
        case let .skip(s): return s
        case .interrupted: return "interrupted (SIGINT or SIGTERM)"
        case let .exists(path): return "fixtures: \(path) exists already"
        case let .unreachable(address, cause): return "cannot reach \(address): \(cause)"
        }
    }
}

/// Writes `text` to standard error.
func writeStderr(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
