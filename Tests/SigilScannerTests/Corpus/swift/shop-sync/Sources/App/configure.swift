import Fluent
import FluentPostgresDriver
import NIOSSL
import Vapor

/// Wires the Shopify → warehouse sync service.
public func configure(_ app: Application) async throws {
    app.http.server.configuration.port = Environment.get("PORT").flatMap(Int.init) ?? 8080

    var tls = TLSConfiguration.makeClientConfiguration()
    tls.certificateVerification = app.environment == .production ? .fullVerification : .none

    let postgres = SQLPostgresConfiguration(
        hostname: Environment.get("DATABASE_HOST") ?? "localhost",
        port: Environment.get("DATABASE_PORT").flatMap(Int.init) ?? SQLPostgresConfiguration.ianaPortNumber,
        username: Environment.get("DATABASE_USERNAME") ?? "shop_sync",
        password: Environment.get("DATABASE_PASSWORD") ?? "⟦generic-password⟧",
        database: Environment.get("DATABASE_NAME") ?? "shop_sync",
        tls: .prefer(try NIOSSLContext(configuration: tls))
    )
    app.databases.use(.postgres(configuration: postgres), as: .psql)

    app.migrations.add(CreateProductSnapshot())
    app.migrations.add(CreateSyncCursor())

    let shopify = ShopifyConfiguration(
        shopDomain: Environment.get("SHOPIFY_SHOP") ?? "acme-outlet.myshopify.com",
        adminToken: Environment.get("SHOPIFY_ADMIN_TOKEN") ?? "⟦shopify-token⟧",
        webhookSecret: Environment.get("SHOPIFY_WEBHOOK_SECRET") ?? "",
        apiVersion: "2024-04"
    )
    app.storage[ShopifyConfigurationKey.self] = shopify

    app.middleware.use(ErrorMiddleware.default(environment: app.environment))
    try routes(app)
}

struct ShopifyConfiguration: Sendable {
    let shopDomain: String
    let adminToken: String
    let webhookSecret: String
    let apiVersion: String

    var graphQLURL: URI { URI(string: "https://\(shopDomain)/admin/api/\(apiVersion)/graphql.json") }
}

struct ShopifyConfigurationKey: StorageKey {
    typealias Value = ShopifyConfiguration
}

extension Request {
    var shopify: ShopifyConfiguration {
        guard let configuration = application.storage[ShopifyConfigurationKey.self] else {
            fatalError("Shopify is not configured; call configure(_:) first")
        }
        return configuration
    }
}

func routes(_ app: Application) throws {
    app.get("healthz") { _ in HTTPStatus.ok }

    app.post("webhooks", "products") { req async throws -> HTTPStatus in
        guard let signature = req.headers.first(name: "X-Shopify-Hmac-Sha256") else {
            throw Abort(.unauthorized)
        }
        let body = req.body.data.map { Data(buffer: $0) } ?? Data()
        guard ShopifyWebhook.verify(body: body, signature: signature, secret: req.shopify.webhookSecret) else {
            throw Abort(.unauthorized, reason: "bad webhook signature")
        }
        try await ProductSnapshot.record(from: body, on: req.db)
        return .accepted
    }
}
