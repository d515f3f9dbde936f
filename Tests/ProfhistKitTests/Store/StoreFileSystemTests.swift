import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Where a store may live: SQLite's WAL mode needs shared memory and locks that network file systems lack.
@Suite("store file system")
struct StoreFileSystemTests {
    @Test("statfs magic numbers: network file systems, uncertain ones, and everything else local")
    func classify() {
        #expect(StoreFileSystem.classify(magic: 0x6969) == StoreFileSystem(name: "NFS", risk: .network))
        #expect(StoreFileSystem.classify(magic: 0xFF53_4D42)?.risk == .network)  // CIFS
        #expect(StoreFileSystem.classify(magic: 0xFE53_4D42)?.risk == .network)  // SMB2
        #expect(StoreFileSystem.classify(magic: 0x00C3_6400)?.risk == .network)  // Ceph
        #expect(StoreFileSystem.classify(magic: 0x6573_5546) == StoreFileSystem(name: "FUSE", risk: .uncertain))
        #expect(StoreFileSystem.classify(magic: 0x0102_1997)?.risk == .uncertain)  // 9p
        #expect(StoreFileSystem.classify(magic: 0xEF53) == nil)  // ext4
        #expect(StoreFileSystem.classify(magic: 0x0102_1994) == nil)  // tmpfs
        #expect(StoreFileSystem.classify(magic: 0x5846_5342) == nil)  // xfs
    }

    @Test("local disks and tmpfs are not flagged, for an existing store or one about to be created")
    func localPaths() throws {
        let folder = try Fixtures.temporaryFolder()
        let store = folder.appendingPathComponent("p.db").path
        #expect(StoreFileSystem.of(path: store) == nil)
        _ = FileManager.default.createFile(atPath: store, contents: Data())
        #expect(StoreFileSystem.of(path: store) == nil)
        #expect(StoreFileSystem.of(path: "/dev/shm/none.db") == nil)
        #expect(StoreFileSystem.of(path: "/no/such/folder/p.db") == nil)
    }

    @Test("writing to a network file system is refused, naming the path, the file system and the override; reading is warned about")
    func decisions() throws {
        let nfs = StoreFileSystem(name: "NFS", risk: .network)
        let fuse = StoreFileSystem(name: "FUSE", risk: .uncertain)
        #expect(throws: StoreError.networkFileSystem(path: "/mnt/nfs/p.db", fileSystem: "NFS")) {
            try Store.checkFileSystem(path: "/mnt/nfs/p.db", writing: true, allowNetwork: false, fileSystem: nfs)
        }
        let message = StoreError.networkFileSystem(path: "/mnt/nfs/p.db", fileSystem: "NFS").localizedDescription
        #expect(message.hasPrefix("/mnt/nfs/p.db: ") && message.contains("NFS") && message.contains("PROFHIST_ALLOW_NETWORK_FS=1"))
        #expect(message.contains("local disk"))
        let allowed = try Store.checkFileSystem(path: "/mnt/nfs/p.db", writing: true, allowNetwork: true, fileSystem: nfs)
        #expect(allowed?.contains("NFS") == true)
        let reading = try Store.checkFileSystem(path: "/mnt/nfs/p.db", writing: false, allowNetwork: false, fileSystem: nfs)
        #expect(reading?.contains("network file system") == true)
        #expect(try Store.checkFileSystem(path: "/mnt/f/p.db", writing: true, allowNetwork: false, fileSystem: fuse)?.contains("FUSE") == true)
        #expect(try Store.checkFileSystem(path: "/mnt/f/p.db", writing: false, allowNetwork: false, fileSystem: fuse) == nil)
        #expect(try Store.checkFileSystem(path: "/tmp/p.db", writing: true, allowNetwork: false, fileSystem: nil) == nil)
    }

    @Test("a store on a real FUSE mount (bindfs): ingest warns and works, readers stay quiet")
    func fuseMount() throws {
        guard Fixtures.available("bindfs"), getuid() == 0 else {
            print("skipped: a FUSE mount needs bindfs (apt-get install bindfs) and root")
            return
        }
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let source = folder.appendingPathComponent("source")
        let mount = folder.appendingPathComponent("mount")
        for url in [source, mount] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        // bindfs in the foreground (-f): a daemonized one would keep the test's process-exit watch open.
        let bindfs = Process()
        bindfs.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        bindfs.arguments = ["bindfs", "-f", source.path, mount.path]
        bindfs.standardOutput = FileHandle.nullDevice
        bindfs.standardError = FileHandle.nullDevice
        try bindfs.run()
        defer {
            _ = try? Fixtures.run("umount", [mount.path])
            bindfs.terminate()
        }
        let deadline = Date().addingTimeInterval(10)
        while StoreFileSystem.of(path: mount.path)?.name != "FUSE" && bindfs.isRunning && Date() < deadline { usleep(10_000) }
        guard StoreFileSystem.of(path: mount.path)?.name == "FUSE" else {
            print("skipped: bindfs could not mount (is /dev/fuse there?)")
            return
        }
        let db = mount.appendingPathComponent("p.db").path
        let ingest = try Fixtures.profhist(["ingest", set.dumps1[0].path, "--build", "v1", "--binary", set.program1.path, "--db", db])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("warning: \(db) is on FUSE"), "\(ingest.stderr)")
        #expect(ingest.stderr.contains("stored as snapshot 1"))
        let top = try Fixtures.profhist(["top", "--db", db])
        #expect(top.status == 0, "\(top.stderr)")
        #expect(!top.stderr.contains("warning"), "\(top.stderr)")
    }
}
