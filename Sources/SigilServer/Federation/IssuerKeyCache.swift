import Foundation
import Synchronization
import SigilCore

/// The signing keys of external OIDC issuers, fetched through the issuer's discovery document
/// and JWKS and kept per issuer.
///
/// - Keys are kept for `timeToLive`; an unknown `kid` triggers a refresh at most once per
///   `refreshInterval` per issuer, so a flood of made-up kids costs one fetch a minute.
/// - Each issuer fetches on its own (one fetch in flight per issuer, shared by the requests
///   waiting for it): a slow or broken issuer delays only the requests that name it, and only
///   as long as `FetchLimits.totalTimeout` allows per fetch.
/// - A failed fetch is remembered until the refresh interval has passed, so a broken issuer is
///   not asked again on every request.
final class IssuerKeyCache: Sendable {
    static let timeToLive: TimeInterval = 3600
    static let refreshInterval: TimeInterval = 60
    static let maximumKeys = 100

    /// A published key, and the one algorithm it is for when its JWK names one (`alg`).
    struct IssuerKey: Sendable {
        let key: VerificationKey
        let algorithm: JWSAlgorithm?
    }

    struct KeySet: Sendable {
        var keys: [String: IssuerKey]
        /// Keys the JWKS published without a `kid`.
        var unnamed: [IssuerKey]
        var fetchedAt: Date
    }

    private struct Entry {
        var keys: KeySet?
        var lastAttempt: Date?
        var lastError: String?
        var inFlight: Task<Result<KeySet, FetchError>, Never>?
    }

    let fetcher: BoundedFetcher
    private let entries = Mutex<[String: Entry]>([:])

    init(fetcher: BoundedFetcher) { self.fetcher = fetcher }

    /// The keys that may have signed a token from `issuer` with header `kid` (all of the issuer's
    /// keys when the token names none).
    ///
    /// Keys are kept per issuer *and* trust: keys fetched while an administrator trusted the issuer
    /// (with its CA) are not used once that trust is withdrawn or changed; the issuer is then
    /// fetched again under the new terms (and refused if it is on a private address).
    func keys(issuer: String, kid: String?, trusted: BoundedFetcher.TrustedOrigin?, now: Date) async throws(OAuthError) -> [IssuerKey] {
        let entryKey = Self.entryKey(issuer: issuer, trusted: trusted)
        enum Step {
            case found([IssuerKey])
            case wait(Task<Result<KeySet, FetchError>, Never>)
            case refuse(OAuthError)
        }
        let step: Step = entries.withLock { entries in
            var entry = entries[entryKey] ?? Entry()
            if let keys = entry.keys, !now.hasElapsed(Self.timeToLive, since: keys.fetchedAt), let found = Self.select(keys, kid: kid) {
                return .found(found)
            }
            if let task = entry.inFlight { return .wait(task) }
            if let last = entry.lastAttempt, !now.hasElapsed(Self.refreshInterval, since: last) {
                // Keys past their time to live are not used even while a refresh is refused:
                // the issuer may have withdrawn them.
                if let keys = entry.keys, !now.hasElapsed(Self.timeToLive, since: keys.fetchedAt), let found = Self.select(keys, kid: kid) {
                    return .found(found)
                }
                if let error = entry.lastError { return .refuse(.issuerUnavailable(issuer, detail: error)) }
                let next = last.addingTimeInterval(Self.refreshInterval).formatted(.iso8601)
                return .refuse(.badAssertionSignature(
                    "issuer '\(OAuthError.quoted(issuer))' publishes no key with kid '\(OAuthError.quoted(kid ?? ""))' (its keys were fetched at \(last.formatted(.iso8601)); they are fetched again at most once a minute, next after \(next))"))
            }
            let task = Task { [fetcher] in await Self.fetch(issuer: issuer, trusted: trusted, fetcher: fetcher) }
            entry.inFlight = task
            entry.lastAttempt = now
            if entries.count >= Self.maximumIssuers { entries = entries.filter { $0.value.inFlight != nil } }
            entries[entryKey] = entry
            return .wait(task)
        }
        switch step {
        case .found(let keys):
            return keys
        case .refuse(let error):
            throw error
        case .wait(let task):
            let result = await task.value
            let keys: KeySet? = entries.withLock { entries in
                var entry = entries[entryKey] ?? Entry()
                if entry.inFlight == task {
                    entry.inFlight = nil
                    switch result {
                    case .success(let keys):
                        entry.keys = keys
                        entry.lastError = nil
                    case .failure(let error):
                        entry.lastError = error.description
                    }
                    entries[entryKey] = entry
                }
                return entry.keys
            }
            if case .failure(let error) = result { throw .issuerUnavailable(issuer, detail: error.description) }
            guard let keys, let found = Self.select(keys, kid: kid) else {
                throw .badAssertionSignature("issuer '\(OAuthError.quoted(issuer))' publishes no key with kid '\(OAuthError.quoted(kid ?? ""))'")
            }
            return found
        }
    }

