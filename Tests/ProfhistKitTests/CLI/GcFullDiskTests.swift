import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// gc on a nearly full disk (issue 21, point 7): it either removes the rows or says what it needs, leaves the
/// store whole, and never reports work it did not do.
@Suite("gc on a full disk", .serialized)
struct GcFullDiskTests {
    @Test("gc --keep-builds 1 on a nearly full tmpfs: done, or refused saying what is needed; never a false claim")
    func gcOnNearlyFullDisk() throws {
        guard Shell.canMount() else { return }
        let folder = try Fixtures.temporaryFolder()
        let program = try Fixtures.buildBranchy(in: folder)
        let db = folder.appendingPathComponent("p.db").path
        for build in 1...4 {
            let dumps = try Fixtures.runBranchy(program, levels: 12, seed: build, prefix: folder.appendingPathComponent("b\(build)"), dumps: 2)
            let result = try Fixtures.profhist(["ingest"] + dumps.map(\.path) + ["--build", "v\(build)", "--binary", program.path, "--db", db])
            try #require(result.status == 0, "\(result.stderr)")
        }
        let size = try FileManager.default.attributesOfItem(atPath: db)[.size] as? Int ?? 0
        try #require(size > 1 << 20, "store of \(size) bytes")
        // The store on a tmpfs filled to 64 KiB of spare room: deleting three of four builds needs far more WAL than
        // that. Then the filler goes, leaving room for the deletion and the VACUUM.
        let result = try Shell.run(
            """
            unshare --mount bash -c '
              mkdir -p "$D/small" && mount -t tmpfs -o size=\(3 * size / 1024 + 2048)k none "$D/small"
              cp "$D/p.db" "$D/small/p.db"
              avail=$(df --output=avail -k "$D/small" | tail -1)
              head -c $(( (avail - 64) * 1024 )) /dev/zero > "$D/small/pad" 2>/dev/null
              "$P" gc --keep-builds 1 --format csv --db "$D/small/p.db"; echo "gc-keep $?"
              echo "--- bare" >&2
              "$P" gc --format csv --db "$D/small/p.db"; echo "gc-bare $?"
              echo "--- end" >&2
              "$P" snapshots --format csv --db "$D/small/p.db" | tail -n +2 | wc -l | sed "s/^/snapshots /"
              sqlite3 "$D/small/p.db" "PRAGMA integrity_check" | sed "s/^/integrity /"
              rm "$D/small/pad"
              "$P" gc --keep-builds 1 --format csv --db "$D/small/p.db"; echo "gc-roomy $?"
              "$P" snapshots --format csv --db "$D/small/p.db" | tail -n +2 | wc -l | sed "s/^/snapshots-after /"
            '
            """, in: folder)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let log = "\(result.stdout)\n\(result.stderr)"
        #expect(lines.contains("integrity ok"), "\(log)")
        if lines.contains("gc-keep 1") {
            // Refused: the store is as it was, the message says what is needed, and nothing claims a removal.
            #expect(lines.contains("snapshots 8"), "\(log)")
            #expect(result.stderr.contains("the disk is full") && result.stderr.contains("is free"), "\(log)")
            let keep = result.stderr.components(separatedBy: "--- bare").first ?? ""
            #expect(!keep.contains("removed 3 builds"), "\(log)")
        } else {
            #expect(lines.contains("gc-keep 0") && lines.contains("snapshots 2"), "\(log)")
        }
        let bare = result.stderr.components(separatedBy: "--- bare").last?.components(separatedBy: "--- end").first ?? ""
        #expect(!bare.contains("removed the rows"), "a gc that removed nothing claimed it did: \(log)")
        #expect(lines.contains("gc-roomy 0") && lines.contains("snapshots-after 2"), "\(log)")
    }
}
