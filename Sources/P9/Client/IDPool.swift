/// A LIFO pool of identifiers (tags or fids): the most recently freed id is reused first, ids come from
/// `first...last`, so the reserved NOTAG/NOFID value (`ID.none`) is never handed out.
public struct IDPool<ID: WireIdentifier>: Sendable {
    /// The lowest id handed out.
    public let first: ID
    /// The highest id handed out.
    public let last: ID
    private var next: ID.RawValue
    private var exhaustedNext = false
    private var free: [ID] = []
    private let what: String

    /// A pool of `first...last`; `last` defaults to the one below `ID.none`.
    public init(first: ID = 1, last: ID = ID(rawValue: ID.none.rawValue - 1), what: String = "ids") {
        precondition(first.rawValue <= last.rawValue && last.rawValue < ID.none.rawValue)
        self.first = first
        self.last = last
        self.next = first.rawValue
        self.what = what
        free.reserveCapacity(64)
    }

    /// Takes an id: the last one freed, else the next never-used one.
    public mutating func allocate() throws(P9Error) -> ID {
        if let id = free.popLast() { return id }
        guard !exhaustedNext else { throw .exhausted(what) }
        let id = ID(rawValue: next)
        if next == last.rawValue { exhaustedNext = true } else { next += 1 }
        return id
    }

    /// Returns an id to the pool.
    public mutating func release(_ id: ID) {
        free.append(id)
    }

    /// Ids handed out and not yet released.
    public var inUse: Int {
        let issued = exhaustedNext ? Int(last.rawValue - first.rawValue) + 1 : Int(next - first.rawValue)
        return issued - free.count
    }
}
