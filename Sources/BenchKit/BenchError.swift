import Foundation

/// Errors of a bench run that are not usage errors (exit 1).
public enum BenchError: Error, CustomStringConvertible {
    case server(String)
    case fixture(String)
    case report(String)
    case skip(String)
    case interrupted

    public var description: String {
        switch self {
        case let .server(s): return "server: \(s)"
        case let .fixture(s): return "fixtures: \(s)"
        case let .report(s): return "report: \(s)"
        case let .skip(s): return s
        case .interrupted: return "interrupted (SIGINT or SIGTERM)"
        }
    }
}

/// Writes `text` to standard error.
func writeStderr(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
