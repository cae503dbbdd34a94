import CShims
import Glibc
import P9
import SystemPackage

/// The descriptors a Shared direct stat keeps beneath the donated root, by relative path (CShimsDirCache.h).
///
/// A stat of a/b/c validates the kept descriptor of a/b with one statx from the root and then stats "c" relative to
/// it: two statx calls, no open or close. A name stat'ed twice in a row that way is kept itself (opened relative to
/// the validated a/b, nothing followed); from then on one statx from the root answers, used only when it is that very
/// inode. Bounded (least recently used closed past `capacity`); a client's rename or removal closes what it moved or
/// removed and everything beneath, `dropCaches` and release close them all.
///
/// `@unchecked Sendable`: the C cache guards its entries with its own reader-writer lock; `cache` itself never changes
/// and is freed only in deinit.
final class HostDirCache: @unchecked Sendable {
    /// Descriptors kept at most, by default.
    static let defaultCapacity = 64

    private let cache: OpaquePointer

    /// An empty cache of at most `capacity` descriptors; nil when it cannot be allocated.
    init?(capacity: Int = defaultCapacity) {
        guard let c = cshims_dircache_create(Int32(capacity)) else { return nil }
        cache = c
    }

    deinit { cshims_dircache_destroy(cache) }

    /// stat(2) (`follow`) or lstat(2) of the canonical `path` past its first `dropping` bytes beneath `root`.
    func stat(_ path: String, dropping: Int, follow: Bool, root: FileDescriptor) throws(Errno) -> (qid: QID, attr: Attr) {
        var stx = statx()
        let r = path.withCString {
            cshims_stat_cached(cache, root.rawValue, $0 + dropping, follow ? 1 : 0, HostRoot.beneath,
                               UInt32(STATX_BASIC_STATS), &stx)
        }
        if r != 0 { throw Errno(rawValue: errno) }
        return HostRoot.convert(stx)
    }

    /// Closes the descriptors of `components` and of every directory beneath it (it was renamed or removed).
    func forget(_ components: [String]) {
        components.joined(separator: "/").withCString { cshims_dircache_forget(cache, $0) }
    }

    /// Closes every kept descriptor.
    func clear() { cshims_dircache_clear(cache) }

    /// The number of descriptors kept.
    var count: Int { Int(cshims_dircache_count(cache)) }
}
