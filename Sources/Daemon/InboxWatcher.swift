import Glibc

/// inotify on the inbox folders (non-recursive). Owned and read by the main loop only.
///
/// Watched: `IN_MOVED_TO` (a finished file renamed in: taken at once), `IN_CLOSE_WRITE` (a file written in
/// place and closed: taken after the settle time), `IN_CREATE` and `IN_MODIFY` (a file appeared or was written
/// to: a writer has it open, so wait for its IN_CLOSE_WRITE even if it pauses longer than the settle time —
/// this also covers writers that create, close and reopen; links and folders, which never close, are found
/// through IN_CREATE too). Identical unread events are merged by the kernel, but a MODIFY is never merged
/// with the CLOSE_WRITE after it, so the order "written, then closed" is preserved. The kernel queue overflowing
/// (`IN_Q_OVERFLOW`) and a deleted inbox (`IN_IGNORED`) are reported so the daemon can rescan or complain.
final class InboxWatcher {
    enum Event: Equatable {
        case movedIn(inbox: String, name: String)
        case closedAfterWrite(inbox: String, name: String)
        case created(inbox: String, name: String, isDirectory: Bool)
        /// Written to: someone has it open for writing until the matching IN_CLOSE_WRITE.
        case modified(inbox: String, name: String)
        /// Events were lost: rescan everything.
        case overflow
        /// The inbox folder itself went away (deleted, unmounted).
        case inboxGone(String)
    }

    let fd: Int32
    private var inboxByWatch: [Int32: String] = [:]
    private var watchByInbox: [String: Int32] = [:]

    init() throws(SystemError) {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw SystemError("inotify_init1", path: "-") }
    }

    deinit { close(fd) }

    func watch(inbox name: String, path: String) throws(SystemError) {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ONLYDIR | IN_EXCL_UNLINK)
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { throw SystemError("inotify_add_watch", path: path) }
        inboxByWatch[wd] = name
        watchByInbox[name] = wd
    }

    func unwatchAll() {
        for wd in inboxByWatch.keys { inotify_rm_watch(fd, wd) }
        inboxByWatch = [:]
        watchByInbox = [:]
    }

    /// Everything queued now (never blocks).
    func drain() -> [Event] {
        var events: [Event] = []
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        let header = MemoryLayout<inotify_event>.size
        while true {
            let n = read(fd, buffer, size)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var offset = 0
            while offset + header <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                var name = ""
                if nameLength > 0 {
                    name = String(cString: (buffer + offset + header).assumingMemoryBound(to: CChar.self))
                }
                offset += header + nameLength
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { events.append(.overflow); continue }
                guard let inbox = inboxByWatch[event.wd] else { continue }
                if event.mask & UInt32(IN_IGNORED) != 0 {
                    inboxByWatch[event.wd] = nil
                    watchByInbox[inbox] = nil
                    events.append(.inboxGone(inbox))
                    continue
                }
                guard !name.isEmpty else { continue }
                if event.mask & UInt32(IN_MOVED_TO) != 0 {
                    events.append(.movedIn(inbox: inbox, name: name))
                } else if event.mask & UInt32(IN_CLOSE_WRITE) != 0 {
                    events.append(.closedAfterWrite(inbox: inbox, name: name))
                } else if event.mask & UInt32(IN_MODIFY) != 0 {
                    events.append(.modified(inbox: inbox, name: name))
                } else if event.mask & UInt32(IN_CREATE) != 0 {
                    events.append(.created(inbox: inbox, name: name, isDirectory: event.mask & UInt32(IN_ISDIR) != 0))
                }
            }
        }
        return events
    }

    func isWatching(_ inbox: String) -> Bool { watchByInbox[inbox] != nil }
}
