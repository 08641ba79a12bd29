import Foundation
import HTTPTypes
import Hummingbird
import SigilCore
import SigilStore

/// The dashboard under `/dashboard/` (DESIGN §8): server-rendered HTML from the templates in
/// `Resources/Dashboard`, no script at all. A one-time code from `sigil dashboard` becomes a
/// session cookie; each page checks the session's principal against the admin API's permissions,
/// read per request, and the only writes (risk dismiss, migrate finish and rollback, sign-out)
/// also need the session's CSRF
/// token and a same-origin request.
struct Dashboard {
    let api: AdminAPI
    var store: Store { api.store }

    static let cookieName = "sigil_dashboard"
    /// The policy on every dashboard response: no script from anywhere, styles only from the server.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// What a page handler gets: the signed-in caller and the secret of its session (for the CSRF token).
    struct Session {
        let caller: AdminCaller
        let secret: String
        var csrfToken: String { DashboardSignIn.csrfToken(session: secret) }
    }

    /// A rendered page's template and its values.
    struct Page {
        var template: String
        var title: String
        var values: [String: Any]
    }

    /// A refusal shown as an error page with its status.
    struct Refusal: Error {
        let status: HTTPResponse.Status
        let message: String
    }

    typealias PageHandler = @Sendable (Request, SigilRequestContext, Session) async throws -> Page

