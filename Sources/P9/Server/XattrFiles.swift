import Glibc
import Synchronization
import SystemPackage

/// The largest value or name list an xattr fid holds: what one `[s]` field can carry (PROTOCOL §4.3).
let xattrMaximumSize = Int(UInt16.max)

/// A Txattrwalk fid: the attribute's value (or the NUL-separated name list) read with Tread, nothing else.
final class XattrReadFile: ServerFile {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The value of `name` on `file`, or its NUL-terminated name list when `name` is "".
    static func reading(_ name: String, of file: any ServerFile) throws -> XattrReadFile {
        if !name.isEmpty { return XattrReadFile(bytes: try file.getXattr(name)) }
        var list: [UInt8] = []
        for n in try file.listXattr() {
            list.append(contentsOf: n.utf8)
            list.append(0)
        }
        return XattrReadFile(bytes: list)
    }

    func walk(_ names: [String]) throws -> (qids: [QID], file: any ServerFile) { throw Errno.invalidArgument }
    func getAttr(_ mask: AttrMask) throws -> (qid: QID, valid: AttrMask, attr: Attr) { throw Errno.invalidArgument }
    func open(_ flags: OpenFlags, context: RequestContext) throws -> OpenedFile { throw Errno.invalidArgument }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let start = Int(offset)
        let n = min(buffer.count, bytes.count - start)
        bytes.withUnsafeBytes { src in
            buffer.baseAddress?.copyMemory(from: src.baseAddress! + start, byteCount: n)
        }
        return n
    }
}

/// A Txattrcreate fid: takes exactly `size` bytes by Twrite, then sets the attribute at Tclunk (removes it when
/// `size` is 0, as diod does and Linux's removexattr expects).
final class XattrWriteFile: ServerFile {
    let target: any ServerFile
    let name: String
    let size: Int
    let flags: UInt32
    private let state: Mutex<(buffer: [UInt8], written: Int)>

    init(target: any ServerFile, name: String, size: UInt64, flags: UInt32) throws {
        guard !name.isEmpty else { throw Errno.invalidArgument }
        guard size <= UInt64(xattrMaximumSize) else { throw Errno(rawValue: E2BIG) }
        self.target = target
        self.name = name
        self.size = Int(size)
        self.flags = flags
        state = Mutex((buffer: [UInt8](repeating: 0, count: Int(size)), written: 0))
    }

    func walk(_ names: [String]) throws -> (qids: [QID], file: any ServerFile) { throw Errno.invalidArgument }
    func getAttr(_ mask: AttrMask) throws -> (qid: QID, valid: AttrMask, attr: Attr) { throw Errno.invalidArgument }
    func open(_ flags: OpenFlags, context: RequestContext) throws -> OpenedFile { throw Errno.invalidArgument }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int { throw Errno.invalidArgument }

    /// Bytes beyond the declared size are refused (EINVAL) rather than dropped.
    func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws -> Int {
        try state.withLock { s in
            guard offset <= UInt64(size), buffer.count <= size - Int(offset) else { throw Errno.invalidArgument }
            let start = Int(offset)
            s.buffer.withUnsafeMutableBytes { dst in
                if let src = buffer.baseAddress { (dst.baseAddress! + start).copyMemory(from: src, byteCount: buffer.count) }
            }
            s.written = max(s.written, start + buffer.count)
            return buffer.count
        }
    }

    /// Releases the file the attribute was for, with this fid.
    func clunk() { target.clunk() }

    /// Tclunk: sets (or removes) the attribute; fewer bytes written than declared is EINVAL.
    func commit() throws {
        let (buffer, written) = state.withLock { ($0.buffer, $0.written) }
        guard written == size else { throw Errno.invalidArgument }
        if size == 0 {
            try target.removeXattr(name)
        } else {
            try target.setXattr(name, value: buffer, flags: flags)
        }
    }
}