    /// Issuers whose keys are kept at once; past this the cache starts over (bounds memory).
    static let maximumIssuers = 10_000

    private static func entryKey(issuer: String, trusted: BoundedFetcher.TrustedOrigin?) -> String {
        guard let trusted else { return issuer }
        return issuer + "\ntrusted\n" + (trusted.caPEM ?? "")
    }

    private static func select(_ keys: KeySet, kid: String?) -> [IssuerKey]? {
        guard let kid else { return Array(keys.keys.values) + keys.unnamed }
        return keys.keys[kid].map { [$0] }
    }

    /// Discovery, then the JWKS it names. The discovery document must name `issuer` exactly.
    static func fetch(issuer: String, trusted: BoundedFetcher.TrustedOrigin?, fetcher: BoundedFetcher) async -> Result<KeySet, FetchError> {
        do {
            let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            let discovery = try await fetcher.get(base + "/.well-known/openid-configuration", trusted: trusted)
            let document: [String: JSONValue]
            do {
                document = try JSONParser.parseObject(discovery)
            } catch {
                throw FetchError("its discovery document is not a JSON object")
            }
            guard document["issuer"]?.stringValue == issuer else {
                throw FetchError("its discovery document names the issuer '\(OAuthError.quoted(document["issuer"]?.stringValue ?? "(none)"))', not '\(OAuthError.quoted(issuer))'")
            }
            guard let jwksURI = document["jwks_uri"]?.stringValue else { throw FetchError("its discovery document has no jwks_uri") }
            let jwks: [String: JSONValue]
            do {
                jwks = try JSONParser.parseObject(try await fetcher.get(jwksURI, trusted: trusted))
            } catch let error as FetchError {
                throw error
            } catch {
                throw FetchError("its JWKS is not a JSON object")
            }
            return .success(try keySet(jwks, now: Date()))
        } catch let error as FetchError {
            return .failure(error)
        } catch {
            return .failure(FetchError("\(error)"))
        }
    }

    /// The usable signature keys of a JWKS: encryption keys and key types Sigil does not verify
    /// with are skipped; more than 100 keys is refused as a whole.
    static func keySet(_ jwks: [String: JSONValue], now: Date) throws(FetchError) -> KeySet {
        guard let entries = jwks["keys"]?.arrayValue else { throw FetchError("its JWKS has no 'keys' array") }
        guard entries.count <= maximumKeys else { throw FetchError("its JWKS lists \(entries.count) keys; at most \(maximumKeys) are accepted") }
        var set = KeySet(keys: [:], unnamed: [], fetchedAt: now)
        for entry in entries {
            guard let object = entry.objectValue, object["use"]?.stringValue ?? "sig" == "sig" else { continue }
            let publicMembers = object.filter { ["kty", "crv", "x", "y", "n", "e"].contains($0.key) }
            guard let key = try? VerificationKey(jwk: publicMembers) else { continue }
            var algorithm: JWSAlgorithm?
            if let alg = object["alg"]?.stringValue {
                // A key published for an algorithm Sigil does not verify (or that does not fit it) is no use.
                guard let named = JWSAlgorithm(rawValue: alg), key.algorithms.contains(named) else { continue }
                algorithm = named
            }
            let entry = IssuerKey(key: key, algorithm: algorithm)
            if let kid = object["kid"]?.stringValue { set.keys[kid] = entry } else { set.unnamed.append(entry) }
        }
        return set
    }
}
