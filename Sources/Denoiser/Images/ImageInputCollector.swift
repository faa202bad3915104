import Foundation

/// Turns command-line paths into the image files to process.
///
/// - A file named explicitly is always taken (its content decides whether it is an image; a bad one fails
///   on its own later with a precise error).
/// - A folder contributes its `.png`, `.jpg`, `.jpeg` (any case) regular files, sorted by name, skipping
///   hidden files (a leading `.`, e.g. our own temp files); subfolders only with `recursive`. Symbolic
///   links to files are followed; links to folders are not descended (no cycles).
/// - A path that does not exist is reported as a problem, and the others still run.
public enum ImageInputCollector {
    public static func collect(_ paths: [String], recursive: Bool) -> (files: [URL], problems: [ImageError]) {
        var files: [URL] = []
        var problems: [ImageError] = []
        var seen = Set<String>()
        func add(_ url: URL) {
            let key = url.standardizedFileURL.path
            if seen.insert(key).inserted { files.append(url) }
        }
        for path in paths {
            let url = URL(fileURLWithPath: path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                problems.append(.notFound(path: path))
                continue
            }
            if isDirectory.boolValue {
                scan(url, recursive: recursive, add: add, problems: &problems)
            } else {
                add(url)
            }
        }
        return (files, problems)
    }

    private static func scan(_ folder: URL, recursive: Bool, add: (URL) -> Void, problems: inout [ImageError]) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() } catch {
            problems.append(.unreadable(path: folder.path, reason: "cannot list the folder: \(error.localizedDescription)"))
            return
        }
        var subfolders: [URL] = []
        for name in names where !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            var st = stat()
            guard lstat(url.path, &st) == 0 else { continue }
            let type = st.st_mode & S_IFMT
            if type == S_IFDIR {
                subfolders.append(url)
            } else if ImageFormat(pathExtension: url.pathExtension) != nil, type == S_IFREG || type == S_IFLNK {
                add(url)
            }
        }
        if recursive {
            for sub in subfolders { scan(sub, recursive: true, add: add, problems: &problems) }
        }
    }
}
