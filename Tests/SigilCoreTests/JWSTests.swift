import Crypto
import _CryptoExtras
import Foundation
import Testing

@testable import SigilCore

@Suite struct JWSTests {
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    /// Builds a compact JWS by hand, so tests can forge headers and signatures a real signer would refuse.
    static func forge(header: JSONValue, claims: JSONValue = ["sub": "x"], sign: (Data) throws -> Data) rethrows -> String {
        let input = Base64URL.encode(Data(header.serialized().utf8)) + "." + Base64URL.encode(Data(claims.serialized().utf8))
        return input + "." + Base64URL.encode(try sign(Data(input.utf8)))
    }

    @Test func es256RoundTrip() throws {
        let key = try SigningKey.generate(for: .es256)
        let token = try CompactJWS.sign(claims: ["sub": "a", "n": 1], with: key, kid: "k1")
        let jws = try CompactJWS(parsing: token)
        #expect(jws.header["kid"] == "k1")
        #expect(jws.header["alg"] == "ES256")
        #expect(jws.claims["sub"] == "a")
        try jws.verify(with: key.publicKey)
    }

    @Test func rs256AndPS256VerifyWithAnRSAKey() throws {
        let public_ = VerificationKey.rsa(Self.rsa.publicKey)
        let rs = Self.forge(header: ["alg": "RS256"]) { try! Self.rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation }
        let ps = Self.forge(header: ["alg": "PS256"]) { try! Self.rsa.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation }
        try CompactJWS(parsing: rs).verify(with: public_)
        try CompactJWS(parsing: ps).verify(with: public_)
        // A PKCS#1 signature relabelled as PSS does not verify.
        let relabelled = Self.forge(header: ["alg": "PS256"]) { try! Self.rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation }
        #expect(throws: JWSError.self) { try CompactJWS(parsing: relabelled).verify(with: public_) }
    }

    @Test func algNoneIsRefused() throws {
        let key = try SigningKey.generate(for: .es256)
        let token = Self.forge(header: ["alg": "none"]) { _ in Data() }
        #expect(throws: JWSError("alg 'none' is not accepted; use RS256, PS256, ES256 or EdDSA")) { try CompactJWS(parsing: token).verify(with: key.publicKey) }
    }

    @Test func hmacKeyedWithThePublicKeyIsRefused() throws {
        // The classic confusion attack: HS256 with the RSA public key's bytes as the HMAC secret.
        let publicDER = Self.rsa.publicKey.derRepresentation
        let token = Self.forge(header: ["alg": "HS256"]) { Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: publicDER))) }
        #expect { try CompactJWS(parsing: token).verify(with: .rsa(Self.rsa.publicKey)) } throws: {
            ($0 as? JWSError)?.reason.contains("HS256") == true
        }
    }

    @Test func algorithmMustFitTheKey() throws {
        let ec = try SigningKey.generate(for: .es256)
        let token = Self.forge(header: ["alg": "RS256"]) { try! Self.rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation }
        #expect { try CompactJWS(parsing: token).verify(with: ec.publicKey) } throws: {
            ($0 as? JWSError)?.reason == "alg RS256 does not fit the registered EC P-256 key; it signs with ES256"
        }
    }

    @Test func tamperingAndWrongKeysFail() throws {
        let key = try SigningKey.generate(for: .es256)
        let token = try CompactJWS.sign(claims: ["sub": "a"], with: key, kid: "k")
        let parts = token.split(separator: ".")
        let tampered = parts[0] + "." + Base64URL.encode(Data(#"{"sub":"admin"}"#.utf8)) + "." + parts[2]
        #expect(throws: JWSError.self) { try CompactJWS(parsing: String(tampered)).verify(with: key.publicKey) }
        #expect(throws: JWSError.self) { try CompactJWS(parsing: token).verify(with: try SigningKey.generate(for: .es256).publicKey) }
    }

    @Test(arguments: [
        ("a.b", "a JWT has 3 dot-separated parts; this one has 2"),
        ("a.b.c.d", "a JWT has 3 dot-separated parts; this one has 4"),
        ("@@.e30.", "the JWT header is not base64url"),
        ("e30.e30==.", "the JWT payload is not base64url"),
        ("e30.e3=0.", "the JWT payload is not base64url"),
        ("e30=.e30.YQ=", "the JWT signature is not base64url"),
        ("W10.e30.", "the JWT header is not a JSON object: expected a JSON object at byte 0"),
    ])
    func malformedTokens(token: String, reason: String) {
        #expect(throws: JWSError(reason)) { try CompactJWS(parsing: token) }
    }

    @Test func oversizedTokensAreRefusedBeforeDecoding() {
        let huge = String(repeating: "a", count: CompactJWS.maximumLength + 1)
        #expect { try CompactJWS(parsing: huge) } throws: { ($0 as? JWSError)?.reason.contains("longer than") == true }
    }

    @Test func jwkThumbprintMatchesRFC7638Example() throws {
        let jwk: [String: JSONValue] = [
            "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        ]
        #expect(try VerificationKey(jwk: jwk).thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }

    @Test func jwksRoundTripThroughPublicMembers() throws {
        for algorithm in [JWSAlgorithm.es256, .rs256] {
            let key = try SigningKey.generate(for: algorithm)
            let reread = try VerificationKey(jwk: key.publicKey.jwkMembers)
            let token = try CompactJWS.sign(claims: ["a": 1], with: key, kid: "k")
            try CompactJWS(parsing: token).verify(with: reread)
        }
    }

    @Test func privateJWKsAndWeakKeysAreRefused() throws {
        var members = try SigningKey.generate(for: .es256).publicKey.jwkMembers
        members["d"] = "AAAA"
        #expect { try VerificationKey(jwk: members) } throws: { ($0 as? JWSError)?.reason.contains("private member 'd'") == true }
        #expect(throws: JWSError.self) { try VerificationKey(jwk: ["kty": "oct", "k": "AAAA"]) }
        #expect(throws: JWSError.self) { try VerificationKey(jwk: ["kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"]) }
        let weak = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)).publicKey.getKeyPrimitives()
        #expect { try VerificationKey(jwk: ["kty": "RSA", "n": .string(Base64URL.encode(weak.modulus)), "e": .string(Base64URL.encode(weak.publicExponent))]) }
            throws: { ($0 as? JWSError)?.reason.contains("2048") == true }
        // A point that is not on the curve.
        #expect(throws: JWSError.self) {
            try VerificationKey(jwk: ["kty": "EC", "crv": "P-256", "x": .string(Base64URL.encode(Data(repeating: 1, count: 32))), "y": .string(Base64URL.encode(Data(repeating: 2, count: 32)))])
        }
    }

    @Test func base64URLIsStrict() {
        #expect(Base64URL.decode("YQ") == Data("a".utf8))
        #expect(Base64URL.decode("YQ==") == nil)
        #expect(Base64URL.decode("Y+") == nil)
        #expect(Base64URL.decode("Y") == nil)
        #expect(Base64URL.encode(Data([0xFB, 0xFF])) == "-_8")
    }
}

