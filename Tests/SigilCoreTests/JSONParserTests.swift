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
