import SystemPackage

/// An I/O or copy that failed part-way: `bytes` were transferred before `errno`.
public struct TransferError: Error, Equatable, CustomStringConvertible {
    /// Bytes transferred before the failure.
    public let bytes: Int
    /// Why it stopped.
    public let errno: Errno

    public init(bytes: Int, errno: Errno) {
        self.bytes = bytes
        self.errno = errno
    }

    public var description: String { "transfer failed after \(bytes) bytes: \(errno)" }
}
