import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// Issue 12, item 14: the dashboard's sign-in (one-time codes, session cookies), its security
/// headers, CSRF and same-origin checks on the only writes, and the read-only rest, on a real
/// server.
@Suite struct DashboardServerTests {
    /// A browser stand-in: it does not follow redirects, so each step's answer can be read.
    struct Browser {
        let server: TestServer
        let http: HTTPClient

        static func with<T>(_ server: TestServer, _ body: (Browser) async throws -> T) async throws -> T {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(server.folder.appendingPathComponent("tls/ca.pem").path))
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
            do {
                let result = try await body(Browser(server: server, http: http))
                try await http.shutdown()
                return result
            } catch {
                try? await http.shutdown()
                throw error
            }
        }

        func send(_ method: String, _ path: String, cookie: String? = nil, form: [(String, String)]? = nil, headers: [(String, String)] = []) async throws
            -> TestServer.Reply
        {
            var request = HTTPClientRequest(url: server.baseURL + path)
            request.method = .init(rawValue: method)
            if let cookie { request.headers.add(name: "Cookie", value: "\(Dashboard.cookieName)=\(cookie)") }
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let form {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: FormParameters.encode(form)))
            }
            let response = try await http.execute(request, timeout: .seconds(30))
            var buffer = try await response.body.collect(upTo: 8 << 20)
            return TestServer.Reply(
                status: Int(response.status.code), body: buffer.readData(length: buffer.readableBytes) ?? Data(),
                headers: response.headers.map { ($0.name, $0.value) })
        }

        /// A sign-in link minted through the admin API (as `sigil dashboard` does), for the admin key or `token`'s principal.
        func code(token: String? = nil) async throws -> String {
            let reply = try await server.admin("POST", "dashboard/codes", token: token)
            guard reply.status == 201, let url = reply.json["url"]?.stringValue, let code = URLComponents(string: url)?.queryItems?.first?.value else {
                throw TestFailure("dashboard code: \(reply.status) \(reply.json)")
            }
            #expect(url.hasPrefix(server.baseURL + "/dashboard/signin?code="))
            return code
        }

        /// Signs in with a new code; returns the session cookie's value.
        func signIn(token: String? = nil) async throws -> String {
            let reply = try await send("GET", "/dashboard/signin?code=\(try await code(token: token))", headers: [("Sec-Fetch-Site", "none")])
            guard reply.status == 303, let cookie = DashboardServerTests.sessionCookie(reply) else { throw TestFailure("sign-in: \(reply.status) \(reply.text)") }
            return cookie
        }
    }

    static func sessionCookie(_ reply: TestServer.Reply) -> String? {
        guard let header = reply.header("Set-Cookie"), header.hasPrefix(Dashboard.cookieName + "=") else { return nil }
        let value = header.dropFirst(Dashboard.cookieName.count + 1).prefix { $0 != ";" }
        return value.isEmpty ? nil : String(value)
    }

    static func csrf(_ reply: TestServer.Reply) throws -> String {
        let html = reply.text
        guard let start = html.range(of: "name=\"csrf\" value=\"") else { throw TestFailure("no CSRF field in the page") }
        return String(html[start.upperBound...].prefix { $0 != "\"" })
    }

    static func signIns(_ server: TestServer) async throws -> Int {
        try await server.admin("GET", "auditLogs?top=1000").json["value"]?.arrayValue?
            .filter { $0["activityDisplayName"]?.stringValue == "dashboard.signIn" }.count ?? 0
    }

    // MARK: Bad input: codes

    @Test func aForgedOrMalformedCodeIsRefusedAndSignsNobodyIn() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let forged = try await browser.send("GET", "/dashboard/signin?code=\(DashboardSignIn.newSecret())")
                #expect(forged.status == 401)
                #expect(forged.text.contains("not issued by this server"))
                #expect(forged.header("Set-Cookie") == nil)
                for malformed in ["", "?code=", "?code=abc", "?code=" + String(repeating: "%00", count: 43)] {
                    let reply = try await browser.send("GET", "/dashboard/signin" + malformed)
                    #expect(reply.status == 400, "\(malformed)")
                    #expect(reply.header("Set-Cookie") == nil)
                }
                #expect(try await Self.signIns(server) == 0)
            }
        }
    }

    @Test func anExpiredCodeIsRefused() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let admin = try #require(try await server.store.application(tenantId: server.tenantId, reference: server.adminKey.clientId))
                let code = DashboardSignIn.newSecret()
                let minted = Date().addingTimeInterval(-DashboardSignIn.codeLifetime - 1)
                try await server.store.createDashboardCode(
                    digest: DashboardSignIn.digest(code),
                    principal: DashboardPrincipal(tenantId: server.tenantId, objectId: admin.objectId, servicePrincipalId: admin.servicePrincipalId, displayName: admin.displayName),
                    at: minted, expiresAt: minted.addingTimeInterval(DashboardSignIn.codeLifetime),
                    audit: AuditEvent(time: minted, tenantId: server.tenantId, actorId: admin.servicePrincipalId, actorName: admin.displayName,
                        action: "dashboard.code.create", targetType: "servicePrincipal", targetId: admin.servicePrincipalId, ipAddress: "127.0.0.1", correlationId: "test"))
                let reply = try await browser.send("GET", "/dashboard/signin?code=\(code)")
                #expect(reply.status == 401)
                #expect(reply.text.contains("expired"))
                #expect(reply.header("Set-Cookie") == nil)
                #expect(try await Self.signIns(server) == 0)
            }
        }
    }

    @Test func aCodeSignsInOnceAndAReusedCodeIsRefused() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let code = try await browser.code()
                let first = try await browser.send("GET", "/dashboard/signin?code=\(code)")
                #expect(first.status == 303)
                #expect(first.header("Location") == "/dashboard/")
                let again = try await browser.send("GET", "/dashboard/signin?code=\(code)")
                #expect(again.status == 401)
                #expect(again.text.contains("already used"))
                #expect(again.header("Set-Cookie") == nil)
                #expect(try await Self.signIns(server) == 1)
            }
        }
    }

    @Test func twoConcurrentUsesOfOneCodeLetExactlyOneWin() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let code = try await browser.code()
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<8 { group.addTask { try await browser.send("GET", "/dashboard/signin?code=\(code)").status } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 303 }.count == 1)
                #expect(statuses.filter { $0 == 401 }.count == 7)
                #expect(try await Self.signIns(server) == 1)
            }
        }
    }

    @Test func aSignInLinkFollowedFromAnotherSiteIsRefused() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let code = try await browser.code()
                let reply = try await browser.send("GET", "/dashboard/signin?code=\(code)", headers: [("Sec-Fetch-Site", "cross-site")])
                #expect(reply.status == 403)
                #expect(reply.header("Set-Cookie") == nil)
                // The code was not spent: opened directly, it still works.
                #expect(try await browser.send("GET", "/dashboard/signin?code=\(code)", headers: [("Sec-Fetch-Site", "none")]).status == 303)
            }
        }
    }

    // MARK: Sessions and headers

    @Test func theSessionCookieIsSecureHttpOnlyStrictAndScopedToTheDashboard() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let reply = try await browser.send("GET", "/dashboard/signin?code=\(try await browser.code())")
                let header = try #require(reply.header("Set-Cookie"))
                let attributes = Set(header.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
                #expect(attributes.isSuperset(of: ["secure", "httponly", "samesite=strict", "path=/dashboard", "max-age=28800"]))
                let cookie = try #require(Self.sessionCookie(reply))
                #expect(DashboardSignIn.isWellFormed(cookie))
            }
        }
    }

    @Test func everyDashboardResponseCarriesTheSecurityHeaders() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let cookie = try await browser.signIn()
                let replies = [
                    try await browser.send("GET", "/dashboard/", cookie: cookie), try await browser.send("GET", "/dashboard/static/dashboard.css"),
                    try await browser.send("GET", "/dashboard/apps"), try await browser.send("GET", "/dashboard/no-such-page", cookie: cookie),
                    try await browser.send("GET", "/dashboard/signin?code=x"),
                ]
                #expect(replies.map(\.status) == [200, 200, 401, 404, 400])
                for reply in replies {
                    #expect(reply.header("Content-Security-Policy") == Dashboard.contentSecurityPolicy)
                    #expect(reply.header("X-Content-Type-Options") == "nosniff")
                    #expect(reply.header("Referrer-Policy") == "no-referrer")
                    #expect(reply.header("Cache-Control") == "no-store")
                    #expect(!reply.text.lowercased().contains("<script"))
                }
                #expect(replies[0].header("Content-Type") == "text/html; charset=utf-8")
                #expect(replies[1].header("Content-Type") == "text/css; charset=utf-8")
            }
        }
    }

    @Test func everyPageNeedsASessionAndASessionOutlivesARestart() async throws {
        let server = try await TestServer.start()
        let database = server.server.configuration.database
        defer { try? FileManager.default.removeItem(at: server.folder) }
        let signedIn: Result<String, any Error>
        do {
            signedIn = .success(try await Browser.with(server) { browser in
                for path in ["/dashboard/", "/dashboard/apps", "/dashboard/signins", "/dashboard/audit", "/dashboard/risk", "/dashboard/policies", "/dashboard/vaults"] {
                    let anonymous = try await browser.send("GET", path)
                    #expect(anonymous.status == 401, "\(path)")
                    #expect(anonymous.text.contains("sigil dashboard"))
                    #expect(try await browser.send("GET", path, cookie: DashboardSignIn.newSecret()).status == 401)
                }
                return try await browser.signIn()
            })
        } catch {
            signedIn = .failure(error)
        }
        await server.stop(keepingData: true)
        let cookie = try signedIn.get()
        let restarted = try await TestServer.start(folder: server.folder) { $0.database = database }
        let page: TestServer.Reply
        do {
            page = try await Browser.with(restarted) { try await $0.send("GET", "/dashboard/", cookie: cookie) }
        } catch {
            await restarted.stop(keepingData: true)
            throw error
        }
        await restarted.stop(keepingData: true)
        #expect(page.status == 200)
        #expect(page.text.contains("Signed in as"))
    }

    @Test func signOutEndsTheSession() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let cookie = try await browser.signIn()
                let page = try await browser.send("GET", "/dashboard/", cookie: cookie)
                let out = try await browser.send(
                    "POST", "/dashboard/signout", cookie: cookie, form: [("csrf", try Self.csrf(page))], headers: [("Sec-Fetch-Site", "same-origin")])
                #expect(out.status == 200)
                #expect(out.header("Set-Cookie")?.contains("Max-Age=0") == true)
                #expect(try await browser.send("GET", "/dashboard/", cookie: cookie).status == 401)
            }
        }
    }

    // MARK: Bad input: writes

    @Test func aCrossSiteOrTokenlessDismissChangesNothing() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                try await server.createApp("suspect")
                let detection = try await server.admin("POST", "riskyServicePrincipals/suspect/confirmCompromised").json
                let id = try #require(detection["id"]?.stringValue)
                let cookie = try await browser.signIn()
                let page = try await browser.send("GET", "/dashboard/risk", cookie: cookie)
                #expect(page.text.contains("/dashboard/risk/\(id)/dismiss"))
                let csrf = try Self.csrf(page)
                let path = "/dashboard/risk/\(id)/dismiss"
                let attempts: [(form: [(String, String)]?, headers: [(String, String)], says: String)] = [
                    (nil, [], "security token"),
                    ([("csrf", "")], [], "security token"),
                    ([("csrf", DashboardSignIn.csrfToken(session: DashboardSignIn.newSecret()))], [], "security token"),
                    ([("csrf", csrf)], [("Origin", "https://evil.example")], "came from https://evil.example"),
                    ([("csrf", csrf)], [("Sec-Fetch-Site", "cross-site")], "another site"),
                    ([("csrf", csrf)], [("Sec-Fetch-Site", "same-site")], "another site"),
                    ([("csrf", csrf)], [("Origin", "null")], "does not say where it came from"),
                    ([("csrf", csrf)], [("Origin", "https://evil.example"), ("Sec-Fetch-Site", "same-origin")], "came from https://evil.example"),
                ]
                for attempt in attempts {
                    let reply = try await browser.send("POST", path, cookie: cookie, form: attempt.form, headers: attempt.headers)
                    #expect(reply.status == 403, "\(attempt.headers)")
                    #expect(reply.text.contains(attempt.says), "\(reply.text)")
                }
                // Without the cookie (as a cross-site POST arrives under SameSite=Strict): not signed in.
                #expect(try await browser.send("POST", path, form: [("csrf", csrf)]).status == 401)
                #expect(try await server.admin("GET", "riskDetections/\(id)").json["riskState"]?.stringValue == "confirmedCompromised")

                // As Chromium sends it from the dashboard's form: under no-referrer, `Origin: null`.
                let dismissed = try await browser.send(
                    "POST", path, cookie: cookie, form: [("csrf", csrf)], headers: [("Origin", "null"), ("Sec-Fetch-Site", "same-origin")])
                #expect(dismissed.status == 303)
                #expect(dismissed.header("Location") == "/dashboard/risk")
                #expect(try await server.admin("GET", "riskDetections/\(id)").json["riskState"]?.stringValue == "dismissed")
            }
        }
    }

    @Test func theDashboardIsReadOnlyOtherwise() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let cookie = try await browser.signIn()
                let csrf = try Self.csrf(try await browser.send("GET", "/dashboard/", cookie: cookie))
                for (method, path) in [("POST", "/dashboard/apps"), ("PUT", "/dashboard/risk"), ("DELETE", "/dashboard/vaults"), ("POST", "/dashboard/"),
                    ("PATCH", "/dashboard/policies"), ("GET", "/dashboard/signout")]
                {
                    let reply = try await browser.send(method, path, cookie: cookie, form: [("csrf", csrf)])
                    #expect(reply.status == 405, "\(method) \(path)")
                    #expect(reply.header("Content-Type") == "text/html; charset=utf-8")
                }
            }
        }
    }

    @Test func migrateFinishAndRollbackRefuseAnAppNeverMigratedAndChangeNothing() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let appId = try #require(try await server.createApp("billing")["appId"]?.stringValue)
                let cookie = try await browser.signIn()
                let page = try await browser.send("GET", "/dashboard/apps/\(appId)", cookie: cookie)
                #expect(!page.text.contains("/migration/"), "no migration, no buttons")
                let csrf = try Self.csrf(page)
                #expect(try await browser.send("POST", "/dashboard/apps/\(appId)/migration/finish", cookie: cookie, form: [("csrf", "")]).status == 403)
                for step in ["finish", "rollback"] {
                    let reply = try await browser.send(
                        "POST", "/dashboard/apps/\(appId)/migration/\(step)", cookie: cookie, form: [("csrf", csrf)], headers: [("Sec-Fetch-Site", "same-origin")])
                    #expect(reply.status == 404, "\(step)")
                    #expect(reply.text.contains("was never migrated"), "\(reply.text)")
                }
                let audit = try await server.admin("GET", "auditLogs?top=1000").json["value"]?.arrayValue ?? []
                #expect(!audit.contains { $0["activityDisplayName"]?.stringValue?.hasPrefix("application.migration") == true })
            }
        }
    }

    // MARK: Roles

    @Test func eachPageAndTheDismissFollowTheCallersRoles() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                try await server.createApp("reader")
                try await server.assignRole("Security Reader", to: "reader")
                try await server.createApp("rotator")
                try await server.assignRole("Credential Rotator", to: "rotator")
                try await server.createApp("suspect")
                let id = try #require(try await server.admin("POST", "riskyServicePrincipals/suspect/confirmCompromised").json["id"]?.stringValue)

                let reader = try await browser.signIn(token: try await server.adminToken(as: "reader"))
                let risk = try await browser.send("GET", "/dashboard/risk", cookie: reader)
                #expect(risk.status == 200)
                #expect(!risk.text.contains("/dismiss"))
                let refused = try await browser.send(
                    "POST", "/dashboard/risk/\(id)/dismiss", cookie: reader, form: [("csrf", try Self.csrf(risk))], headers: [("Sec-Fetch-Site", "same-origin")])
                #expect(refused.status == 403)
                #expect(refused.text.contains("risk.manage"))
                #expect(try await server.admin("GET", "riskDetections/\(id)").json["riskState"]?.stringValue == "confirmedCompromised")

                // Security Reader may not move a migration either.
                let suspectId = try #require(try await server.admin("GET", "applications/suspect").json["appId"]?.stringValue)
                let finish = try await browser.send(
                    "POST", "/dashboard/apps/\(suspectId)/migration/finish", cookie: reader, form: [("csrf", try Self.csrf(risk))],
                    headers: [("Sec-Fetch-Site", "same-origin")])
                #expect(finish.status == 403)
                #expect(finish.text.contains("migrations.write"))

                let rotator = try await browser.signIn(token: try await server.adminToken(as: "rotator"))
                #expect(try await browser.send("GET", "/dashboard/apps", cookie: rotator).status == 200)
                for path in ["/dashboard/signins", "/dashboard/risk", "/dashboard/vaults"] {
                    let reply = try await browser.send("GET", path, cookie: rotator)
                    #expect(reply.status == 403, "\(path)")
                }
                // An unassigned role stops at once: the session is read against the roles held now.
                let assignments = try await server.admin("GET", "roleManagement/directory/roleAssignments").json["value"]?.arrayValue ?? []
                let rotatorId = try #require(try await server.admin("GET", "applications/rotator").json["id"]?.stringValue)
                for assignment in assignments where assignment["principalObjectId"]?.stringValue == rotatorId {
                    _ = try await server.admin("DELETE", "roleManagement/directory/roleAssignments/\(assignment["id"]?.stringValue ?? "")")
                }
                #expect(try await browser.send("GET", "/dashboard/apps", cookie: rotator).status == 403)
            }
        }
    }

    // MARK: Pages

    @Test func thePagesShowTheDataAndNeverASecretValue() async throws {
        try await TestServer.with { server in
            try await Browser.with(server) { browser in
                let app = try await server.createApp("payments <b>api</b>")
                let appId = try #require(app["appId"]?.stringValue)
                let (_, secret) = try await server.addSecret(appId)
                for _ in 0..<3 {
                    #expect(try await server.token([("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://sigil-admin/.default")]).status < 500)
                }
                _ = try await server.admin("POST", "vaults", json: ["name": "payvault"])
                let cookie = try await browser.signIn()
                var pages: [String: String] = [:]
                for path in ["/dashboard/", "/dashboard/apps", "/dashboard/apps/\(appId)", "/dashboard/signins", "/dashboard/audit", "/dashboard/risk",
                    "/dashboard/policies", "/dashboard/vaults", "/dashboard/signins?result=failure&type=clientSecret&window=24h&app=\(appId)",
                    "/dashboard/audit?action=application.create&page=1"]
                {
                    let reply = try await browser.send("GET", path, cookie: cookie)
                    #expect(reply.status == 200, "\(path): \(reply.text)")
                    #expect(!reply.text.contains(secret) && !reply.text.contains(String(secret.prefix(12))))
                    #expect(!reply.text.contains("<b>api</b>"), "names are HTML-escaped")
                    pages[path] = reply.text
                }
                #expect(pages["/dashboard/apps"]?.contains("payments &lt;b&gt;api&lt;/b&gt;") == true)
                #expect(pages["/dashboard/apps/\(appId)"]?.contains("Client secret") == true)
                #expect(pages["/dashboard/vaults"]?.contains("payvault") == true)
                #expect(pages["/dashboard/audit?action=application.create&page=1"]?.contains("application.create") == true)
                #expect(pages["/dashboard/audit?action=application.create&page=1"]?.contains("dashboard.code.create") == false)
                #expect(pages["/dashboard/"]?.contains("id=\"signins-by-type\"") == true)
                // The admin key's sign-ins are secretless; the app's were refused, so it is unused.
                #expect(pages["/dashboard/"]?.contains("id=\"secretless-share\"") == true)
                #expect(pages["/dashboard/"]?.contains("<strong id=\"sign-in-share\">100.0 %</strong>") == true)
                #expect(pages["/dashboard/apps"]?.contains("Migration stage") == true)
                #expect(pages["/dashboard/apps"]?.contains("<td>unused</td>") == true)

                for bad in ["/dashboard/signins?result=maybe", "/dashboard/signins?type=password", "/dashboard/signins?window=1y",
                    "/dashboard/signins?page=0", "/dashboard/audit?page=x", "/dashboard/audit?sort=time", "/dashboard/apps/no-such-app"]
                {
                    let reply = try await browser.send("GET", bad, cookie: cookie)
                    #expect((400..<500).contains(reply.status), "\(bad)")
                    #expect(reply.text.contains("class=\"error\""))
                }
            }
        }
    }
}

extension TestServer.Reply {
    var text: String { String(decoding: body, as: UTF8.self) }
}
