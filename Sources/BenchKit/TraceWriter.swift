import BenchReport
import Foundation
import P9

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
            let line = TraceLine(run: label, repetition: repetition, op: op, timeNs: Int(e.timeNs), tag: Int(e.tag.rawValue),
                                 type: e.type.description, fid: Int(e.fid.rawValue), bytesSent: e.bytesSent, bytesReceived: e.bytesReceived)
            guard let data = try? encoder.encode(line) else { continue }  // only strings and integers: never fails
            out.append(data)
            out.append(0x0A)
        }
        lock.withLock { handle.write(out) }
    }

    func close() { lock.withLock { try? handle.close() } }
}
