/// Runs every detector over a buffer: one keyword pass, then the detectors at each occurrence,
/// then overlapping detections resolved in favour of the more specific rule.
public struct ScanEngine: Sendable {
    let detectors: [any Detector]
    let index: KeywordIndex
    /// Custom rules without keywords, tried on every line.
    let everyLine: [CustomRuleDetector]

    public init(detectors: [any Detector] = BuiltinRules.detectors) {
        self.detectors = detectors
        self.index = KeywordIndex(detectors)
        self.everyLine = detectors.compactMap { ($0 as? CustomRuleDetector).flatMap { $0.readsEveryLine ? $0 : nil } }
    }

    /// The detections in `bytes`, ordered by position, with overlaps resolved.
    public func detections(in bytes: UnsafeBufferPointer<UInt8>, isConfiguration: Bool = true) -> [Detection] {
        detections(in: bytes, format: isConfiguration ? .configuration : .code)
    }

    /// The detections in `bytes` of a file of `format`, ordered by position, with overlaps resolved.
    public func detections(in bytes: UnsafeBufferPointer<UInt8>, format: ScanText.Format) -> [Detection] {
        let text = ScanText(bytes, format: format)
        var detections: [Detection] = []
        // A keyword inside what a detector has just reported is part of that finding: asking the
        // detector again would report the same bytes once per keyword (`glpat-glpat-…`).
        var reportedUntil = [Int](repeating: 0, count: detectors.count)
        index.forEachOccurrence(in: bytes) { detector, range in
            guard range.lowerBound >= reportedUntil[detector] else { return }
            let before = detections.count
            detectors[detector].detect(in: text, at: range, into: &detections)
            for detection in detections[before...] {
                reportedUntil[detector] = max(reportedUntil[detector], detection.match.upperBound)
            }
        }
        for detector in everyLine { detector.detectEveryLine(in: text, into: &detections) }
        let resolved = Self.resolveOverlaps(detections)
        // A value a context rule judged not to be a secret hides what other rules saw in it, and
        // is not reported itself.
        return resolved.contains { $0.rule == BuiltinRules.notASecret } ? resolved.filter { $0.rule != BuiltinRules.notASecret } : resolved
    }

    /// Keeps, of detections whose secrets overlap, the one with the highest precedence (the
    /// longer one on a tie, then the earlier one).
    static func resolveOverlaps(_ detections: [Detection]) -> [Detection] {
        guard detections.count > 1 else { return detections }
        let sorted = detections.sorted {
            ($0.secret.lowerBound, -$0.secret.count) < ($1.secret.lowerBound, -$1.secret.count)
        }
        var kept: [Detection] = []
        for detection in sorted {
            var dominated = false
            // Overlaps are local: looking back over the last few kept detections is enough.
            var index = kept.count - 1
            while index >= max(0, kept.count - 32) {
                let other = kept[index]
                if other.secret.overlaps(detection.secret) {
                    if Self.wins(detection, over: other) {
                        kept.remove(at: index)
                    } else {
                        dominated = true
                    }
                }
                index -= 1
            }
            if !dominated { kept.append(detection) }
        }
        return kept
    }

    static func wins(_ candidate: Detection, over other: Detection) -> Bool {
        if candidate.rule.precedence != other.rule.precedence { return candidate.rule.precedence > other.rule.precedence }
        return candidate.secret.count > other.secret.count
    }
}
