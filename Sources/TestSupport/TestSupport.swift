import Foundation
import HostSupport

/// A temporary directory removed on `remove()`; tests create one per case.
public final class TemporaryDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String

    /// Creates a fresh directory under the system temporary folder.
    public init(prefix: String = "swift-gofer") throws {
        do { path = try makeTemporaryDirectory(prefix: prefix) } catch {
            throw POSIXError(POSIXErrorCode(rawValue: error.rawValue) ?? .EIO)
        }
    }

    /// Path of `name` inside the directory.
    public func appending(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` (creating parent folders).
    public func write(_ name: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: appending(name))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// Reads the whole of `name`.
    public func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: appending(name))))
    }

    /// Deletes the directory and everything in it.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. Waits on a condition, not a guess.
public func waitUntil(timeout: Double = 10, pollEvery: Double = 0.005, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(UInt32(pollEvery * 1_000_000))
    }
    return try condition()
}

/// Deterministic pseudo-random bytes (xorshift) for file contents that tests check byte for byte.
public func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var x = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out[i] = UInt8(truncatingIfNeeded: x)
    }
    return out
}

/// Number of open descriptors of this process (entries of /proc/self/fd).
public func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// Ids of this process's threads (entries of /proc/self/task).
public func threadIDs() -> Set<Int32> {
    Set(((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap { Int32($0) })
}

/// Threads started since `before` (a `threadIDs()` snapshot) and still running, each as "id name". A thread of
/// the snapshot may exit meanwhile (an idle Dispatch worker of an earlier test retires 5 s after its last work
/// item), so a leak check compares thread ids, not counts; Linux does not reuse a thread id this soon.
public func threadsStarted(since before: Set<Int32>) -> [String] {
    threadIDs().subtracting(before).sorted().map { tid in
        let comm = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? "?"
        return "\(tid) \(comm.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// This process's open descriptors, each as "fd target dev ino": a number reused for another object reads
/// differently.
public func openDescriptorIdentities() -> Set<String> {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(fds.compactMap { fd in
        let path = "/proc/self/fd/\(fd)"
        var st = stat()
        // The listing's own descriptor is closed by now: it fails both.
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path), stat(path, &st) == 0 else { return nil }
        return "\(fd) \(target) \(st.st_dev) \(st.st_ino)"
    })
}

/// Descriptors opened since `before` (an `openDescriptorIdentities()` snapshot) and still open. One of the snapshot may be
/// closed meanwhile (an earlier test's stopped server closes its connections on their own threads), so a leak
/// check compares descriptors, not counts.
public func descriptorsOpened(since before: Set<String>) -> [String] { openDescriptorIdentities().subtracting(before).sorted() }
