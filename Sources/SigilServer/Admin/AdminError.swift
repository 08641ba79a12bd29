import Hummingbird
import SigilCore
import SigilStore

/// An admin API error in Microsoft Graph's shape: `{"error":{"code","message","target"}}`.
struct AdminError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var target: String?

    /// The code of a credential an app management policy refuses; `target` names the restriction.
    static let policyViolation = "CredentialPolicyViolation"

    static func badRequest(_ message: String, target: String? = nil) -> AdminError {
        AdminError(status: .badRequest, code: "BadRequest", message: message, target: target)
    }
    static func notFound(_ message: String) -> AdminError { AdminError(status: .notFound, code: "NotFound", message: message) }
    static func conflict(_ message: String) -> AdminError { AdminError(status: .conflict, code: "Conflict", message: message) }
    static func forbidden(_ message: String) -> AdminError { AdminError(status: .forbidden, code: "Forbidden", message: message) }
    static func unauthorized(_ message: String) -> AdminError {
        AdminError(status: .unauthorized, code: "InvalidAuthenticationToken", message: message)
    }
    static func tooLarge(limit: Int = maximumBodySize) -> AdminError {
        AdminError(status: .contentTooLarge, code: "RequestEntityTooLarge", message: "The request body is larger than \(limit) bytes.")
    }

    /// Maps store and rule failures to their HTTP meaning; anything else is a 500 that says nothing internal.
    init(_ error: any Error) {
        switch error {
        case let error as AdminError: self = error
        case let error as DirectoryRuleViolation: self = .badRequest(error.message, target: error.field)
        case let error as PolicyViolation:
            self = AdminError(status: .badRequest, code: Self.policyViolation, message: error.message, target: error.restriction.rawValue)
        case StoreError.conflict(let message): self = .conflict(message)
        case StoreError.notFound(let message): self = .notFound(message)
        case StoreError.unavailable: self = AdminError(status: .serviceUnavailable, code: "ServiceUnavailable", message: "The store is unavailable; try again.")
        default: self = AdminError(status: .internalServerError, code: "InternalServerError", message: "The server failed to handle the request.")
        }
    }

    init(status: HTTPResponse.Status, code: String, message: String, target: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.target = target
    }

    func response(requestId: String) -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message), "innerError": ["request-id": .string(requestId)]]
        if let target { error["target"] = .string(target) }
        var headers: HTTPFields = [:]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\", scope=\"\(AdminAPI.scope)\"" }
        if status == .serviceUnavailable { headers.markRetryable() }
        return .json(["error": .object(error)], status: status, headers: headers)
    }
}

/// A JSON request body checked strictly: an object, no unknown fields, every field of the right type.
struct JSONBody {
    let members: [String: JSONValue]

    init(_ bytes: [UInt8], allowed: Set<String>) throws(AdminError) {
        guard !bytes.isEmpty else { throw .badRequest("The request needs a JSON object body.") }
        do {
            members = try JSONParser.parseObject(bytes)
        } catch {
            throw .badRequest("The body is not a valid JSON object: \(error).")
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .badRequest("Unknown field '\(unknown)'. Allowed fields: \(allowed.sorted().joined(separator: ", ")).", target: unknown)
        }
    }

    /// Reads a request's body: `application/json`, at most `limit` bytes, an object with only
    /// `allowed` fields (the admin API and the agent API alike).
    static func read(_ request: Request, allowed: Set<String>, limit: Int = maximumBodySize) async throws(AdminError) -> JSONBody {
        guard request.mediaType == "application/json" else {
            throw AdminError.badRequest("The body must be application/json; this request sent '\(request.headers[.contentType] ?? "no content type")'.")
        }
        let bytes: [UInt8]
        do {
            bytes = try await request.collectBody(limit: limit)
        } catch {
            throw AdminError.tooLarge(limit: limit)
        }
        return try JSONBody(bytes, allowed: allowed)
    }

    func string(_ name: String) throws(AdminError) -> String? {
        guard let value = members[name], value != .null else { return nil }
        guard let string = value.stringValue else { throw .badRequest("'\(name)' must be a string, not \(value.typeName).", target: name) }
        return string
    }

    func requiredString(_ name: String) throws(AdminError) -> String {
        guard let value = try string(name) else { throw .badRequest("'\(name)' is required.", target: name) }
        return value
    }

    func bool(_ name: String) throws(AdminError) -> Bool? {
        guard let value = members[name], value != .null else { return nil }
        guard let bool = value.boolValue else { throw .badRequest("'\(name)' must be true or false, not \(value.typeName).", target: name) }
        return bool
    }

    func stringArray(_ name: String, maximum: Int) throws(AdminError) -> [String]? {
        guard let value = members[name], value != .null else { return nil }
        guard let array = value.arrayValue, array.allSatisfy({ $0.stringValue != nil }) else {
            throw .badRequest("'\(name)' must be an array of strings.", target: name)
        }
        guard array.count <= maximum else { throw .badRequest("'\(name)' may hold at most \(maximum) entries.", target: name) }
        return array.compactMap(\.stringValue)
    }
}
