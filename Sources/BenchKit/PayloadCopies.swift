import Gofer
import P9

/// Payload bytes copied in client memory by the filesystems of one scenario environment (their `stats`, summed).
public final class PayloadCopies: Sendable {
    private let filesystems = Locked<[Filesystem]>([])

    /// No filesystem tracked yet.
    public init() {}

    /// Adds `fs`'s copies (counted since it was made) to the sum.
    func track(_ fs: Filesystem) { filesystems.withLock { $0.append(fs) } }

    /// Bytes copied so far by the tracked filesystems.
    public var value: Int { filesystems.withLock { $0.reduce(0) { $0 + $1.stats.payloadBytesCopied } } }
}
