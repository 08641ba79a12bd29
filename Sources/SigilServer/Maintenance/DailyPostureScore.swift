import Foundation
import Logging
import ServiceLifecycle
import SigilStore

/// Keeps the security assessment's trend whether or not anybody runs `sigil assess`: at start and
/// every hour, each tenant that has no score for the current UTC day is assessed once. A pass with
/// every tenant scored is one query.
public struct DailyPostureScore: Service {
    let store: Store
    let logger: Logger
    static let interval: Duration = .seconds(3600)

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await scoreUnscoredTenants()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.interval) }
            } catch {
                return
            }
        }
    }

    /// Assesses every tenant without a score for the day of `now`; returns how many.
    @discardableResult
    func scoreUnscoredTenants(now: Date = Date()) async -> Int {
        do {
            let tenants = try await store.tenantsWithoutPostureScore(now: now)
            for tenant in tenants {
                _ = try await store.assessPosture(tenantId: tenant, now: now, trendDays: 1)
                await Task.yield()
            }
            return tenants.count
        } catch {
            logger.error("posture score: \(error)")
            return 0
        }
    }
}
