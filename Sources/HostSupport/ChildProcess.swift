#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage

/// Why a child process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// The executable that was to run.
    public let path: String
    /// posix_spawn's error.
    public let errno: Errno

    public var description: String { "cannot start \(path): \(errno)" }
}

/// A child process started with posix_spawn; reaped by `stop`, by `hasExited` once it exited, or never while it runs.
public final class ChildProcess: @unchecked Sendable {  // `pid` and `status` are read and written only under `lock`
    private let lock = NSLock()
    private var pid: pid_t
    private var exitStatus: Int32?

    /// Spawns `argv` with stdin from /dev/null and stdout+stderr to `log` (or to the descriptor `output`, or inherited
    /// when both are nil); descriptors in `keep` are inherited (their CLOEXEC flag is cleared just around the spawn).
    /// `environment` replaces the environment when given. With `ownProcessGroup` the child leads a new process group,
    /// so a terminal's ^C reaches only this process.
    public init(_ argv: [String], log: String?, output: Int32? = nil, environment: [String: String]? = nil, keep: [Int32] = [],
                ownProcessGroup: Bool = true) throws(SpawnError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let log {
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else if let output {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
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
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attr, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attr, Int16(flags))
        for fd in keep { _ = fcntl(fd, F_SETFD, 0) }
        let cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        let cenv = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for p in cenv ?? [] { free(p) } }
        fflush(nil)
        var child: pid_t = 0
        let rc = cenv.map { env in env.withUnsafeBufferPointer { posix_spawn(&child, argv[0], &actions, &attr, cargs, $0.baseAddress) } }
            ?? posix_spawn(&child, argv[0], &actions, &attr, cargs, environ)
        for fd in keep { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        guard rc == 0 else { throw SpawnError(path: argv[0], errno: Errno(rawValue: rc)) }
        pid = child
    }

    /// The process id (0 once reaped).
    public var processID: pid_t { lock.withLock { pid } }

    /// The wait status once reaped (nil while the child runs).
    public var status: Int32? { lock.withLock { exitStatus } }

    /// Whether the child has exited (reaps it if so).
    public var hasExited: Bool {
        lock.withLock {
            guard pid > 0 else { return true }
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid { exitStatus = st; pid = 0; return true }
            return false
        }
    }

    /// Blocks until the child exits and returns its wait status (at once when it was already reaped).
    public func wait() -> Int32 {
        lock.withLock {
            var st: Int32 = 0
            while pid > 0 {
                let r = waitpid(pid, &st, 0)
                if r == pid { exitStatus = st; pid = 0 } else if r < 0 && errno != EINTR { break }
            }
            return exitStatus ?? -1
        }
    }

    /// Sends `signal` if the child still runs.
    public func signal(_ signal: Int32) {
        lock.withLock { if pid > 0 { _ = kill(pid, signal) } }
    }

    /// Stops the child (SIGSTOP) and waits until the kernel reports it stopped; false when it is gone.
    public func suspend() -> Bool {
        lock.withLock {
            guard pid > 0, kill(pid, SIGSTOP) == 0 else { return false }
            var st: Int32 = 0
            while true {
                let r = waitpid(pid, &st, WUNTRACED)
                if r == pid {
                    if st & 0xFF == 0x7F { return true }  // WIFSTOPPED
                    exitStatus = st
                    pid = 0
                    return false
                }
                if r < 0 && errno == EINTR { continue }
                return false
            }
        }
    }

    /// Sends `first` (if any), waits up to `timeout` seconds for the child to exit, then kills it; reaps it either way.
    public func stop(timeout: Double, signal first: Int32? = SIGTERM) {
        if let first { signal(first) }
        let deadline = Date().addingTimeInterval(timeout)
        while !hasExited {
            if Date() >= deadline {
                signal(SIGKILL)
                lock.withLock {
                    if pid > 0 { var st: Int32 = 0; _ = waitpid(pid, &st, 0); exitStatus = st; pid = 0 }
                }
                return
            }
            usleep(2000)
        }
    }
}
