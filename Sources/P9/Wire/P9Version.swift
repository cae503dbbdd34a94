/// 9P version strings and the gVisor extension level N (PROTOCOL.md §4.1).
public enum P9Version {
    /// The plain protocol string (N = 0).
    public static let base = "9P2000.L"
    /// The highest extension level this codec knows (`9P2000.L.Google.13`).
    public static let highest: UInt32 = 13

    /// Parses a version string exactly like gVisor's `parseVersion`; nil when invalid.
    public static func parse(_ s: String) -> UInt32? {
        if s == base { return 0 }
        // Split on '.' bytewise, as Go's strings.Split does (Swift Characters could merge "." with a combining mark).
        let parts = s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4,
              parts[0].elementsEqual("9P2000".utf8),
              parts[1].elementsEqual("L".utf8),
              parts[2].elementsEqual("Google".utf8),
              !parts[3].isEmpty else { return nil }
        // strconv.ParseUint(N, 10, 32): ASCII digits only, leading zeros allowed, at most UInt32.max.
        var n: UInt64 = 0
        for c in parts[3] {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + UInt64(c - UInt8(ascii: "0"))
            guard n <= UInt64(UInt32.max) else { return nil }
        }
        return UInt32(n)
    }

    /// The string for level `n`: "9P2000.L" for 0, "9P2000.L.Google.N" otherwise.
    public static func string(for n: UInt32) -> String {
        n == 0 ? base : "\(base).Google.\(n)"
    }

    /// Whether message `t` (T or R) may be used at level `n`; Tbind/Rbind never, Tdonateroot only as a probe.
    public static func supports(_ t: MessageType, version n: UInt32) -> Bool {
        switch t {
        case .tbind, .rbind, .tlerror, .tdonateroot, .rdonateroot: return false
        default: return t.minimumVersion <= n
        }
    }

    /// The extension T messages enabled at level `n` (Tbind and the Tdonateroot probe excluded), ordered by level then number.
    public static func extensions(version n: UInt32) -> [MessageType] {
        MessageType.allCases
            .filter { $0.isRequest && $0.minimumVersion >= 1 && supports($0, version: n) }
            .sorted { ($0.minimumVersion, $0.rawValue) < ($1.minimumVersion, $1.rawValue) }
    }
}
