import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Programs nobody here wrote, run through a `gofer-mount` mount: coreutils, git, tar; under Exclusive and Shared.
final class MountTests: XCTestCase {
    func testCoreutilsExclusive() throws { try coreutils(mode: "exclusive") }
    func testCoreutilsShared() throws { try coreutils(mode: "shared") }
    func testGitExclusive() throws { try git(mode: "exclusive") }
    func testGitShared() throws { try git(mode: "shared") }
    func testTarExclusive() throws { try tar(mode: "exclusive") }
    func testTarShared() throws { try tar(mode: "shared") }

    /// Exclusive over 9P keeps written data dirty in the client's page cache after close; SIGTERM unmounts, writes it
    /// back and exits 0.
    func testSigtermWritesDirtyDataBackAndExitsZero() throws {
        let m = try MountFixture(mode: "exclusive", extra: ["--no-host-fds"])
        defer { m.finish() }
        try m.sh("dd if=/dev/urandom of=kept bs=4k count=50 status=none")
        let bytes = try m.sh("od -An -tx1 -v kept")
        // Still only in the client's page cache: the export's file is as created.
        XCTAssertEqual(try MountFixture.run(["stat", "-c", "%s", m.export.appending("kept")]).output, "0\n")
        m.process.signal(SIGTERM)
        let child = m.process
        XCTAssertTrue(waitUntil(timeout: 30) { child.hasExited }, "gofer-mount exits on SIGTERM")
        XCTAssertEqual(m.process.status, 0, "exit status 0")
        XCTAssertFalse(MountFixture.isMounted(m.mountpoint))
        XCTAssertEqual(try MountFixture.run(["od", "-An", "-tx1", "-v", m.export.appending("kept")]).output, bytes)
    }

    /// 1,000 files created and removed through the mount leave at most one reclaim period of stale dentries behind:
    /// gofer-mount (server included) holds no descriptor per removed file (the stale fids once piled up to EMFILE).
    func testRemovedFilesReleaseTheirDescriptors() throws {
        let m = try MountFixture(mode: "shared")
        defer { m.finish() }
        let fds = "/proc/\(m.process.processID)/fd"
        let before = try FileManager.default.contentsOfDirectory(atPath: fds).count
        try m.sh("mkdir d && i=0; while [ $i -lt 1000 ]; do echo x > d/f$i; i=$((i+1)); done; cat d/* > /dev/null; rm -r d")
        let after = try FileManager.default.contentsOfDirectory(atPath: fds).count
        // Fewer than 64 removals wait for the next reclaim, each with at most 4 descriptors (fid, handle, donated).
        XCTAssertLessThanOrEqual(after, before + 63 * 4, "descriptors of gofer-mount: \(before) before, \(after) after")
    }

    /// dd, cp, ls -la, mv, ln, rm -r; the export holds the same bytes once unmounted, and gofer-mount exits 0.
    func coreutils(mode: String) throws {
        let m = try MountFixture(mode: mode)
        defer { m.finish() }
        try m.sh("dd if=/dev/urandom of=a bs=64k count=20 status=none && cp a b && cmp a b")
        let listing = try m.sh("ls -la")
        XCTAssertTrue(listing.split(separator: "\n").contains { $0.hasSuffix(" a") && $0.contains(" 1310720 ") }, listing)
        XCTAssertTrue(listing.split(separator: "\n").contains { $0.hasSuffix(" b") && $0.contains(" 1310720 ") }, listing)
        XCTAssertTrue(listing.split(separator: "\n").contains { $0.hasSuffix(" .") }, listing)
        try m.sh("mv b c && test ! -e b && cmp a c")
        try m.sh("ln c d && cmp a d")
        XCTAssertEqual(try m.sh("stat -c %h c").trimmingCharacters(in: .whitespacesAndNewlines), "2")
        XCTAssertEqual(try m.sh("stat -c %i c"), try m.sh("stat -c %i d"))
        try m.sh("mkdir -p t/u/v && echo x > t/u/v/w && echo y > t/z && rm -r t && test ! -e t")
        // fstat of an open file whose only name was removed (the kernel names no handle: the node's open file answers).
        XCTAssertEqual(try m.sh("""
            python3 -c "import os; f = open('u', 'w'); f.write('x' * 10); f.flush(); os.unlink('u'); print(os.fstat(f.fileno()).st_size)"
            """), "10\n")
        let bytes = try m.sh("od -An -tx1 -v a")
        XCTAssertEqual(try m.unmount(), 0, "gofer-mount's exit status")
        XCTAssertFalse(MountFixture.isMounted(m.mountpoint))
        let names = try FileManager.default.contentsOfDirectory(atPath: m.export.path).sorted()
        XCTAssertEqual(names, ["a", "c", "d"])
        for name in ["a", "c", "d"] {
            let r = try MountFixture.run(["od", "-An", "-tx1", "-v", m.export.appending(name)])
            XCTAssertEqual(r.output, bytes, "\(name) on the export")
        }
    }

