#if canImport(Glibc)
import Glibc
#endif
import LocalGofer
import P9
import SystemPackage

/// `bench serve` (hidden): the builtin server, run by `bench` in a child process.
///
/// `--control-fd N` is a Unix socket to the parent; every byte received on it carries one connected socket
/// (SCM_RIGHTS) that is then served with a `LocalGofer` over `--root DIR`. The server exits when the control
/// socket closes or the parent dies. The parent spawns it pinned to the server's CPUs; every thread it makes
/// inherits that pinning.
public enum ServeCommand {
    /// Serves `root` over the connections passed on `control` until it closes (polling each socket for `spin` before
    /// blocking, when given); returns the exit code.
    public static func serve(control: Int32, root: String, spin: Duration? = nil) -> Int32 {
        guard control >= 0 else {
            writeStderr("bench serve: --control-fd must be a descriptor number\n")
            return 64
        }
        signal(SIGPIPE, SIG_IGN)
        _ = fcntl(control, F_SETFD, FD_CLOEXEC)
        let server: Server
        do {
            server = Server(fileServer: try LocalGofer(root: root), options: ServerOptions(workers: 2, spin: spin))
        } catch {
            writeStderr("bench serve: cannot export \(root): \(error)\n")
            return 1
        }
        // The transport owns the control socket from here on and closes it when serving ends.
        let transport = StreamTransport(fd: control)
        var byte: UInt8 = 0
        var fds: [Int32] = []
        receiving: while true {
            fds.removeAll(keepingCapacity: true)
            let n: Int
            do throws(Errno) {
                n = try withUnsafeMutableBytes(of: &byte) { (b) throws(Errno) in try transport.receive(into: b, fds: &fds) }
            } catch .interrupted {
                continue
            } catch {
                break receiving
            }
            if n == 0 { break }
            for fd in fds { server.serve(fd: fd) }
        }
        server.stop()
        return 0
    }
}
