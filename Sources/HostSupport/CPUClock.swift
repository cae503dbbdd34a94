#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// User and system CPU seconds consumed so far.
public struct CPUSeconds: Sendable, Equatable {
    /// User time, s.
    public var user: Double
    /// System time, s.
    public var sys: Double

    /// CPU seconds with both fields given.
    public init(user: Double, sys: Double) {
        self.user = user
        self.sys = sys
    }

    /// No time.
    public static let zero = CPUSeconds(user: 0, sys: 0)

    /// The time from `b` to `a` (never negative).
    public static func - (a: CPUSeconds, b: CPUSeconds) -> CPUSeconds {
        CPUSeconds(user: max(0, a.user - b.user), sys: max(0, a.sys - b.sys))
    }

    /// The sum.
    public static func + (a: CPUSeconds, b: CPUSeconds) -> CPUSeconds { CPUSeconds(user: a.user + b.user, sys: a.sys + b.sys) }
}

/// Reads the CPU time of this process, of the calling thread, and of another process.
public enum CPUClock {
    private static func seconds(_ u: rusage) -> CPUSeconds {
        CPUSeconds(user: Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6,
                   sys: Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6)
    }

    /// getrusage(RUSAGE_SELF): every thread of this process.
    public static func process() -> CPUSeconds {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return seconds(u)
    }

    /// getrusage(RUSAGE_THREAD): the calling thread only.
    public static func thread() -> CPUSeconds {
        var u = rusage()
        getrusage(1, &u)  // RUSAGE_THREAD (Linux; glibc declares it only under _GNU_SOURCE)
        return seconds(u)
    }

    /// utime and stime of process `pid` (all its threads) from /proc/PID/stat, at the kernel's clock-tick resolution;
    /// nil when the process is gone.
    public static func process(_ pid: pid_t) -> CPUSeconds? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state is field 3, utime field 14, stime field 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return CPUSeconds(user: utime / hz, sys: stime / hz)
    }
}
