import SystemPackage

/// Where a 9P server listens: "unix:PATH" or "tcp:HOST:PORT" (IPv6 hosts in brackets: "tcp:[::1]:564").
public enum Address: Hashable, Sendable, CustomStringConvertible {
    case unix(String)
    case tcp(host: String, port: UInt16)

    /// Parses "unix:PATH", "tcp:HOST:PORT", or a bare absolute path (a Unix socket); nil when malformed.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self = .unix(path)
        } else if text.hasPrefix("tcp:") {
            let rest = text.dropFirst(4)
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            var host = rest[..<colon]
            let portText = rest[rest.index(after: colon)...]
            if host.hasPrefix("[") {
                guard host.hasSuffix("]"), host.count > 2 else { return nil }
                host = host.dropFirst().dropLast()
            } else if host.contains(":") {
                return nil
            }
            guard !host.isEmpty, !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = UInt16(portText), port != 0 else { return nil }
            self = .tcp(host: String(host), port: port)
        } else if text.hasPrefix("/") {
            self = .unix(text)
        } else {
            return nil
        }
    }

    /// The canonical text form ("unix:PATH" / "tcp:HOST:PORT").
    public var description: String {
        switch self {
        case let .unix(path): return "unix:\(path)"
        case let .tcp(host, port): return host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
        }
    }

    /// "unix" or "tcp" (the report's `server.transport`).
    public var transportName: String {
        switch self {
        case .unix: return "unix"
        case .tcp: return "tcp"
        }
    }

    /// Opens a connected transport to this address.
    public func connect() throws(Errno) -> StreamTransport {
        switch self {
        case let .unix(path): return try StreamTransport.connect(unixPath: path)
        case let .tcp(host, port): return try StreamTransport.connect(host: host, port: port)
        }
    }
}
