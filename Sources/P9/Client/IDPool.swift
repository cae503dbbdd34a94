/// A LIFO pool of small integer identifiers (tags or fids): the most recently freed id is reused first,
/// ids come from `first...last`, so the reserved NOTAG/NOFID value (the type's max) is never handed out.
public struct IDPool<ID: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// The lowest id handed out.
    public let first: ID
    /// The highest id handed out.
    public let last: ID
    private var next: ID
    private var exhaustedNext = false
    private var free: [ID] = []
    private let what: String

    /// A pool of `first...last`; `last` defaults to the type's maximum minus one (never NOTAG/NOFID).
    public init(first: ID = 1, last: ID = ID.max - 1, what: String = "ids") {
        precondition(first <= last && last < ID.max)
        self.first = first
        self.last = last
        self.next = first
        self.what = what
        free.reserveCapacity(64)
    }

    /// Takes an id: the last one freed, else the next never-used one.
    public mutating func allocate() throws(P9Error) -> ID {
        if let id = free.popLast() { return id }
        guard !exhaustedNext else { throw .exhausted(what) }
        let id = next
        if next == last { exhaustedNext = true } else { next += 1 }
        return id
    }

    /// Returns an id to the pool.
    public mutating func release(_ id: ID) {
        free.append(id)
    }

    /// Ids handed out and not yet released.
    public var inUse: Int {
        let issued = exhaustedNext ? Int(last - first) + 1 : Int(next - first)
        return issued - free.count
    }
}
