import FuzzSupport
import ProfhistKit

// libFuzzer's own `main` (linked whole) calls this symbol too, so the harness works whichever `main` the linker keeps.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzInput.run(data, size, recognizes: TaskDumpParser.recognizes) { path in
        FuzzInput.check(try TaskDumpParser().parse(path: path).snapshot)
    }
}

FuzzInput.runDriver(testOneInput)
