import Foundation
import Testing

@testable import SigilCore

@Suite struct KeyEncryptionKeyRingTests {
    let old = KeyEncryptionKey()
    let new = KeyEncryptionKey()
    let context = SecretEnvelope.context(secretId: "s1", version: "v1")

    @Test func aKeyOutsideTheRingOpensNothing() throws {
        let envelope = try KeyEncryptionKeyRing(current: old).seal("db-password", context: context)
        let stranger = KeyEncryptionKeyRing(current: new)
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try stranger.open(envelope, context: context) }
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try stranger.rewrap(envelope, context: context) }
        let sealed = try old.seal(Data("signing key".utf8), context: "kid-1")
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try stranger.open(sealed, context: "kid-1") }
    }

    @Test func aRewrappedEnvelopeIsBoundToItsVersion() throws {
        let envelope = try KeyEncryptionKeyRing(current: old).seal("db-password", context: context)
        let rewrapped = try KeyEncryptionKeyRing(current: new, previous: old).rewrap(envelope, context: context)
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) {
            try KeyEncryptionKeyRing(current: new).open(rewrapped, context: SecretEnvelope.context(secretId: "s1", version: "v2"))
        }
    }

    @Test func duringARotationBothKeysOpenAndOnlyTheNewOneSeals() throws {
        let before = try KeyEncryptionKeyRing(current: old).seal("db-password", context: context)
        let rotating = KeyEncryptionKeyRing(current: new, previous: old)
        #expect(try rotating.open(before, context: context) == "db-password")
        #expect(try rotating.seal("next", context: context).kekId == new.id)
        let rewrapped = try rotating.rewrap(before, context: context)
        #expect(rewrapped.kekId == new.id && rewrapped.ciphertext == before.ciphertext && rewrapped.wrappedKey != before.wrappedKey)
        #expect(try KeyEncryptionKeyRing(current: new).open(rewrapped, context: context) == "db-password")
        #expect(try rotating.rewrap(rewrapped, context: context) == rewrapped)

        let sealedByOld = try old.seal(Data("signing key".utf8), context: "kid-1")
        #expect(try rotating.open(sealedByOld, context: "kid-1") == Data("signing key".utf8))
    }
}
