import Foundation
import Logging
import SigilCore
import Synchronization

/// The token endpoint's side of `UnknownClientSampler`: decides whether a failed sign-in by an
/// unknown client is written, and writes the summaries of what was only counted (as sign-in rows,
/// and as a line in the server log). Each replica samples on its own.
final class UnknownClientFailures: Sendable {
    private let sampler: Mutex<UnknownClientSampler>
    private let recorder: SignInRecorder
    private let logger: Logger

    init(recorder: SignInRecorder, logger: Logger, sampler: UnknownClientSampler = UnknownClientSampler()) {
        self.sampler = Mutex(sampler)
        self.recorder = recorder
        self.logger = logger
    }

    /// Whether a failure of an unknown client from `address` gets its own row.
    func shouldRecord(tenantId: String, address: String, at time: Date) async -> Bool {
        let source = UnknownClientSampler.Source(tenantId: tenantId, address: address)
        let (log, ended) = sampler.withLock { $0.admit(source, at: time) }
        if let ended { await write([ended]) }
        return log
    }

    /// Writes the summaries of windows that have ended; the maintenance service calls it.
    func flush(at now: Date = Date()) async {
        await write(sampler.withLock { $0.flush(at: now) })
    }

    private func write(_ summaries: [UnknownClientSampler.Summary]) async {
        for summary in summaries {
            let reason = "\(summary.count) more failed sign-ins by unknown clients from \(summary.source.address) between "
                + "\(Self.format(summary.first)) and \(Self.format(summary.last)) were counted, not logged one by one."
            logger.notice("sign-in log: \(reason)", metadata: ["tenant": "\(summary.source.tenantId)"])
            let event = SignInEvent(
                id: RandomIdentifier.timeOrderedUUID(at: summary.last), time: summary.last, tenantId: summary.source.tenantId, appId: "",
                appDisplayName: nil, servicePrincipalId: nil, credentialType: nil, credentialId: nil, ipAddress: summary.source.address,
                userAgent: nil, resource: nil, resourceId: nil, succeeded: false, errorCode: nil,
                failureReason: reason, correlationId: RandomIdentifier.uuid())
            do {
                _ = try await recorder.record(SignInRecord(event: event))
            } catch {
                logger.error("cannot record the summary of sampled sign-ins: \(error)")
            }
        }
    }

    private static func format(_ date: Date) -> String { date.formatted(.iso8601) }
}
