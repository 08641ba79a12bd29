import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// The dashboard's one-time sign-in codes (DESIGN §8): `sigil dashboard` asks for one and prints
/// the URL; the browser that opens it gets a session for the same principal, whose roles then
/// decide what each page shows.
extension AdminAPI {
    var dashboardRoutes: [AdminRoute] {
        [AdminRoute(.post, "dashboard/codes", .tenantRead, scope: .anyAssignment, handler: createDashboardCode)]
    }

    /// Mints a code valid for five minutes and one use; the code is in the URL only, never stored
    /// or audited in the clear.
    func createDashboardCode(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        if request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 { _ = try await body(request, allowed: []) }
        let code = DashboardSignIn.newSecret()
        let now = Date()
        let expires = now.addingTimeInterval(DashboardSignIn.codeLifetime)
        try await store.createDashboardCode(
            digest: DashboardSignIn.digest(code), principal: caller.dashboardPrincipal, at: now, expiresAt: expires,
            audit: caller.audit("dashboard.code.create", targetType: "servicePrincipal", targetId: caller.app.servicePrincipalId, after: [
                "expiresDateTime": .date(expires)
            ]))
        return .json(["url": .string("\(urls.baseURL)/dashboard/signin?code=\(code)"), "expiresDateTime": .date(expires)], status: .created)
    }
}

extension AdminCaller {
    var dashboardPrincipal: DashboardPrincipal {
        DashboardPrincipal(tenantId: tenant.id, objectId: app.objectId, servicePrincipalId: app.servicePrincipalId, displayName: app.displayName)
    }
}
