import P9
import SafeMem
import SystemPackage

/// The one error the Gofer API throws: the errno the operation fails with, what failed, and any partial transfer.
public struct GoferError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The errno a syscall doing the same would fail with.
    public let errno: Errno
    /// What failed and why, for people.
    public let message: String
    /// Bytes moved before a read or write failed part way; nil for any other failure.
    public let transferred: Int?

    /// An error with `errno`, described by `message` (the errno's own description when nil).
    public init(_ errno: Errno, _ message: String? = nil, transferred: Int? = nil) {
        self.errno = errno
        self.message = message ?? "\(errno)"
        self.transferred = transferred
    }

    /// An error of any layer below (an `Errno`, a `P9Error`, a `TransferError`) as the filesystem's, naming `operation`.
    ///
    /// A `GoferError` is kept as it is: it already names the operation that failed first.
    init(_ error: any Error, operation: String) {
        switch error {
        case let e as GoferError: self = e
        case let e as TransferError: self.init(e.errno, "\(operation): \(e)", transferred: e.bytes)
        default: self.init(Self.errno(of: error), "\(operation): \(error)")
        }
    }

    /// The errno behind an error of the layers below (EIO for one that carries none).
    ///
    /// The one place their types meet: the API boundary and the internal catch sites that branch on an errno use it.
    static func errno(of error: any Error) -> Errno {
        switch error {
        case let e as GoferError: return e.errno
        case let e as Errno: return e
        case let e as P9Error: return e.errno ?? .ioError
        case let e as TransferError: return e.errno
        default: return .ioError
        }
    }

    /// Runs `body`, throwing whatever it throws as a `GoferError` naming `operation` (built only on failure).
    static func mapping<T>(_ operation: @autoclosure () -> String, _ body: () throws -> T) throws(GoferError) -> T {
        do {
            return try body()
        } catch {
            throw GoferError(error, operation: operation())
        }
    }

    /// The message.
    public var description: String { message }
}
