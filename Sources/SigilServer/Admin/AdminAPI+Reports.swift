import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Triage reports (DESIGN §8): the credential inventory, stale and expiring credentials, each
/// app's migration stage and the tenant's secretless share. They read the usage summaries kept as
/// sign-ins are recorded, never the sign-in log itself.
extension AdminAPI {
    var reportRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "reports/credentials", .reportsRead) { request, _, caller in
                let windows = try Self.reportParameters(request, allowed: ["unusedDays", "expiringDays"])
                let now = Date()
                let items = try await store.credentialInventory(tenantId: caller.tenant.id, now: now)
                return .json(["value": .array(items.map { AdminJSON.inventoryItem($0, flags: windows.flags(now: now)) })])
            },
            AdminRoute(.get, "reports/stale", .reportsRead) { request, _, caller in
                let windows = try Self.reportParameters(request, allowed: ["unusedDays", "expiringDays"])
                let now = Date()
                let items = try await store.credentialInventory(tenantId: caller.tenant.id, now: now)
                let flags = windows.flags(now: now)
                return .json([
                    "unusedDays": .number(Double(windows.unusedDays)), "expiringDays": .number(Double(windows.expiringDays)),
                    "unused": .array(items.filter { $0.isStale(now: now, unusedFor: windows.unusedFor) }.map { AdminJSON.inventoryItem($0, flags: flags) }),
                    "expiring": .array(items.filter { $0.isExpiring(now: now, within: windows.expiringWithin) }.map { AdminJSON.inventoryItem($0, flags: flags) }),
                ])
            },
            AdminRoute(.get, "reports/stages", .reportsRead, handler: stagesReport),
            AdminRoute(.get, "reports/secretless", .reportsRead, handler: secretlessReport),
        ]
    }

    /// The windows a report is asked for, in whole days.
    struct ReportWindows {
        var days = 30
        /// The window's last day (UTC); nil for today.
        var until: Date?
        var unusedDays = 30
        var expiringDays = 30

        var unusedFor: TimeInterval { Double(unusedDays) * 86_400 }
        var expiringWithin: TimeInterval { Double(expiringDays) * 86_400 }

        func flags(now: Date) -> (InventoryItem) -> (stale: Bool, expiring: Bool) {
            { ($0.isStale(now: now, unusedFor: unusedFor), $0.isExpiring(now: now, within: expiringWithin)) }
        }

        /// The UTC days of the window: `days` days up to and including `until` (today by default).
        func range(now: Date) -> (from: Date, to: Date) {
            let end = UsageSummary.day(of: until ?? now).addingTimeInterval(86_400)
            return (end.addingTimeInterval(-Double(days) * 86_400), end)
        }
    }

    /// Reads the `allowed` parameters: whole days (1 to 3650 each), and `until`, a date
    /// (YYYY-MM-DD, UTC); refuses any other parameter.
    static func reportParameters(_ request: Request, allowed: [String]) throws -> ReportWindows {
        var windows = ReportWindows()
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                throw AdminError.badRequest("Unknown query parameter '\(OAuthError.quoted(name))'. Allowed: \(allowed.joined(separator: ", ")).", target: name)
            }
            if name == "until" {
                guard value.count == 10, let date = RFC3339.date(value + "T00:00:00Z") else {
                    throw AdminError.badRequest("until must be a date such as 2026-01-31, not '\(OAuthError.quoted(String(value)))'.", target: name)
                }
                windows.until = date
                continue
            }
            guard let days = Int(value), (1...3650).contains(days) else {
                throw AdminError.badRequest("\(name) must be a whole number of days from 1 to 3650, not '\(OAuthError.quoted(String(value)))'.", target: name)
            }
            switch name {
            case "days": windows.days = days
            case "unusedDays": windows.unusedDays = days
            default: windows.expiringDays = days
            }
        }
        return windows
    }

    /// The window asked for and the tenant's share over it, or the clear error a window without
    /// any successful sign-in gets.
    private func windowShare(_ request: Request, _ caller: AdminCaller) async throws
        -> (windows: ReportWindows, range: (from: Date, to: Date), share: SecretlessShare) {
        let windows = try Self.reportParameters(request, allowed: ["days", "until"])
        let range = windows.range(now: Date())
        let share = try await store.secretlessShare(tenantId: caller.tenant.id, from: range.from, to: range.to)
        guard share.window.signIns > 0 else {
            throw AdminError(
                status: .notFound, code: "NoData",
                message: "No successful sign-ins in this tenant from \(range.from.iso8601) to \(range.to.iso8601) (\(windows.days) days), so there is nothing to report. Widen or move the window (sigil report --days N --until DATE), or check that apps sign in to this tenant.")
        }
        return (windows, range, share)
    }

    func stagesReport(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let (windows, range, _) = try await windowShare(request, caller)
        let apps = try await store.applicationStages(tenantId: caller.tenant.id, from: range.from, to: range.to, now: Date())
        var totals = Dictionary(uniqueKeysWithValues: MigrationStage.allCases.map { ($0.rawValue, 0) })
        let rows: [JSONValue] = apps.map { app in
            let stage = app.counts.stage
            totals[stage.rawValue, default: 0] += 1
            return [
                "appId": .string(app.appId), "appDisplayName": .string(app.displayName), "stage": .string(stage.rawValue),
                "secretSignIns": .number(Double(app.counts.secret)), "secretlessSignIns": .number(Double(app.counts.secretless)),
                "enabledSecrets": .number(Double(app.enabledSecrets)),
            ]
        }
        return .json([
            "days": .number(Double(windows.days)), "from": .date(range.from), "to": .date(range.to),
            "stages": .object(totals.mapValues { .number(Double($0)) }), "value": .array(rows),
        ])
    }

    func secretlessReport(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let (windows, range, share) = try await windowShare(request, caller)
        var json = AdminJSON.shareFigures(share.window)
        json["days"] = .number(Double(windows.days))
        json["from"] = .date(range.from)
        json["to"] = .date(range.to)
        json["daily"] = .array(share.days.map { day in
            var figures = AdminJSON.shareFigures(day.figures)
            figures["date"] = .string(String(day.day.iso8601.prefix(10)))
            return .object(figures)
        })
        return .json(.object(json))
    }
}

extension AdminJSON {
    static func inventoryItem(_ item: InventoryItem, flags: (InventoryItem) -> (stale: Bool, expiring: Bool)) -> JSONValue {
        let (stale, expiring) = flags(item)
        return [
            "appId": .string(item.appId), "appDisplayName": .string(item.appDisplayName), "principalType": .string(item.principalKind.rawValue),
            "credentialType": .string(item.type.rawValue), "keyId": .string(item.keyId), "displayName": .string(item.displayName),
            "createdDateTime": .date(item.created), "expiresDateTime": .date(item.expires), "state": .string(item.state.rawValue),
            "lastUsedDateTime": .date(item.lastUsed), "signIns": .number(Double(item.signIns)),
            "networks": .array(item.networks.map(JSONValue.string)), "userAgents": .array(item.userAgents.map(JSONValue.string)),
            "stale": .bool(stale), "expiring": .bool(expiring),
        ]
    }

    static func shareFigures(_ figures: SecretlessShare.Figures) -> [String: JSONValue] {
        [
            "signInShare": figures.signInShare.map(JSONValue.number) ?? .null, "appShare": figures.appShare.map(JSONValue.number) ?? .null,
            "signIns": .number(Double(figures.signIns)), "secretlessSignIns": .number(Double(figures.secretlessSignIns)),
            "apps": .number(Double(figures.apps)), "secretlessApps": .number(Double(figures.secretlessApps)),
        ]
    }
}
