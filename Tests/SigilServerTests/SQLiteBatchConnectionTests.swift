import Foundation
import Logging
import SQLKit
import Testing

@testable import SigilStore

/// SQLite's batch connection (the token endpoint's group commit on the C interface): a batch is
/// all or nothing, a statement prepared once serves again after a failure, and an insert that
/// conflicts changes no row (how a replayed assertion id is told apart).
@Suite struct SQLiteBatchConnectionTests {
    private func withTable(_ body: (SQLiteBatchConnection) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("store.sqlite").path
        FileManager.default.createFile(atPath: path, contents: nil)  // an empty file is an empty database
        let connection = try SQLiteBatchConnection(path: path)
        defer { connection.close() }
        try connection.execute(SQLStatement("CREATE TABLE ids (id TEXT PRIMARY KEY, n BIGINT)", []))
        try body(connection)
    }

    private func count(_ connection: SQLiteBatchConnection, _ id: String) throws -> Int {
        // An insert that changes a row only where `id` is absent: 1 - changes is the count.
        let changed = try connection.execute(SQLStatement("INSERT INTO ids (id, n) VALUES (?, 0) ON CONFLICT DO NOTHING", [.text(id)]))
        if changed == 1 { try connection.execute(SQLStatement("DELETE FROM ids WHERE id = ?", [.text(id)])) }
        return 1 - changed
    }

    @Test func aBatchThatFailsHalfwayLeavesNothingAndTheConnectionGoesOn() throws {
        try withTable { (connection: SQLiteBatchConnection) throws in
            let insert = "INSERT INTO ids (id, n) VALUES (?, ?)"
            #expect(throws: SQLiteStatus.self) {
                try connection.transaction { () throws(SQLiteStatus) in
                    try connection.execute(SQLStatement(insert, [.text("a"), .integer(1)]))
                    try connection.execute(SQLStatement(insert, [.text("a"), .integer(2)]))  // primary key
                }
            }
            #expect(try count(connection, "a") == 0, "the first insert was rolled back with the batch")
            try connection.transaction { () throws(SQLiteStatus) in
                try connection.execute(SQLStatement(insert, [.text("a"), .null]))
            }
            #expect(try count(connection, "a") == 1)
        }
    }

    @Test func aConflictingInsertChangesNoRow() throws {
        try withTable { (connection: SQLiteBatchConnection) throws in
            let claim = SQLStatement("INSERT INTO ids (id, n) VALUES (?, ?) ON CONFLICT DO NOTHING", [.text("x"), .integer(7)])
            #expect(try connection.execute(claim) == 1)
            #expect(try connection.execute(claim) == 0)
        }
    }

    @Test func anErrorNamesSQLitesReason() throws {
        try withTable { (connection: SQLiteBatchConnection) throws in
            let error = #expect(throws: SQLiteStatus.self) { try connection.execute(SQLStatement("INSERT INTO missing VALUES (?)", [.null])) }
            #expect(error?.description.contains("no such table: missing") == true)
        }
    }

    @Test func aStatementForSQLKitBindsEachParameterInOrder() async throws {
        let statement = SQLStatement("SELECT ? AS a, ? AS b, ? AS c", [.text("one?"), .integer(2), .null])
        let store = try await Store.open(.sqlite(path: FileManager.default.temporaryDirectory.appendingPathComponent("q-\(UUID().uuidString).sqlite").path),
            logger: Logger(label: "batch-test"))
        let row = try await store.read { try await $0.raw(statement.query).first() }
        await store.close()
        #expect(try row?.decode(column: "a", as: String.self) == "one?")
        #expect(try row?.decode(column: "b", as: Int64.self) == 2)
        #expect(try row?.decodeNil(column: "c") == true)
    }
}
