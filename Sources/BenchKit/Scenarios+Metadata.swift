#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Gofer
import P9

/// Makes the filesystem of `params` and runs `prepare` on it; releases the filesystem when `prepare` throws.
func preparedFilesystem(_ params: ParamSet, _ env: ScenarioEnvironment, _ prepare: (Filesystem) throws -> Void) throws -> Filesystem {
    let fs = try makeFilesystem(params, env)
    do { try prepare(fs) } catch { fs.release(); throw error }
    return fs
}

/// create (O_CREAT|O_EXCL) + close + unlink of a new file in a scratch folder.
///
/// The unlinked file's dentry goes stale; `fs.reclaim()` releases it between ops (background).
final class CreateUnlinkScenario: ScenarioInstance {
    let fs: Filesystem
    let path: String

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let dir = try requireFixtures(env).makeScratchDirectory("create-unlink")
        path = dir + "/f"
        fs = try preparedFilesystem(params, env) { _ = try $0.stat(dir) }  // the folder cached before the first op
    }

    var hasBackground: Bool { true }
    func background() throws { fs.reclaim() }

    func op(thread: Int) throws -> Int {
        let f = try fs.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        do { try f.close() } catch { try? fs.unlink(path); throw error }
        try fs.unlink(path)
        return 0
    }

    func close() { fs.release() }
}

/// mkdir + rmdir of a new folder in a scratch folder; `fs.reclaim()` between ops (background).
final class MkdirRmdirScenario: ScenarioInstance {
    let fs: Filesystem
    let path: String

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let dir = try requireFixtures(env).makeScratchDirectory("mkdir-rmdir")
        path = dir + "/d"
        fs = try preparedFilesystem(params, env) { _ = try $0.stat(dir) }
    }

    var hasBackground: Bool { true }
    func background() throws { fs.reclaim() }

    func op(thread: Int) throws -> Int {
        try fs.mkdir(path, mode: 0o755)
        try fs.rmdir(path)
        return 0
    }

    func close() { fs.release() }
}

/// One full listing of a folder of `entries` files (cold: caches dropped before each op, as background).
final class ReaddirScenario: ScenarioInstance {
    let fs: Filesystem
    let path: String
    let entries: Int
    let cold: Bool

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let fixtures = try requireFixtures(env)
        entries = params.int(.entries)
        let state = params.text(.state)
        guard state != "replaced" else { throw BenchError.skip("readdir runs cold or warm; replaced applies to stat") }
        cold = state == "cold"
        path = fixtures.directoryPath(entries: entries)
        let expected = entries, listed = path
        fs = try preparedFilesystem(params, env) { fs in
            let n = try fs.readdir(listed).count
            guard n == expected else { throw BenchError.fixture("\(listed) lists \(n) entries, expected \(expected)") }
        }
    }

    var hasBackground: Bool { cold }
    func background() throws { try fs.dropCaches() }

    func op(thread: Int) throws -> Int {
        let n = try fs.readdir(path).count
        guard n == entries else { throw BenchError.server("readdir of \(path) listed \(n) entries, expected \(entries)") }
        return 0
    }

    func close() { fs.release() }
}

/// rename a -> b, then b -> a (the op is the pair); `fs.reclaim()` between ops (background).
final class RenameScenario: ScenarioInstance {
    let fs: Filesystem
    let a: String
    let b: String

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        let fixtures = try requireFixtures(env)
        let dir = try fixtures.makeScratchDirectory("rename")
        a = dir + "/a"
        b = dir + "/b"
        try fixtures.makeEmptyFile(a)
        let first = a
        fs = try preparedFilesystem(params, env) { _ = try $0.stat(first) }
    }

    var hasBackground: Bool { true }
    func background() throws { fs.reclaim() }

    func op(thread: Int) throws -> Int {
        try fs.rename(a, to: b)
        try fs.rename(b, to: a)
        return 0
    }

    func close() { fs.release() }
}

/// readlink of a symlink (cached except in Shared).
final class ReadlinkScenario: ScenarioInstance {
    let fs: Filesystem
    let path: String

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        path = try requireFixtures(env).symlinkPath
        let link = path
        fs = try preparedFilesystem(params, env) { _ = try $0.readlink(link) }
    }

    func op(thread: Int) throws -> Int {
        let target = try fs.readlink(path)
        guard target == "small" else { throw BenchError.server("readlink of \(path) gave \"\(target)\", expected \"small\"") }
        return 0
    }

    func close() { fs.release() }
}
