import Denoiser
import Foundation
import Glibc

/// SHA-256 of files for the ledger and provenance, using the image module's `SHA256`.
enum FileDigest {
    /// Hashes through an already open descriptor, so the bytes hashed are those of the file we claimed,
    /// not of whatever a symlink might point to.
    static func sha256(fileDescriptor fd: Int32, path: String) throws(SystemError) -> String {
        var hasher = SHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let n = pread(fd, buffer.baseAddress!, chunk, offset)
            if n < 0 { if errno == EINTR { continue }; throw SystemError("read", path: path) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += off_t(n)
        }
        return hasher.finalize()
    }

    /// Hashes a regular file (not following a final symlink).
    static func sha256(file path: String) throws(SystemError) -> String {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        defer { close(fd) }
        return try sha256(fileDescriptor: fd, path: path)
    }
}
