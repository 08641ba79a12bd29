import Foundation
import Testing

@testable import SigilStore

/// How `--database` URLs become connections: TLS unless the server is on loopback or the URL
/// says otherwise, and no password in any error.
@Suite struct StoreLocationTests {
    func tls(_ url: String) throws -> String {
        String(describing: try Store.postgresConfiguration(url).tls)
    }

    @Test func loopbackIsPlainRemoteIsVerified() throws {
        #expect(try tls("postgres://sigil@127.0.0.1:5432/sigil").contains("disable"))
        #expect(try tls("postgres://sigil@db.internal/sigil").contains("require"))
        #expect(try tls("postgres://sigil@db.internal/sigil?sslmode=disable").contains("disable"))
        #expect(try tls("postgres://sigil@127.0.0.1/sigil?sslmode=require").contains("require"))
    }

    @Test func unknownSSLModeIsRefused() {
        #expect { try Store.postgresConfiguration("postgres://sigil@db/sigil?sslmode=sometimes") } throws: {
            String(describing: $0).contains("sslmode 'sometimes' is not one of")
        }
    }

    @Test func aBadURLDoesNotEchoItsPassword() {
        #expect { try Store.postgresConfiguration("postgres://user:hunter2@/sigil") } throws: {
            !String(describing: $0).contains("hunter2") && String(describing: $0).contains("--database is not a postgres://")
        }
    }
}
