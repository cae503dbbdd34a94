import P9

/// What the kernel's file handles (`fh`) stand for: open files or directory snapshots, by a number never reused.
final class HandleTable<Value: Sendable>: Sendable {
    private let state = Locked<(next: UInt64, values: [UInt64: Value])>((1, [:]))

    /// Registers `value` and returns its handle number.
    func add(_ value: Value) -> UInt64 {
        state.withLock { s in
            let fh = s.next
            s.next += 1
            s.values[fh] = value
            return fh
        }
    }

    /// The value of `fh`.
    subscript(_ fh: UInt64) -> Value? { state.withLock { $0.values[fh] } }

    /// Removes and returns the value of `fh`.
    func remove(_ fh: UInt64) -> Value? { state.withLock { $0.values.removeValue(forKey: fh) } }

    /// The first value that satisfies `predicate`.
    func first(where predicate: (Value) -> Bool) -> Value? { state.withLock { $0.values.values.first(where: predicate) } }

    /// Removes and returns every value.
    func removeAll() -> [Value] {
        state.withLock { s in
            defer { s.values.removeAll() }
            return Array(s.values.values)
        }
    }

    /// Handles registered.
    var count: Int { state.withLock { $0.values.count } }
}
