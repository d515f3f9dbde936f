import CGzip
import Foundation

/// gzip in and out, through the system zlib (the `CGzip` shim).
///
/// pprof profiles are gzipped by convention, both those profhist reads and those it writes. Kept in this one
/// file so that other gzip input (a gzipped dump) can share it.
public enum Gzip {
    /// Whether `data` starts with gzip's magic bytes.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Why a stream could not be inflated.
    public enum Failure: Error, Equatable {
        case corrupt
        case tooLarge(limit: Int)
        case outOfMemory
    }

    /// Inflates a gzip stream, refusing to produce more than `limit` bytes (a decompression bomb).
    public static func decompress(_ data: Data, limit: Int = 1 << 32) -> Result<Data, Failure> {
        var output: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let status = data.withUnsafeBytes { raw -> Int32 in
            let bytes = raw.bindMemory(to: UInt8.self)
            return profhist_gunzip(bytes.baseAddress, bytes.count, limit, &output, &length)
        }
        switch status {
        case 0:
            guard let output else { return .success(Data()) }
            return .success(Data(bytesNoCopy: output, count: length, deallocator: .free))
        case -2: return .failure(.tooLarge(limit: limit))
        case -3: return .failure(.outOfMemory)
        default: return .failure(.corrupt)
        }
    }

    /// Deflates `data` into a gzip stream; nil when zlib fails (out of memory, or more than 4 GiB).
    public static func compress(_ data: Data) -> Data? {
        guard data.count < Int(UInt32.max) else { return nil }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let status = data.withUnsafeBytes { raw -> Int32 in
            let bytes = raw.bindMemory(to: UInt8.self)
            return profhist_gzip(bytes.baseAddress, bytes.count, &output, &length)
        }
        guard status == 0, let output else { return nil }
        return Data(bytesNoCopy: output, count: length, deallocator: .free)
    }
}
