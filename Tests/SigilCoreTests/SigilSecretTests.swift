import Foundation
import Testing

@testable import SigilCore

@Suite struct SigilSecretTests {
    @Test func crc32MatchesTheIEEECheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func checksumIsBase62OfTheCRCPaddedToSixCharacters() {
        // Computed independently with Python's zlib.crc32 and the 0-9A-Za-z alphabet.
        #expect(SigilSecretFormat.checksum(of: Array("abcdefghijABCDEFGHIJ0123456789klmnopqrst".utf8)) == "2ywciD")
        #expect(SigilSecretFormat.validate("sgs_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD") == .success(.clientSecret))
        #expect(SigilSecretFormat.validate("sgj_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD") == .success(.joinToken))
    }

    @Test func generatedSecretsAreWellFormedAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let secret = SigilSecretFormat.generate(.clientSecret)
            #expect(secret.count == 50)
            #expect(secret.hasPrefix("sgs_"))
            #expect(SigilSecretFormat.validate(secret) == .success(.clientSecret))
            seen.insert(secret)
        }
        #expect(seen.count == 200)
    }

    @Test func everySingleCharacterChangeIsCaught() {
        let secret = Array(SigilSecretFormat.generate(.clientSecret))
        for index in 4..<secret.count {
            var mutated = secret
            mutated[index] = mutated[index] == "a" ? "b" : "a"
            #expect(SigilSecretFormat.validate(String(mutated)) != .success(.clientSecret), "change at \(index) not caught")
        }
    }

    @Test func malformedSecretsSayWhatIsWrong() {
        let secret = SigilSecretFormat.generate(.clientSecret)
        #expect(SigilSecretFormat.validate("xyz_" + secret.dropFirst(4)) == .failure(.wrongPrefix))
        #expect(SigilSecretFormat.validate(String(secret.dropLast())) == .failure(.wrongLength(49)))
        #expect(SigilSecretFormat.validate(String(secret.dropLast()) + "!") == .failure(.invalidCharacter))
        #expect(SigilSecretFormat.validate("") == .failure(.wrongPrefix))
    }

    @Test func secretHashMatchesTheSecretAndItsSHA256Only() {
        let secret = SigilSecretFormat.generate(.clientSecret)
        let hash = SecretHash.make(for: secret)
        #expect(hash.matches(secret: secret))
        #expect(!hash.matches(secret: SigilSecretFormat.generate(.clientSecret)))
        #expect(hash.matches(secretSHA256: Data(SHA256Hex.digest(secret))))
        // The same secret hashed twice gets different salts and digests.
        #expect(SecretHash.make(for: secret).digest != hash.digest)
    }

    @Test func keyEncryptionKeyBindsSealedDataToItsContext() throws {
        let kek = KeyEncryptionKey()
        let sealed = try kek.seal(Data("private key".utf8), context: "kid-1")
        #expect(try kek.open(sealed, context: "kid-1") == Data("private key".utf8))
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try kek.open(sealed, context: "kid-2") }
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try KeyEncryptionKey().open(sealed, context: "kid-1") }
        let copy = try KeyEncryptionKey(base64: kek.base64)
        #expect(try copy.open(sealed, context: "kid-1") == Data("private key".utf8))
        #expect(throws: KeyEncryptionKey.Failure.malformed) { try KeyEncryptionKey(base64: "c2hvcnQ=") }
    }
}

import Crypto

enum SHA256Hex {
    static func digest(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }
}
