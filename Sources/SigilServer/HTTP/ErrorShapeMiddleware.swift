import Hummingbird
import SigilCore

/// Gives errors that never reach a route (unknown path, unsupported method, anything a route let
/// escape) the same JSON shape as the route's own errors: Graph's under `/admin/`, OAuth's
/// elsewhere. Nothing internal is revealed.
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = SigilRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return shaped(status: error.status, request: request)
        } catch {
            context.logger.error("unhandled error: \(error)")
            return shaped(status: .internalServerError, request: request)
        }
    }

    func shaped(status: HTTPResponse.Status, request: Request) -> Response {
        let message = switch status {
        case .notFound: "There is no \(request.method) \(request.uri.path) here."
        case .contentTooLarge: "The request body is larger than \(maximumBodySize) bytes."
        default: status.reasonPhrase
        }
        if request.uri.path.hasPrefix("/admin/") {
            return AdminError(status: status, code: status == .notFound ? "NotFound" : "Error", message: message)
                .response(requestId: TokenEndpoint.correlationId(request))
        }
        return .json(["error": status == .notFound ? "not_found" : "server_error", "error_description": .string(message)], status: status)
    }
}
