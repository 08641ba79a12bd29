import Hummingbird
import SigilCore
import SigilStore

/// Gives errors that never reach a route (unknown path, unsupported method, anything a route let
/// escape) the same JSON shape as the route's own errors: Graph's under `/admin/`, Key Vault's
/// on a vault's host or under `/vaults/`, an HTML page under `/dashboard`, OAuth's elsewhere. Nothing internal is revealed;
/// a store outage is a `503` with `Retry-After`.
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = SigilRequestContext
    /// Turns a 404 for a known path into 405 with the methods it does answer.
    let routes: RouteTable
    let vaults: VaultAddressing

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            if error.status == .notFound {
                let allowed = routes.methods(for: request.uri.path)
                if !allowed.isEmpty {
                    var response = shaped(status: .methodNotAllowed, request: request, allowed: allowed)
                    response.headers[.allow] = allowed.joined(separator: ", ")
                    return response
                }
            }
            return shaped(status: error.status, request: request)
        } catch StoreError.unavailable {
            // The store's pool logged the outage when it began.
            var response = shaped(status: .serviceUnavailable, request: request)
            response.headers.markRetryable()
            return response
        } catch {
            context.logger.error("unhandled error: \(error)")
            return shaped(status: .internalServerError, request: request)
        }
    }

    func shaped(status: HTTPResponse.Status, request: Request, allowed: [String] = []) -> Response {
        let message = switch status {
        case .notFound: "There is no \(request.method) \(request.uri.path) here."
        case .methodNotAllowed: "\(request.uri.path) does not answer \(request.method); it answers \(allowed.joined(separator: ", "))."
        case .contentTooLarge: "The request body is larger than \(maximumBodySize) bytes."
        default: status.reasonPhrase
        }
        if request.uri.path == "/dashboard" || request.uri.path.hasPrefix("/dashboard/") {
            return Dashboard.errorPage(status: status, message: message)
        }
        if request.uri.path.hasPrefix("/admin/") {
            let code = switch status {
            case .notFound: "NotFound"
            case .methodNotAllowed: "MethodNotAllowed"
            default: "Error"
            }
            return AdminError(status: status, code: code, message: message)
                .response(requestId: TokenEndpoint.correlationId(request))
        }
        if request.uri.path.hasPrefix("/vaults/") || vaults.vaultName(host: request.head.authority) != nil {
            let code = switch status {
            case .notFound: "NotFound"
            case .methodNotAllowed: "MethodNotAllowed"
            case .contentTooLarge: "RequestBodyTooLarge"
            default: "InternalServerError"
            }
            return KeyVaultError(status: status, code: code, message: message).response(requestId: TokenEndpoint.correlationId(request))
        }
        let code = switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "invalid_request"
        default: "server_error"
        }
        return .json(["error": .string(code), "error_description": .string(message)], status: status)
    }
}
