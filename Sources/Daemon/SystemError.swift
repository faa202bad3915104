import Glibc

/// A failed system call on a file: which call, which path, and errno's text.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public var call: String
    public var path: String
    public var code: Int32

    public init(_ call: String, path: String, code: Int32 = errno) {
        self.call = call
        self.path = path
        self.code = code
    }

    public var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }

    /// Conditions that go away by themselves (space freed, device back): worth retrying with back-off.
    public var isTransient: Bool {
        [ENOSPC, EDQUOT, EIO, ENOMEM, EMFILE, ENFILE, EAGAIN, EBUSY, ETIMEDOUT, ESTALE, EINTR].contains(code)
    }
}
