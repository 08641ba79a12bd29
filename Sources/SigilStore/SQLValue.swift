import SQLKit

/// A value for one `?` parameter of a statement written once for both stores: bound directly on
/// SQLite's prepared statements (`SQLiteBatchConnection`), and through SQLKit on PostgreSQL.
enum SQLValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case null

    init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    init(_ integer: Int64?) { self = integer.map(SQLValue.integer) ?? .null }

    /// The value for SQLKit: a bind, or a literal `NULL`, which takes its column's type (a bound
    /// nil would carry the type of its Swift optional to PostgreSQL).
    var expression: any SQLExpression {
        switch self {
        case .text(let text): SQLBind(text)
        case .integer(let integer): SQLBind(integer)
        case .null: SQLLiteral.null
        }
    }
}

/// A statement with `?` parameters and the values for them, in order.
struct SQLStatement: Sendable {
    let sql: String
    let values: [SQLValue]

    init(_ sql: String, _ values: [SQLValue]) {
        precondition(sql.utf8.count(where: { $0 == UInt8(ascii: "?") }) == values.count, "SQLStatement: one value for each ?")
        self.sql = sql
        self.values = values
    }

    /// The statement for SQLKit, each `?` a bind (the statements written this way hold no other `?`).
    var query: SQLQueryString {
        var query = SQLQueryString("")
        var values = values.makeIterator()
        for (index, part) in sql.split(separator: "?", omittingEmptySubsequences: false).enumerated() {
            if index > 0, let value = values.next() { query.appendInterpolation(value.expression) }
            query.appendLiteral(String(part))
        }
        return query
    }
}
