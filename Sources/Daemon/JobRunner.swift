import Foundation
import Glibc

/// Carries one claimed input through processing and delivery. Runs on a worker thread; everything it
/// touches is either its own job's files or the thread-safe ledger / training pool.
///
/// Delivery protocol (what makes "exactly one output" survive kill -9 at any instant):
///  1. the processor writes `<outbox>/.n2spd-<job>.tmp`; we fsync it;
///  2. ledger ← `delivering` (job, temp, candidate name);
///  3. `link(temp, candidate)`: fails atomically if the name is taken → next candidate, back to 2;
///  4. `unlink(temp)`, fsync the outbox; ledger ← `delivered`;
///  5. the input leaves the processing area (done/ or deleted).
/// `recover` resumes a job found in the processing area at start from whichever step it reached.
struct JobRunner: Sendable {
    let ledger: Ledger
    let configuration: DaemonConfiguration
    let pool: TrainingPool?

    func run(_ job: Job, processor: any ImageProcessor) -> JobOutcome {
        let path = job.claimedPath
        do {
            let (hash, size) = try inspectClaimedFile(job)
            if let earlier = ledger.delivered(inbox: job.inbox.name, name: job.originalName, hash: hash) {
                try finishInput(job)
                return .alreadyDelivered(output: earlier.output)
            }
            let temporary = job.temporaryOutputPath
            unlink(temporary)  // a leftover of an attempt that died before delivery
            var provenance = [
                "n2spd.version": DaemonVersion.string, "model.version": processor.model.version,
                "model.sha256": processor.model.hash, "input.sha256": hash, "input.name": job.originalName,
                "input.bytes": String(size), "time": ISO8601DateFormatter().string(from: Date()),
            ]
            let request = ProcessingRequest(
                originalName: job.originalName, inputHash: hash, maxPixels: configuration.maxPixels,
                memoryBudgetBytes: configuration.memoryBudgetBytes, provenance: provenance)
            let output: ProcessedOutput
            do {
                output = try processor.process(input: URL(fileURLWithPath: path), output: URL(fileURLWithPath: temporary), request: request)
            } catch {
                unlink(temporary)
                throw error
            }
            guard let written = FileOps.lstat(temporary), FileOps.isRegularFile(written), written.st_size > 0 else {
                unlink(temporary)
                throw ProcessingFailure.rejected("the image processor reported success but wrote no output")
            }
            try FileOps.syncFile(temporary)
            provenance.merge(output.provenance) { _, new in new }
            let stem = (job.originalName as NSString).deletingPathExtension
            let delivered = try deliver(job, hash: hash, temporary: temporary, name: "\(stem).\(output.fileExtension)",
                                        model: processor.model.version, startAttempt: 1)
            if configuration.provenanceSidecar { writeProvenanceSidecar(for: delivered, provenance) }
            if job.inbox.feedsTrainingPool { pool?.add(claimedFile: path, hash: hash) }
            try finishInput(job)
            return .delivered(output: delivered, model: processor.model.version)
        } catch let failure as ProcessingFailure {
            switch failure {
            case .rejected(let reason): return fail(job, reason: reason, model: processor.model)
            case .transient(let reason): return retryOrFail(job, reason: reason, model: processor.model)
            }
        } catch let error as SystemError {
            // Our own I/O (outbox, done/, ledger) failing is not the image's fault: retry, then give up to failed/.
            return retryOrFail(job, reason: error.description, model: processor.model)
        } catch {
            return retryOrFail(job, reason: "\(error)", model: processor.model)
        }
    }

    /// Resumes a job found in the processing area at start. Returns nil when it has to be processed (again).
    func recover(_ job: Job) -> JobOutcome? {
        guard let record = ledger.record(job: job.id) else { return nil }
        do {
            switch record.kind {
            case .delivered:
                try finishInput(job)
                return .delivered(output: record.output, model: record.model)
            case .delivering:
                let temporary = record.temporary ?? job.temporaryOutputPath
                let tempInfo = FileOps.lstat(temporary), outputInfo = FileOps.lstat(record.output)
                if let tempInfo, let outputInfo, tempInfo.st_ino == outputInfo.st_ino, tempInfo.st_dev == outputInfo.st_dev {
                    // Linked but the temp name not yet removed.
                    unlink(temporary)
                } else if tempInfo != nil {
                    // Not linked yet (or the name was taken meanwhile): continue delivering from the temp file.
                    let stem = (job.originalName as NSString).deletingPathExtension
                    let name = "\(stem).\((record.output as NSString).pathExtension)"
                    let output = try deliver(job, hash: record.hash, temporary: temporary, name: name, model: record.model, startAttempt: 1)
                    try finishInput(job)
                    return .delivered(output: output, model: record.model)
                } else if outputInfo == nil {
                    // Neither temp nor output: the output was removed by someone; make it again.
                    return nil
                }
                // temp gone + output present: the link happened (temp is only removed after it).
                try FileOps.syncDirectory(job.inbox.outbox.path)
                var done = record
                done.kind = .delivered
                done.temporary = nil
                done.time = Date()
                try ledger.append(done)
                try finishInput(job)
                return .delivered(output: record.output, model: record.model)
            }
        } catch {
            return .retry(reason: "recovering \(job.originalName): \(error)")
        }
    }

