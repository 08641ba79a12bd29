@testable import App
import XCTVapor
import Crypto

final class WebhookTests: XCTestCase {
    // A fixed secret so the expected signature below is stable; not used anywhere else.
    let webhookSecret = "unit-test-webhook-secret"
    let payload = #"{"id":7421,"title":"Walnut desk","variants":[{"sku":"WD-120","price":"349.00"}]}"#

    func testSignatureMatches() throws {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(webhookSecret.utf8)))
        let signature = Data(mac).base64EncodedString()
        XCTAssertTrue(ShopifyWebhook.verify(body: Data(payload.utf8), signature: signature, secret: webhookSecret))
    }

    func testSignatureMismatch() {
        XCTAssertFalse(ShopifyWebhook.verify(body: Data(payload.utf8), signature: "yvwA41EJGaVWUYr+yLvUCkUdBatMJvsbg4vSfe2XhkY=", secret: webhookSecret))
    }

    func testEmptySecretRejectsEverything() {
        XCTAssertFalse(ShopifyWebhook.verify(body: Data(payload.utf8), signature: "", secret: ""))
    }

    func testSigilSecretTypoIsDetected() {
        // One character flipped at the end; the checksum no longer matches.
        let typo = "sgs_Bc0np9B9Udk7Z3KhXXZUon6uZ3FCH2n6WSZ1mvw40Kwmqa"
        XCTAssertNil(SigilCredential(rawValue: typo))
    }

    func testAdminTokenIsRedactedInDescription() {
        let configuration = ShopifyConfiguration(
            shopDomain: "example.myshopify.com",
            adminToken: "shpat_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            webhookSecret: webhookSecret,
            apiVersion: "2024-04"
        )
        XCTAssertFalse(String(describing: configuration).contains("shpat_"))
    }
}
