import CLibFuzzer
import SigilCore

/// The federated credential's claims-matching expression on arbitrary text: it parses or throws a
/// syntax error, and a parsed expression is evaluated against a set of claims without crashing.
private func fuzzClaimsExpression(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let expression = try? ClaimsMatchingExpression(parsing: text) else { return 0 }
    _ = expression.matches(claims)
    return 0
}

private let claims: [String: JSONValue] = [
    "sub": .string("repo:acme/orders:ref:refs/heads/main"), "repository": .string("acme/orders"),
    "ref": .string("refs/heads/main"), "environment": .string("production"), "aud": .string("api://AzureADTokenExchange"),
    "run_number": .number(42), "tags": .array([.string("a"), .string("b")]), "nested": .object(["k": .string("v")]),
]

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, with this test.
@_cdecl("FuzzClaimsExpression_main")
public func fuzzClaimsExpressionMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzClaimsExpression($0, $1) }
}
