// libFuzzer entry point for the 9P decoder. Built by scripts/fuzz together with Sources/P9/Wire/*.swift
// as one module (no `import P9`), with -sanitize=fuzzer,address.

/// Scratch space for re-encoding; the fuzzer calls the entry point from one thread only.
nonisolated(unsafe) private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 21, alignment: 16)

/// Encodes a type-erased message as a whole frame into `scratch`; nil if it does not fit.
private func reencode(_ m: any Message, tag: Tag) -> UnsafeRawBufferPointer? {
    func open<M: Message>(_ m: M) -> Int? { try? Frame.encode(m, tag: tag, into: scratch, msize: scratch.count) }
    guard let n = open(m) else { return nil }
    return UnsafeRawBufferPointer(rebasing: scratch[..<n])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)

    // 1. The input as a whole frame. A decoded frame must re-encode to a fixpoint:
    //    decode(encode(x)) succeeds and encodes to the same bytes again.
    if let (tag, message) = try? Frame.decodeAny(frame: input, limit: 1 << 20),
       let first = reencode(message, tag: tag) {
        let firstBytes = Array(first)
        let again: (tag: Tag, message: any Message)
        do { again = try firstBytes.withUnsafeBytes { try Frame.decodeAny(frame: $0, limit: 1 << 22) } } catch {
            fatalError("re-encoded \(type(of: message).type) does not decode: \(error)")
        }
        guard let second = reencode(again.message, tag: again.tag), Array(second) == firstBytes else {
            fatalError("re-encoding \(type(of: message).type) is not a fixpoint")
        }
    }

    // 2. The header-only helpers a transport uses for readv/writev.
    _ = try? Rread.decodeHeader(input, limit: 1 << 20)
    _ = try? Twrite.decodeHeader(input, limit: 1 << 20)
    _ = try? Frame.header(input, limit: 1 << 20)

    // 3. The first byte picks a message type, the rest is its body.
    if size >= 1 {
        var d = WireDecoder(base: UnsafeRawPointer(data!) + 1, count: size - 1)
        _ = try? MessageRegistry.decode(type: data![0], body: &d)
    }

    // 4. The input as a version string.
    _ = P9Version.parse(String(decoding: input, as: UTF8.self))
    return 0
}
