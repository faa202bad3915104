import CDaemonSys
import Foundation
import Glibc

/// The few file operations the daemon's never-lose-a-file guarantees rest on, as thin wrappers over the
/// system calls (Foundation's FileManager replaces files silently and does not fsync).
enum FileOps {
    static func lstat(_ path: String) -> stat? {
        var info = Glibc.stat()
        return Glibc.lstat(path, &info) == 0 ? info : nil
    }

    static func isRegularFile(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }
    static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }
    static func isSymlink(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFLNK }

    static func mtimeNanoseconds(_ info: stat) -> Int64 { Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec) }

    /// Creates `url` and its parents (mode 0750); an existing directory is fine.
    static func makeDirectory(_ url: URL) throws(SystemError) {
        var path = ""
        for component in url.standardizedFileURL.path.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o750) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
        }
        guard let info = statFollowing(url.path), isDirectory(info) else { throw SystemError("mkdir", path: url.path, code: ENOTDIR) }
    }

    static func statFollowing(_ path: String) -> stat? {
        var info = Glibc.stat()
        return fstatat(AT_FDCWD, path, &info, 0) == 0 ? info : nil
    }

    /// fsync on a directory makes a rename/link/unlink in it durable.
    static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("fsync", path: path) }
    }

    static func syncFile(_ path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("fsync", path: path) }
    }

    /// Writes `data` to a new file (fails if it exists), fsyncs it.
    static func writeNewFile(_ path: String, _ data: Data, mode: mode_t = 0o640) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        var failure: SystemError?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; failure = SystemError("write", path: path); return }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = SystemError("fsync", path: path) }
        close(fd)
        if let failure { unlink(path); throw failure }
    }

    /// Replaces `path` atomically with `data` (temp file + fsync + rename + directory fsync): for files we own
    /// (status, pointers), where replacing is the point.
    static func replaceAtomically(_ path: String, _ data: Data) throws(SystemError) {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        try writeNewFile(temporary, data)
        guard rename(temporary, path) == 0 else {
            let error = SystemError("rename", path: path)
            unlink(temporary)
            throw error
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Moves `from` to `to` without ever replacing an existing `to`; returns false (and changes nothing)
    /// when `to` exists. Uses renameat2(RENAME_NOREPLACE); where the file system lacks it, link()+unlink()
    /// for files (link fails with EEXIST atomically), and a checked rename for directories.
    static func moveNoReplace(_ from: String, _ to: String) throws(SystemError) -> Bool {
        if n2spd_rename_noreplace(from, to) == 0 { return true }
        let code = errno
        switch code {
        case EEXIST: return false
        case EINVAL, ENOSYS, EOPNOTSUPP:
            if link(from, to) == 0 {
                guard unlink(from) == 0 else { throw SystemError("unlink", path: from) }
                return true
            }
            if errno == EEXIST { return false }
            // Directories cannot be hard-linked: the check-then-rename race only matters in our own folders.
            if lstat(to) != nil { return false }
            guard rename(from, to) == 0 else { throw SystemError("rename", path: "\(from) → \(to)") }
            return true
        default:
            throw SystemError("rename", path: "\(from) → \(to)", code: code)
        }
    }

    /// Moves `from` into `directory` under `name`, or `name` with ` (2)`, ` (3)` … inserted before the
    /// extension when taken. Falls back to copy + fsync + unlink across file systems (EXDEV).
    /// Returns the final path.
    @discardableResult
    static func moveUniquely(_ from: String, intoDirectory directory: String, name: String) throws(SystemError) -> String {
        for attempt in 1...10_000 {
            let candidate = "\(directory)/\(uniqueName(name, attempt: attempt))"
            do {
                if try moveNoReplace(from, candidate) {
                    try syncDirectory(directory)
                    return candidate
                }
            } catch where error.code == EXDEV {
                if try copyNoReplace(from, candidate) {
                    guard unlink(from) == 0 else { throw SystemError("unlink", path: from) }
                    try syncDirectory(directory)
                    return candidate
                }
            }
        }
        throw SystemError("rename", path: "\(directory)/\(name)", code: EEXIST)
    }

    /// `name`, or `stem (n).ext` for attempt n ≥ 2.
    static func uniqueName(_ name: String, attempt: Int) -> String {
        guard attempt > 1 else { return name }
        let ns = name as NSString
        let ext = ns.pathExtension
        let stem = ext.isEmpty ? name : ns.deletingPathExtension
        return ext.isEmpty ? "\(stem) (\(attempt))" : "\(stem) (\(attempt)).\(ext)"
    }

    /// Copies a regular file (or recreates a symlink) to `to` via a temp file and link(); false if `to` exists.
    private static func copyNoReplace(_ from: String, _ to: String) throws(SystemError) -> Bool {
        guard let info = lstat(from) else { throw SystemError("lstat", path: from) }
        let directory = (to as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.n2spd-copy-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        if isSymlink(info) {
            var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = buffer.withUnsafeMutableBytes { readlink(from, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
            guard n >= 0 else { throw SystemError("readlink", path: from) }
            guard symlink(String(decoding: buffer[..<n], as: UTF8.self), temporary) == 0 else { throw SystemError("symlink", path: temporary) }
        } else if isRegularFile(info) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: from)) } catch { throw SystemError("read", path: from, code: EIO) }
            try writeNewFile(temporary, data)
        } else {
            // A directory or device cannot be copied safely; leave it where it is.
            throw SystemError("copy", path: from, code: EXDEV)
        }
        defer { unlink(temporary) }
        if link(temporary, to) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("link", path: to)
    }
}
