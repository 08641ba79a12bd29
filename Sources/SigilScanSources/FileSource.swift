import Foundation
import SigilScanner
import Synchronization

/// Scans files and folders: walks them (honouring `.gitignore` files unless told not to, never
/// following symbolic links inside a folder, so a link loop cannot trap it), skips binaries and
/// files over the size limit, and reads and scans with one worker per core.
public struct FileSource: Sendable {
    public struct Options: Sendable {
        public var respectGitignore = true
        /// Files larger than this are skipped with a warning; 0 means no limit.
        public var maximumFileSize = 10 << 20
        public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

        public init() {}
    }

    let scanner: SecretScanner
    let options: Options

    public init(scanner: SecretScanner, options: Options) {
        self.scanner = scanner
        self.options = options
    }

    /// Bytes read per `read(2)`; also the piece size for files scanned in pieces.
    static let chunkSize = 8 << 20
    /// What two consecutive pieces of a large file share, so no secret is cut in two.
    static let overlap = 64 << 10

    /// Scans `paths`; `progress` is called now and then with (files, bytes) so far.
    public func scan(_ paths: [String], progress: (@Sendable (Int, Int) -> Void)? = nil) -> ScanReport {
        var walker = Walker(options: options, scanner: scanner)
        for path in paths { walker.add(root: path, showRoot: paths.count > 1) }
        let files = walker.files
        let next = Atomic<Int>(0)
        let scannedBytes = Atomic<Int>(0)
        let results = Mutex<[ScanReport]>([])
        let workers = min(options.workers, max(1, files.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var report = ScanReport(findings: [])
            var buffer = [UInt8](repeating: 0, count: Self.chunkSize + Self.overlap)
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < files.count else { break }
                let file = files[index]
                let read = scanFile(file, buffer: &buffer, into: &report)
                report.scannedBytes += read
                report.scannedObjects += read > 0 || file.size == 0 ? 1 : 0
                let total = scannedBytes.add(read, ordering: .relaxed).newValue
                if index % 64 == 0 { progress?(index + 1, total) }
            }
            results.withLock { $0.append(report) }
        }
        var merged = ScanReport(findings: [], problems: walker.problems)
        for report in results.withLock({ $0 }) {
            merged.merge(report)
        }
        return merged
    }

    /// Reads and scans one file; returns the bytes read (0 when it was skipped).
    private func scanFile(_ file: Walker.File, buffer: inout [UInt8], into report: inout ScanReport) -> Int {
        if options.maximumFileSize > 0, file.size > options.maximumFileSize {
            report.problems.append(SourceProblem(
                path: file.display,
                message: "skipped: \(ScanReport.megabytes(file.size)) is over the \(ScanReport.megabytes(options.maximumFileSize)) limit (raise it with --max-file-size)"))
            return 0
        }
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            report.problems.append(SourceProblem(path: file.display, message: "cannot read: \(String(cString: strerror(errno)))"))
            return 0
        }
        defer { close(descriptor) }
        return scanStream(descriptor, display: file.display, buffer: &buffer, into: &report)
    }

    /// Scans standard input, in pieces like a large file.
    public func scanStandardInput(name: String) -> ScanReport {
        var report = ScanReport(findings: [])
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize + Self.overlap)
        report.scannedBytes = scanStream(0, display: name, buffer: &buffer, into: &report)
        report.scannedObjects = 1
        return report
    }

    /// Reads a descriptor to its end in pieces and scans each; returns the bytes read (0 for a
    /// binary).
    func scanStream(_ descriptor: Int32, display: String, buffer: inout [UInt8], into report: inout ScanReport) -> Int {
        var total = 0
        var carried = 0
        // Where the buffer's first byte is in the file.
        var firstLine = 1
        var firstColumn = 1
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in
                readFully(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: raw[carried..<(carried + Self.chunkSize)]))
            }
            if count < 0 {
                report.problems.append(SourceProblem(path: display, message: "cannot read: \(String(cString: strerror(errno)))"))
                return total
            }
            let filled = carried + count
            // Like git: a NUL in the first 8 kB makes a file binary.
            if total == 0, buffer[0..<min(filled, 8000)].contains(0) { return 0 }
            total += count
            let atEnd = count < Self.chunkSize
            // This piece reports what starts before the part it hands on to the next one: the
            // last `overlap` bytes, from a line start if there is one in them.
            var keepFrom = filled
            if !atEnd {
                keepFrom = filled - Self.overlap
                var lineStart = keepFrom
                while lineStart < filled, buffer[lineStart - 1] != UInt8(ascii: "\n") { lineStart += 1 }
                if lineStart < filled {
                    keepFrom = lineStart
                } else {
                    while keepFrom > 0, buffer[keepFrom] & 0xC0 == 0x80 { keepFrom -= 1 }
                }
            }
            let source = ScanSource(path: display, firstLine: firstLine, firstColumn: firstColumn)
            report.findings += buffer.withUnsafeBufferPointer { pointer in
                scanner.findings(in: UnsafeBufferPointer(rebasing: pointer[0..<filled]), source: source, reportingBefore: atEnd ? nil : keepFrom)
            }
            if atEnd { return total }
            for byte in buffer[0..<keepFrom] {
                if byte == UInt8(ascii: "\n") {
                    firstLine += 1
                    firstColumn = 1
                } else if byte & 0xC0 != 0x80 {
                    firstColumn += 1
                }
            }
            carried = filled - keepFrom
            buffer.withUnsafeMutableBufferPointer { pointer in
                _ = memmove(pointer.baseAddress!, pointer.baseAddress! + keepFrom, carried)
            }
        }
    }
}

/// `read(2)` until the buffer is full or the file ends; -1 on error.
func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    var filled = 0
    while filled < buffer.count {
        let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
        if count < 0 {
            if errno == EINTR { continue }
            return -1
        }
        if count == 0 { break }
        filled += count
    }
    return filled
}

