#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage

/// Makes a new, empty directory `prefix-XXXXXX` (mkdtemp) in `parent` (the system temporary folder by default).
public func makeTemporaryDirectory(prefix: String, in parent: String = NSTemporaryDirectory()) throws(Errno) -> String {
    var template = Array((parent + "/\(prefix)-XXXXXX").utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw Errno(rawValue: errno) }
    return String(cString: p)
}
