import SystemPackage

/// Why a 9P client call failed.
public enum P9Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered Rlerror with this errno.
    case remote(Errno)
    /// The connection is gone (peer closed, I/O error, or `Client.close()`); every later call fails too.
    case connectionClosed(String)
    /// The peer sent something 9P does not allow (wrong reply type, bad size, unknown tag).
    case protocolViolation(String)
    /// A message could not be encoded or decoded.
    case wire(WireError)
    /// The negotiated version does not enable this message and there is no fallback.
    case unsupported(MessageType)
    /// A tag or fid pool has no identifier left.
    case exhausted(String)
    /// No reply to this request within `ClientOptions.rpcTimeout`; the connection is broken (every other call fails).
    case timedOut(MessageType, Duration)

    /// The errno this error stands for: the server's for `.remote`, a local equivalent otherwise.
    public var errno: Errno? {
        switch self {
        case let .remote(e): return e
        case .connectionClosed: return .connectionReset
        case .protocolViolation, .wire: return .protocolError
        case .unsupported: return .notSupported
        case .exhausted: return .noBufferSpace
        case .timedOut: return .timedOut
        }
    }

    public var description: String {
        switch self {
        case let .remote(e): return "9P server error: \(e) (errno \(e.rawValue))"
        case let .connectionClosed(why): return "9P connection closed: \(why)"
        case let .protocolViolation(why): return "9P protocol violation: \(why)"
        case let .wire(w): return "9P wire error: \(w)"
        case let .unsupported(t): return "\(t) is not supported by the negotiated 9P version"
        case let .exhausted(what): return "9P \(what) exhausted"
        case let .timedOut(t, after): return "9P \(t) got no reply within \(after); the connection is closed"
        }
    }
}
