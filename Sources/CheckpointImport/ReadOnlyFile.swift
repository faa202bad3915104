#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file read with `pread`, so concurrent readers of one bundle need no shared cursor.
final class ReadOnlyFile: Sendable {
    let path: String
    let size: Int
    private let descriptor: Int32

    /// Opens `path`; nil if it does not exist (so callers can report it in their own terms), throws for
    /// other failures.
    init?(path: String) throws(CheckpointError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw .io(file: path, reason: "cannot open: \(String(cString: strerror(code)))")
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .io(file: path, reason: "cannot stat: \(reason)")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .io(file: path, reason: "not a regular file")
        }
        self.path = path
        self.descriptor = fd
        self.size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Fills `buffer` from `offset`; the range must lie inside the file (checked by callers against `size`).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(CheckpointError) {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(file: path, reason: "read failed at offset \(offset + done): \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw .io(file: path, reason: "file shrank while reading (offset \(offset + done))") }
            done += n
        }
    }

    func readAll() throws(CheckpointError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        let failure = bytes.withUnsafeMutableBytes { raw -> CheckpointError? in
            guard raw.count > 0 else { return nil }
            do { try read(into: raw, at: 0) } catch let error as CheckpointError { return error } catch { return .io(file: path, reason: "\(error)") }
            return nil
        }
        if let failure { throw failure }
        return bytes
    }
}

/// File-system queries used to resolve checkpoint paths.
enum FileSystem {
    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    static func contentsOfDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