    /// lstat + O_NOFOLLOW open + fstat: refuses links and non-regular files, enforces the size cap, hashes.
    private func inspectClaimedFile(_ job: Job) throws -> (hash: String, size: Int64) {
        let path = job.claimedPath
        guard let info = FileOps.lstat(path) else { throw SystemError("lstat", path: path) }
        if FileOps.isSymlink(info) {
            throw ProcessingFailure.rejected("is a symbolic link; n2spd never follows links out of the inbox")
        }
        if FileOps.isDirectory(info) { throw ProcessingFailure.rejected("is a directory, not an image file") }
        guard FileOps.isRegularFile(info) else { throw ProcessingFailure.rejected("is not a regular file (device, FIFO or socket)") }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { throw ProcessingFailure.rejected("is a symbolic link; n2spd never follows links out of the inbox") }
            throw SystemError("open", path: path)
        }
        defer { close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0 else { throw SystemError("fstat", path: path) }
        guard opened.st_mode & S_IFMT == S_IFREG else { throw ProcessingFailure.rejected("is not a regular file") }
        let size = Int64(opened.st_size)
        if size == 0 { throw ProcessingFailure.rejected("is empty (0 bytes)") }
        if size > configuration.maxFileSizeBytes {
            throw ProcessingFailure.rejected("is \(size) bytes, over max_file_size = \(configuration.maxFileSizeBytes) bytes")
        }
        return (try FileDigest.sha256(fileDescriptor: fd, path: path), size)
    }

    /// Steps 2–4 of the delivery protocol; returns the output's final path.
    private func deliver(_ job: Job, hash: String, temporary: String, name: String, model: String, startAttempt: Int) throws -> String {
        let outbox = job.inbox.outbox.path
        for attempt in startAttempt...(startAttempt + 10_000) {
            let candidate = "\(outbox)/\(FileOps.uniqueName(name, attempt: attempt))"
            if FileOps.lstat(candidate) != nil { continue }
            let record = LedgerRecord(kind: .delivering, job: job.id, inbox: job.inbox.name, name: job.originalName, hash: hash,
                                      output: candidate, temporary: temporary, model: model, time: Date())
            try ledger.append(record)
            if link(temporary, candidate) != 0 {
                if errno == EEXIST { continue }
                throw SystemError("link", path: "\(temporary) → \(candidate)")
            }
            unlink(temporary)
            try FileOps.syncDirectory(outbox)
            var done = record
            done.kind = .delivered
            done.temporary = nil
            try ledger.append(done)
            return candidate
        }
        throw SystemError("link", path: "\(outbox)/\(name)", code: EEXIST)
    }

    /// Step 5: the input leaves the processing area.
    private func finishInput(_ job: Job) throws {
        switch job.inbox.onSuccess {
        case .move:
            try FileOps.makeDirectory(job.inbox.doneDirectory)
            try FileOps.moveUniquely(job.claimedPath, intoDirectory: job.inbox.doneDirectory.path, name: job.originalName)
        case .delete:
            guard unlink(job.claimedPath) == 0 || errno == ENOENT else { throw SystemError("unlink", path: job.claimedPath) }
        }
        try FileOps.syncDirectory(job.inbox.processingDirectory.path)
    }

    private func retryOrFail(_ job: Job, reason: String, model: ModelIdentity) -> JobOutcome {
        if job.attempt < configuration.transientRetries { return .retry(reason: reason) }
        return fail(job, reason: "\(reason) (gave up after \(job.attempt + 1) attempts)", model: model)
    }

    /// Moves the input to failed/ and writes `<final name>.error.json` beside it.
    func fail(_ job: Job, reason: String, model: ModelIdentity?) -> JobOutcome {
        do {
            try FileOps.makeDirectory(job.inbox.failedDirectory)
            let final = try FileOps.moveUniquely(job.claimedPath, intoDirectory: job.inbox.failedDirectory.path, name: job.originalName)
            let record = FailureRecord(input: job.originalName, inbox: job.inbox.name, reason: reason, time: Date(), attempts: job.attempt + 1,
                                       daemonVersion: DaemonVersion.string, modelVersion: model?.version, modelHash: model?.hash)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            try FileOps.replaceAtomically("\(final).error.json", (try? encoder.encode(record)) ?? Data())
            return .failed(reason: reason)
        } catch {
            // Cannot even move it to failed/: keep the claim, try again later (never lose the file).
            return .retry(reason: "\(reason); moving it to \(job.inbox.failedDirectory.path) failed: \(error)")
        }
    }

    private func writeProvenanceSidecar(for output: String, _ provenance: [String: String]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(provenance) else { return }
        do { try FileOps.replaceAtomically("\(output).json", data) } catch {
            Journal.warning("\(output).json: could not write the provenance sidecar: \(error)")
        }
    }
}
