#if canImport(Glibc)
import Glibc
#endif
import CShims
import LocalGofer
import P9

/// `bench serve` (hidden): the builtin server, run by `bench` in a child process.
///
/// `--control-fd N` is a Unix socket to the parent; every byte received on it carries one connected socket
/// (SCM_RIGHTS) that is then served with a `LocalGofer` over `--root DIR`. The server exits when the control
/// socket closes or the parent dies. The parent spawns it pinned to the server's CPUs; every thread it makes
/// inherits that pinning.
public enum ServeCommand {
    /// Serves `root` over the connections passed on `control` until it closes; returns the exit code.
    public static func serve(control: Int32, root: String) -> Int32 {
        guard control >= 0 else {
            writeStderr("bench serve: --control-fd must be a descriptor number\n")
            return 64
        }
        signal(SIGPIPE, SIG_IGN)
        _ = fcntl(control, F_SETFD, FD_CLOEXEC)
        let server: Server
        do {
            server = Server(fileServer: try LocalGofer(root: root), options: ServerOptions(workers: 2))
        } catch {
            writeStderr("bench serve: cannot export \(root): \(error)\n")
            return 1
        }
        var byte: UInt8 = 0
        var fds: [Int32] = [-1, -1, -1, -1]
        while true {
            var nfds: Int32 = 0
            let n = withUnsafeMutablePointer(to: &byte) { p -> Int in
                var v = iovec(iov_base: UnsafeMutableRawPointer(p), iov_len: 1)
                return cshims_recvmsg_fds(control, &v, 1, &fds, 4, &nfds)
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            for k in 0..<Int(nfds) { server.serve(fd: fds[k]) }
        }
        server.stop()
        return 0
    }
}