    func register(on router: Router<SigilRequestContext>) {
        let group = router.group("dashboard")
        group.get("static/dashboard.css") { _, _ in
            Self.secured(Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: .init(string: DashboardTemplates.stylesheet))))
        }
        group.get("signin", use: signIn)
        group.post("signout", use: write(signOut))
        group.get("", use: page(.tenantRead, scope: .anyAssignment, overview))
        group.get("apps", use: page(.applicationsRead, apps))
        group.get("apps/{app}", use: page(.applicationsRead, scope: .application("app"), application))
        group.get("signins", use: page(.logsRead, signIns))
        group.get("audit", use: page(.logsRead, auditLog))
        group.get("risk", use: page(.riskRead, risk))
        group.post("risk/{id}/dismiss", use: write(dismissRisk))
        group.post("apps/{app}/migration/finish", use: write(migrationStep(api.finishMigration)))
        group.post("apps/{app}/migration/rollback", use: write(migrationStep(api.rollbackMigration)))
        group.get("policies", use: page(.policiesRead, policies))
        group.get("vaults", use: page(.vaultsRead, vaults))
    }

    // MARK: Sign-in and sessions

    /// Exchanges `?code=` for a session and redirects to the overview. A navigation from another
    /// site is refused: the code is opened from the terminal, so a link elsewhere can only be an
    /// attempt to sign the browser in as someone else.
    func signIn(_ request: Request, _ context: SigilRequestContext) async -> Response {
        do {
            if let site = request.headers[.secFetchSite], site != "none", site != "same-origin" {
                throw Refusal(status: .forbidden, message: "A dashboard sign-in link only works when opened directly (pasted or from the terminal), not from another site.")
            }
            let parameters = request.uri.queryParameters
            guard let code = parameters["code"].map(String.init), DashboardSignIn.isWellFormed(code) else {
                throw Refusal(status: .badRequest, message: "This sign-in link has no valid code; run `sigil dashboard` for a new one.")
            }
            let secret = DashboardSignIn.newSecret()
            let now = Date()
            let expires = now.addingTimeInterval(DashboardSignIn.sessionLifetime)
            let correlationId = TokenEndpoint.correlationId(request)
            let outcome = try await store.exchangeDashboardCode(
                digest: DashboardSignIn.digest(code), sessionDigest: DashboardSignIn.digest(secret), at: now, sessionExpiresAt: expires
            ) { principal in
                AuditEvent(
                    time: now, tenantId: principal.tenantId, actorId: principal.servicePrincipalId, actorName: principal.displayName,
                    action: "dashboard.signIn", targetType: "servicePrincipal", targetId: principal.servicePrincipalId,
                    after: ["expiresDateTime": .date(expires)], ipAddress: context.clientAddress, correlationId: correlationId)
            }
            switch outcome {
            case .signedIn:
                var response = Response(status: .seeOther, headers: [.location: "/dashboard/"])
                response.setCookie(Self.cookie(secret, maxAge: Int(DashboardSignIn.sessionLifetime)))
                return Self.secured(response)
            case .unknown:
                throw Refusal(status: .unauthorized, message: "This sign-in code was not issued by this server; run `sigil dashboard` for a new one.")
            case .used:
                throw Refusal(status: .unauthorized, message: "This sign-in code was already used; each code signs in once. Run `sigil dashboard` for a new one.")
            case .expired:
                throw Refusal(status: .unauthorized, message: "This sign-in code expired (codes last 5 minutes); run `sigil dashboard` for a new one.")
            }
        } catch {
            return errorPage(error)
        }
    }

    /// Ends the session and clears the cookie.
    func signOut(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Response {
        try await store.deleteDashboardSession(
            digest: DashboardSignIn.digest(session.secret),
            audit: session.caller.audit("dashboard.signOut", targetType: "servicePrincipal", targetId: session.caller.app.servicePrincipalId))
        var response = render(Page(template: "signedout", title: "Signed out", values: [:]), session: nil)
        response.setCookie(Self.cookie("", maxAge: 0))
        return response
    }

    static func cookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(name: cookieName, value: value, maxAge: maxAge, path: "/dashboard", secure: true, httpOnly: true, sameSite: .strict)
    }

    /// The caller of a request with a live session cookie, with the roles it holds now.
    func session(_ request: Request, _ context: SigilRequestContext) async throws -> Session {
        let signInAgain = "Run `sigil dashboard` and open the link it prints to sign in."
        guard let secret = request.cookies[Self.cookieName]?.value, DashboardSignIn.isWellFormed(secret),
            let principal = try await store.dashboardSession(digest: DashboardSignIn.digest(secret), at: Date()),
            let tenant = try await store.tenant(id: principal.tenantId),
            let app = try await store.application(tenantId: tenant.id, reference: principal.objectId, kinds: Set(PrincipalKind.allCases)),
            app.enabled
        else {
            throw Refusal(status: .unauthorized, message: "You are not signed in, or your session ended. " + signInAgain)
        }
        let grants = try await api.grants(for: app)
        guard !grants.isEmpty else {
            throw Refusal(status: .forbidden, message: "'\(app.displayName)' holds no admin role any more. " + signInAgain)
        }
        let caller = AdminCaller(
            tenant: tenant, app: app, grants: grants, ipAddress: context.clientAddress, correlationId: TokenEndpoint.correlationId(request))
        return Session(caller: caller, secret: secret)
    }

    /// A page behind `permission`: the session, the permission check (the admin API's own), then
    /// the page.
    func page(_ permission: AdminPermission, scope: AdminRoute.Scope = .tenant, _ build: @escaping PageHandler) -> @Sendable (Request, SigilRequestContext) async -> Response {
        { request, context in
            do {
                let session = try await session(request, context)
                try await api.authorize(permission, scope: scope, session.caller, request, context)
                return render(try await build(request, context, session), session: session)
            } catch {
                return errorPage(error)
            }
        }
    }

    /// A form POST: a session, a same-origin request (`Sec-Fetch-Site`, `Origin`) and the
    /// session's CSRF token in the form, or nothing happens.
    func write(_ handler: @escaping @Sendable (Request, SigilRequestContext, Session) async throws -> Response)
        -> @Sendable (Request, SigilRequestContext) async -> Response
    {
        { request, context in
            do {
                let session = try await session(request, context)
                let site = request.headers[.secFetchSite]
                if let site, site != "same-origin" {
                    throw Refusal(status: .forbidden, message: "The dashboard takes changes only from its own pages; this request came from another site (\(site)).")
                }
                // Under the dashboard's `Referrer-Policy: no-referrer` a browser sends `Origin: null`
                // even from the dashboard's own forms; then only `Sec-Fetch-Site` can say where it came from.
                switch request.headers[.origin] {
                case "null"? where site == nil:
                    throw Refusal(status: .forbidden, message: "The dashboard takes changes only from its own pages; this request does not say where it came from.")
                case let origin? where origin != "null" && !isOwnOrigin(origin, request):
                    throw Refusal(status: .forbidden, message: "The dashboard takes changes only from its own pages; this request came from \(origin).")
                default: break
                }
                guard request.mediaType == "application/x-www-form-urlencoded",
                    let form = try? FormParameters(decoding: try await request.collectBody(limit: 4096)),
                    DashboardSignIn.checkCSRF(form["csrf"], session: session.secret)
                else {
                    throw Refusal(status: .forbidden, message: "This form is missing its security token or it is stale; reload the page and try again.")
                }
                return try await handler(request, context, session)
            } catch {
                return errorPage(error)
            }
        }
    }

    /// The server's public origin, or the one the browser addressed (`Host`), in HTTPS.
    func isOwnOrigin(_ origin: String, _ request: Request) -> Bool {
        let public_ = URL(string: api.urls.baseURL).map { "\($0.scheme ?? "https")://\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" }
        return origin == public_ || request.head.authority.map { origin == "https://\($0)" } == true
    }

    // MARK: Rendering

    static let navigation: [(href: String, label: String, template: String)] = [
        ("/dashboard/", "Overview", "overview"), ("/dashboard/apps", "Apps", "apps"), ("/dashboard/signins", "Sign-ins", "signins"),
        ("/dashboard/audit", "Audit log", "audit"), ("/dashboard/risk", "Risk", "risk"), ("/dashboard/policies", "Policies", "policies"),
        ("/dashboard/vaults", "Vaults", "vaults"),
    ]

    func render(_ page: Page, session: Session?, status: HTTPResponse.Status = .ok) -> Response {
        var values = page.values
        values["title"] = page.title
        if let session {
            values["signedIn"] = true
            values["principal"] = session.caller.app.displayName
            values["csrf"] = session.csrfToken
            values["nav"] = Self.navigation.map { item -> [String: Any] in
                ["href": item.href, "label": item.label, "current": item.template == page.template || (page.template == "app" && item.template == "apps")]
            }
        }
        let html = DashboardTemplates.library.render(values, withTemplate: page.template) ?? ""
        return Self.secured(Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: .init(string: html))))
    }

    /// An error as a page: a refusal or an admin API error with its own sentence, anything else
    /// as a plain 500 (logged, nothing internal shown).
    func errorPage(_ error: any Error) -> Response {
        if let refusal = error as? Refusal { return Self.errorPage(status: refusal.status, message: refusal.message) }
        let adminError = AdminError(error)
        if adminError.status == .internalServerError { api.logger.error("dashboard failure: \(error)") }
        return Self.errorPage(status: adminError.status, message: adminError.message)
    }

    static func errorPage(status: HTTPResponse.Status, message: String) -> Response {
        let values: [String: Any] = ["title": status.reasonPhrase, "status": status.code, "message": message]
        let html = DashboardTemplates.library.render(values, withTemplate: "error") ?? ""
        return secured(Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: .init(string: html))))
    }

    /// The headers every dashboard response carries.
    static func secured(_ response: Response) -> Response {
        var response = response
        response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        response.headers[.xFrameOptions] = "DENY"
        return response
    }
}

extension HTTPField.Name {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
