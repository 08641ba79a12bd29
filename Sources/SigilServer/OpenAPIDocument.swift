import Foundation

/// The admin API's OpenAPI 3.1 document (`Resources/openapi.yaml`), served at `/admin/v1/openapi.yaml`.
enum OpenAPIDocument {
    static let text: String = {
        // The document ships inside the package's resource bundle; a build without it is broken.
        let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml")!
        return try! String(contentsOf: url, encoding: .utf8)
    }()
}
