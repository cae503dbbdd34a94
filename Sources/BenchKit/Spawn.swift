#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A child process started with posix_spawn in its own process group (a terminal's ^C reaches only the bench).
final class ChildProcess: @unchecked Sendable {  // `pid` is written once in init and by `wait` under `lock`
    private let lock = NSLock()
    private var pid: pid_t
    /// The exit status once reaped.
    private(set) var status: Int32?

    /// Spawns `argv` with stdin from /dev/null and stdout+stderr to `log` (or inherited stderr when nil);
    /// descriptors in `keep` are inherited (their CLOEXEC flag is cleared just before spawning).
    init(_ argv: [String], log: String?, keep: [Int32] = []) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let log {
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        for fd in keep { _ = fcntl(fd, F_SETFD, 0) }
        let cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        fflush(nil)
        var child: pid_t = 0
        let rc = posix_spawn(&child, argv[0], &actions, &attr, cargs, environ)
        for fd in keep { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        guard rc == 0 else { throw BenchError.server("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// The process id (0 once reaped).
    var processID: pid_t { lock.withLock { pid } }

    /// Whether the child has exited (reaps it if so).
    var hasExited: Bool {
        lock.withLock {
            guard pid > 0 else { return true }
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid { status = st; pid = 0; return true }
            return false
        }
    }

    /// Sends `signal` if the child still runs.
    func signal(_ signal: Int32) {
        lock.withLock { if pid > 0 { _ = kill(pid, signal) } }
    }

    /// Waits up to `timeout` seconds for the child to exit, then kills it; reaps it either way.
    func stop(timeout: Double, signal first: Int32? = SIGTERM) {
        if let first { signal(first) }
        let deadline = Date().addingTimeInterval(timeout)
        while !hasExited {
            if Date() >= deadline {
                signal(SIGKILL)
                lock.withLock {
                    if pid > 0 { var st: Int32 = 0; _ = waitpid(pid, &st, 0); status = st; pid = 0 }
                }
                return
            }
            usleep(2000)
        }
    }
}

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
