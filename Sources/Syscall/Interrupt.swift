import Glibc
import SystemPackage

/// Calls `body`, a syscall returning a count or descriptor (negative with `errno` set on failure), again while
/// it fails with EINTR; any other failure throws its errno.
@inlinable
public func retryingOnInterrupt<R: SignedInteger>(_ body: () -> R) throws(Errno) -> R {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno  // read before anything else can overwrite it
        if e != EINTR { throw Errno(rawValue: e) }
    }
}
