#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `write(2)`, named apart from `AtomicFile.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }

/// Writes a file so that readers see either the old file or the complete new one, never a partial one:
/// data goes to a hidden temp file in the same directory, is fsynced, then renamed over the target, and
/// the directory is fsynced so the rename survives a crash.
final class AtomicFile {
    let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var finished = false

    init(path: String) throws(CheckpointError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = (directory.isEmpty ? "" : directory + "/") + ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .io(file: path, reason: "cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        if !finished {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(file: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8]) throws(CheckpointError) {
        let failure = bytes.withUnsafeBytes { raw -> CheckpointError? in
            do { try write(raw) } catch let error as CheckpointError { return error } catch { return .io(file: path, reason: "\(error)") }
            return nil
        }
        if let failure { throw failure }
    }

    /// fsync, rename over `path`, fsync the directory.
    func commit() throws(CheckpointError) {
        guard fsync(descriptor) == 0 else { throw .io(file: path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
        close(descriptor)
        finished = true
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .io(file: path, reason: "rename from \(temporaryPath) failed: \(reason)")
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dirDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirDescriptor >= 0 {
            fsync(dirDescriptor)
            close(dirDescriptor)
        }
    }
}
