/// Parsing and formatting of the bench's value syntax: sizes with binary suffixes, durations with units.
public enum Units {
    /// Parses "4096", "4K", "64K", "1M", "2G" (binary: 4K = 4096); nil when malformed or not positive.
    public static func parseSize(_ text: String) -> Int? {
        var digits = Substring(text)
        var scale = 1
        if let last = digits.last, !last.isNumber {
            switch last {
            case "K", "k": scale = 1 << 10
            case "M", "m": scale = 1 << 20
            case "G", "g": scale = 1 << 30
            default: return nil
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        let (v, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        return v
    }

    /// Parses "500ns", "20us", "100ms", "2s" (a bare number is seconds) into nanoseconds; nil when malformed or
    /// beyond what an Int64 of nanoseconds holds (about 292 years).
    public static func parseDuration(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("ms", 1e6), ("s", 1e9)]
        func nanoseconds(_ v: Double, _ scale: Double) -> UInt64? { v * scale < 0x1p63 ? UInt64(v * scale) : nil }
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms"/"ns"/"us" end in "s" too: only accept the plain "s" when what precedes is a number.
            guard let v = Double(number), v.isFinite, v > 0, !number.contains(where: { $0.isLetter }) else { continue }
            return nanoseconds(v, scale)
        }
        if let v = Double(text), v.isFinite, v > 0, !text.contains(where: { $0.isLetter }) { return nanoseconds(v, 1e9) }
        return nil
    }

    /// A duration in the largest unit that holds it exactly: "5s", "1500ms", "250us", "7ns".
    public static func formatExactDuration(_ ns: UInt64) -> String {
        for (suffix, scale) in [("s", UInt64(1_000_000_000)), ("ms", 1_000_000), ("us", 1000)] where ns % scale == 0 {
            return "\(ns / scale)\(suffix)"
        }
        return "\(ns)ns"
    }

    /// "4K", "1M", "1M+4K", or a plain byte count, whichever is exact and shortest.
    public static func formatSize(_ bytes: Int) -> String {
        for (suffix, scale) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(suffix)"
        }
        return String(bytes)
    }

    /// A duration in the largest unit that keeps it readable ("850ns", "12.3us", "4.56ms", "1.20s").
    public static func formatNanoseconds(_ ns: Double) -> String {
        if ns < 1e3 { return "\(Int(ns.rounded()))ns" }
        if ns < 1e6 { return fixed(ns / 1e3, 1) + "us" }
        if ns < 1e9 { return fixed(ns / 1e6, 2) + "ms" }
        return fixed(ns / 1e9, 2) + "s"
    }

    /// `value` with `digits` decimals.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(value) * scale).rounded()
        let whole = Int(r / scale)
        var out = (value < 0 && r != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let frac = Int(r - Double(whole) * scale)
            let f = String(frac)
            out += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return out
    }
}
