import Hummingbird
import SigilCore
import SigilStore

/// A vault error in Key Vault's shape, `{"error":{"code","message"}}`, with Key Vault's codes and
/// statuses, so the Azure SDKs raise the exceptions their callers already handle
/// (`ResourceNotFoundError` for 404, `ResourceExistsError` for 409, `HttpResponseError` otherwise).
struct KeyVaultError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var innerCode: String?

    static func badParameter(_ message: String) -> KeyVaultError { KeyVaultError(status: .badRequest, code: "BadParameter", message: message) }
    static func secretNotFound(_ message: String) -> KeyVaultError { KeyVaultError(status: .notFound, code: "SecretNotFound", message: message) }
    static func forbidden(_ message: String, innerCode: String? = nil) -> KeyVaultError {
        KeyVaultError(status: .forbidden, code: "Forbidden", message: message, innerCode: innerCode)
    }
    static func conflict(_ message: String) -> KeyVaultError { KeyVaultError(status: .conflict, code: "Conflict", message: message) }

    /// Maps store and rule failures to Key Vault's meaning; anything else is a 500 that says nothing internal.
    init(_ error: any Error) {
        switch error {
        case let error as KeyVaultError: self = error
        case let error as DirectoryRuleViolation: self = .badParameter(error.message)
        case StoreError.conflict(let message): self = .conflict(message)
        case StoreError.notFound(let message): self = .secretNotFound(message)
        case StoreError.unavailable: self = KeyVaultError(status: .serviceUnavailable, code: "ServiceUnavailable", message: "The store is unavailable; try again.")
        default: self = KeyVaultError(status: .internalServerError, code: "InternalServerError", message: "The server failed to handle the request.")
        }
    }

    init(status: HTTPResponse.Status, code: String, message: String, innerCode: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.innerCode = innerCode
    }

    func response(requestId: String) -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let innerCode { error["innererror"] = ["code": .string(innerCode)] }
        var headers: HTTPFields = [:]
        headers[.init("x-ms-request-id")!] = requestId
        if status == .serviceUnavailable { headers.markRetryable() }
        return .json(["error": .object(error)], status: status, headers: headers)
    }
}
