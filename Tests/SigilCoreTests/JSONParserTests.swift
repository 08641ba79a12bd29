import Testing

@testable import SigilCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#"{"a":[1,-2.5e3,true,false,null],"b":{"c":"x\"\\\/\n\u00e9\ud83d\ude00"}}"#)
        #expect(value == .object([
            "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]),
            "b": .object(["c": .string("x\"\\/\né😀")]),
        ]))
    }

    @Test func serializationRoundTrips() throws {
        let value: JSONValue = ["name": "a\"b\u{1}", "n": 3, "list": [true, .null], "nested": ["x": "y"]]
        #expect(try parse(value.serialized()) == value)
    }

    @Test func stringsAreEscapedExactlyWhereJSONRequires() throws {
        let text = "plain \"q\" back\\slash\nline\rret\ttab\u{1}\u{1F} é😀 end"
        #expect(JSONValue.string(text).serialized() == #""plain \"q\" back\\slash\nline\rret\ttab\u0001\u001f é😀 end""#)
        #expect(JSONValue.string("").serialized() == #""""#)
        #expect(JSONValue.string("\"").serialized() == #""\"""#)
        #expect(try parse(JSONValue.string(text).serialized()) == .string(text))
    }

    @Test(arguments: [
        (#"{"alg":"ES256","alg":"none"}"#, "duplicate member name 'alg'"),
        (#"{"a":1} x"#, "unexpected data after the JSON value"),
        (#"{"a":01}"#, "leading zero in number"),
        (#"{"a":"\ud800"}"#, "unpaired surrogate in string"),
        (#"{"a":tru}"#, "invalid literal"),
        (#"{"a":"b"#, "unterminated string"),
        ("{\"a\":\"\u{1}\"}", "control character in string"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"[1,]"#, "unexpected character"),
        (#"{"a":1e999}"#, "number out of range"),
    ])
    func refusesMalformedDocuments(text: String, reason: String) {
        #expect { try parse(text) } throws: { ($0 as? JSONParser.Failure)?.reason == reason }
    }

    @Test func refusesDeepNestingWithoutRecursingFurther() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect { try parse(deep) } throws: { ($0 as? JSONParser.Failure)?.reason.contains("nested more than 32") == true }
        let fine = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try parse(fine) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func parseObjectRefusesOtherTopLevelValues() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parseObject(Array("[1]".utf8)) }
    }
}

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("2026-01-31T12:00:00Z", 1_769_860_800.0), ("2026-01-31t12:00:00z", 1_769_860_800.0),
        ("2026-01-31T17:30:00+05:30", 1_769_860_800.0), ("2026-01-31T12:00:00.25Z", 1_769_860_800.25),
        ("3073-08-16T00:20:32+18:08", 34_826_911_952.0),
    ])
    func parses(text: String, seconds: Double) {
        #expect(RFC3339.date(text)?.timeIntervalSince1970 == seconds)
    }

    @Test(arguments: ["yesterday", "2026-02-30T00:00:00Z", "2026-01-31T12:00:00", "2026-01-31T25:00:00Z", "2026-01-31T12:00:00+24:00", "2026-01-31"])
    func refuses(text: String) {
        #expect(RFC3339.date(text) == nil)
    }
}