@Suite struct Base64URLTests {
    @Test func matchesFoundationsBase64ForEveryLength() {
        for length in 0..<70 {
            let data = Data((0..<length).map { UInt8(($0 * 37 + 11) & 0xFF) })
            let expected = data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(data) == expected)
            #expect(Base64URL.decode(expected) == data)
        }
    }

    @Test func paddingIsTakenOnlyWhereTheLengthCallsForIt() {
        #expect(Base64URL.decode(padded: Array("YQ==".utf8)[...]) == Data("a".utf8))
        #expect(Base64URL.decode(padded: Array("YWI=".utf8)[...]) == Data("ab".utf8))
        #expect(Base64URL.decode(padded: Array("YWJj".utf8)[...]) == Data("abc".utf8))
        for wrong in ["YQ=", "YQ===", "YWI==", "YWJj=", "Y===", "=", "Y=Q="] {
            #expect(Base64URL.decode(padded: Array(wrong.utf8)[...]) == nil, "\(wrong)")
        }
    }

    @Test func aTokenWithPaddedPartsVerifiesOverThePartsAsSent() throws {
        // azure-identity's async credentials pad every part (urlsafe_b64encode) and sign the padded text.
        func padded(_ part: Data) -> String { part.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
        let key = try SigningKey.generate(for: .es256)
        let input = padded(Data(#"{"alg":"ES256","kid":"k"}"#.utf8)) + "." + padded(Data(#"{"sub":"ab"}"#.utf8))
        #expect(input.contains("="))
        let signature = try key.sign(Data(input.utf8))
        let token = input + "." + padded(signature)
        let jws = try CompactJWS(parsing: token)
        #expect(jws.claims["sub"] == "ab")
        try jws.verify(with: key.publicKey)
        // The same parts without their padding are another signing input: the signature fails.
        let stripped = token.split(separator: ".").map { $0.replacingOccurrences(of: "=", with: "") }
        #expect(throws: JWSError.self) { try CompactJWS(parsing: stripped.joined(separator: ".")).verify(with: key.publicKey) }
    }

    @Test func refusesNonCanonicalEncodings() {
        #expect(Base64URL.decode("YR") == nil)  // 'R' leaves non-zero stray bits; "YQ" is the encoding of "a"
        #expect(Base64URL.decode("YQ") == Data("a".utf8))
    }
}
