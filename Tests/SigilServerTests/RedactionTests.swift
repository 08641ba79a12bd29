import Foundation
import SigilCore
import Testing

/// A secret pasted into the wrong field, and values too long to be identifiers, are never stored,
/// echoed or served back by the admin API.
@Suite struct RedactionTests {
    @Test func aSecretPastedIntoClientIdIsNeitherEchoedNorStoredNorServed() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let huge = String(repeating: "a", count: 300)
            for pasted in [world.secret, "id=\(world.secret)", String(world.secret.dropLast(3)), huge] {
                let reply = try await server.token([
                    ("grant_type", "client_credentials"), ("client_id", pasted), ("client_secret", "x"), ("scope", "api://orders/.default"),
                ])
                #expect(reply.status == 400 || reply.status == 401)
                let body = String(decoding: reply.body, as: UTF8.self)
                #expect(!body.contains(String(pasted.prefix(40))), "the error echoes what was pasted: \(body.prefix(300))")
            }
            let rows = try await server.store.signIns(tenantId: server.tenantId, query: LogQuery(limit: 100))
            #expect(rows.filter { $0.appId.hasPrefix("[redacted: ") }.count == 4)
            let served = try await server.admin("GET", "signInLogs")
            #expect(served.status == 200)
            let text = String(decoding: served.body, as: UTF8.self)
            #expect(text.contains("[redacted: a Sigil secret"))
            #expect(!text.contains(String(world.secret.prefix(40))) && !text.contains(huge))
        }
    }

    @Test func anOverlongKidIsEchoedOnlyAsABoundedNote() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let kid = String(repeating: "k", count: 9000)
            let reply = try await server.token(world.assertionForm(try world.jwkAssertion(header: ["kid": .string(kid)])))
            #expect(reply.status == 401)
            let description = try #require(reply.json["error_description"]?.stringValue)
            #expect(description.contains("[redacted: 9000 characters]"))
            #expect(description.count < 600, "\(description.count) characters")
        }
    }

    @Test(arguments: [
        ("sgs_abcdefghijklmnop", true), ("prefix sgj_0123456789ABCDEFxyz", true), ("sgs_short", false),
        ("3f2504e0-4f89-41d3-9a0c-0305e82c3301", false), ("api://orders/.default", false),
    ])
    func whatLooksLikeASigilSecret(value: String, looks: Bool) {
        #expect(ClientInput.looksLikeSigilSecret(value) == looks)
    }
}
