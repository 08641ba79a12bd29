import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// The key-encryption key: `sigil kek rotate` against a running server.
extension AdminAPI {
    var keyEncryptionKeyRoutes: [AdminRoute] {
        [AdminRoute(.post, "keyEncryptionKey/rotate", .keyEncryptionKeyRotate, handler: rotateKeyEncryptionKey)]
    }

    /// Re-wraps everything under a new key-encryption key (or, with `SIGIL_KEK`, under it from
    /// `SIGIL_KEK_PREVIOUS`) while requests go on, and answers when it is done.
    func rotateKeyEncryptionKey(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        if request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 { _ = try await body(request, allowed: []) }
        let outcome: KeyEncryptionKeyRotation.Outcome
        do {
            outcome = try await kekRotation.rotate()
        } catch let failure as KeyEncryptionKeyRotation.Failure {
            throw AdminError.conflict(failure.description)
        }
        try await store.recordAudit(caller.audit("keyEncryptionKey.rotate", targetType: "keyEncryptionKey", targetId: outcome.kekId, after: outcome.json))
        return .json(outcome.json)
    }
}