    /// git init, two commits, git fsck inside the mount; the repository is as sound on the export afterwards.
    func git(mode: String) throws {
        let m = try MountFixture(mode: mode)
        defer { m.finish() }
        let id = "-c user.name=gofer -c user.email=gofer@example.com"
        try m.sh("""
            git init -q repo && cd repo && for i in $(seq 1 40); do echo "line $i" > f$i; done && mkdir sub && \
            echo deep > sub/g && git add . && git \(id) commit -qm one && echo more >> f1 && git rm -q f2 && \
            git mv f3 sub/f3 && git \(id) commit -qam two && git fsck --full --strict && git gc -q && git fsck --full
            """)
        XCTAssertEqual(try m.sh("git log --oneline | wc -l", in: m.mountpoint + "/repo").trimmingCharacters(in: .whitespacesAndNewlines), "2")
        XCTAssertEqual(try m.sh("git status --porcelain", in: m.mountpoint + "/repo"), "")
        XCTAssertEqual(try m.unmount(), 0, "gofer-mount's exit status")
        let fsck = try MountFixture.run(["git", "-C", m.export.appending("repo"), "fsck", "--full"])
        XCTAssertEqual(fsck.status, 0, fsck.output)
    }

    /// A 1,000-file tree archived into the mount and back out: byte identical, mtimes (to the nanosecond) kept.
    func tar(mode: String) throws {
        let m = try MountFixture(mode: mode)
        defer { m.finish() }
        let source = m.scratch.appending("source"), out = m.scratch.appending("out")
        var files: [(path: String, bytes: [UInt8], mtime: timespec)] = []
        for d in 0..<10 {
            try FileManager.default.createDirectory(atPath: "\(source)/d\(d)", withIntermediateDirectories: true)
            for f in 0..<100 {
                let rel = "d\(d)/f\(f)"
                let bytes = patternBytes((d * 100 + f) * 37 % 9000, seed: UInt64(d * 100 + f + 1))
                try Data(bytes).write(to: URL(fileURLWithPath: "\(source)/\(rel)"))
                let t = timespec(tv_sec: 1_600_000_000 + d * 1000 + f, tv_nsec: 123_456_789 - f)
                var times = [t, t]
                XCTAssertEqual(utimensat(AT_FDCWD, "\(source)/\(rel)", &times, 0), 0)
                files.append((rel, bytes, t))
            }
        }
        XCTAssertEqual(files.count, 1000)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let inArchive = m.scratch.appending("in.tar"), outArchive = m.scratch.appending("out.tar")
        try m.sh("tar --format=posix -C \(source) -cf \(inArchive) . && mkdir in && tar -C in -xf \(inArchive)")
        try m.sh("tar --format=posix -C in -cf \(outArchive) . && tar -C \(out) -xf \(outArchive)")
        // What came out of the mount (tar read it through FUSE): the same bytes and times.
        for f in files {
            let path = "\(out)/\(f.path)"
            XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), f.bytes, path)
            var st = stat()
            XCTAssertEqual(lstat(path, &st), 0, path)
            XCTAssertEqual(st.st_mtim.tv_sec, f.mtime.tv_sec, path)
            XCTAssertEqual(st.st_mtim.tv_nsec, f.mtime.tv_nsec, path)
        }
        XCTAssertEqual(try m.unmount(), 0, "gofer-mount's exit status")
        // Written back to the server: the export holds the same bytes and times.
        for f in files {
            let path = m.export.appending("in/\(f.path)")
            XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), f.bytes, path)
            var st = stat()
            XCTAssertEqual(lstat(path, &st), 0, path)
            XCTAssertEqual(st.st_mtim.tv_sec, f.mtime.tv_sec, path)
            XCTAssertEqual(st.st_mtim.tv_nsec, f.mtime.tv_nsec, path)
        }
    }
}
