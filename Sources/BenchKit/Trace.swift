import Foundation
import P9

/// One line of a `--trace` file: an RPC with the op it belongs to.
public struct TraceLine: Codable, Sendable, Equatable {
    /// The scenario and its parameters ("stat mode=shared ...").
    public var run: String
    public var repetition: Int
    /// The op's index in its repetition; nil for RPCs outside ops (background steps).
    public var op: Int?
    public var timeNs: Int
    public var tag: Int
    /// The message name ("Twalkgetattr").
    public var type: String
    public var fid: Int
    public var bytesSent: Int
    public var bytesReceived: Int

    enum CodingKeys: String, CodingKey {
        case run, repetition, op, timeNs = "time_ns", tag, type, fid, bytesSent = "bytes_sent", bytesReceived = "bytes_received"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(run, forKey: .run)
        try c.encode(repetition, forKey: .repetition)
        try c.encodeOrNull(op, forKey: .op)
        try c.encode(timeNs, forKey: .timeNs)
        try c.encode(tag, forKey: .tag)
        try c.encode(type, forKey: .type)
        try c.encode(fid, forKey: .fid)
        try c.encode(bytesSent, forKey: .bytesSent)
        try c.encode(bytesReceived, forKey: .bytesReceived)
    }
}

/// Writes every RPC of traced repetitions as JSON lines, with the op it belongs to (null: background).
final class TraceWriter: @unchecked Sendable {  // used by the runner's thread only; `handle` guarded by `lock`
    private let lock = NSLock()
    private let handle: FileHandle
    private let encoder: JSONEncoder

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw BenchError.report("cannot create the trace file \(path)")
        }
        handle = h
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    /// Appends the RPCs of one repetition; `windows` are its ops' (start, end, index), in time order.
    func write(label: String, repetition: Int, entries: [RPCTraceEntry], windows: [(UInt64, UInt64, Int)]) {
        var out = Data()
        var w = 0
        for e in entries.sorted(by: { $0.timeNs < $1.timeNs }) {
            while w < windows.count && windows[w].1 < e.timeNs { w += 1 }
            let op = w < windows.count && windows[w].0 <= e.timeNs ? windows[w].2 : nil
            let line = TraceLine(run: label, repetition: repetition, op: op, timeNs: Int(e.timeNs), tag: Int(e.tag),
                                 type: e.type.description, fid: Int(e.fid), bytesSent: e.bytesSent, bytesReceived: e.bytesReceived)
            guard let data = try? encoder.encode(line) else { continue }  // only strings and integers: never fails
            out.append(data)
            out.append(0x0A)
        }
        lock.withLock { handle.write(out) }
    }

    func close() { lock.withLock { try? handle.close() } }
}
