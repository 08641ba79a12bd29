import NIOCore
import Testing
@testable import SigilServer

/// The outbound fetcher's guard: which addresses an untrusted issuer may be on.
@Suite struct AddressGuardTests {
    @Test(arguments: [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
        "64:ff9b::a00:1", "ff02::1",
    ])
    func refusesNonPublicAddresses(_ text: String) throws {
        #expect(!AddressGuard.isPublic(try SocketAddress(ipAddress: text, port: 443)))
    }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "192.169.0.1", "140.82.112.3", "2606:4700::1111", "::ffff:8.8.8.8"])
    func allowsPublicAddresses(_ text: String) throws {
        #expect(AddressGuard.isPublic(try SocketAddress(ipAddress: text, port: 443)))
    }

    @Test func onlyHTTPSURLsWithoutUserNamesAreFetched() {
        #expect(throws: FetchError.self) { try BoundedFetcher.target("http://issuer.example/x") }
        #expect(throws: FetchError.self) { try BoundedFetcher.target("https://user@issuer.example/x") }
        #expect(throws: FetchError.self) { try BoundedFetcher.target("not a url") }
        #expect((try? BoundedFetcher.target("https://issuer.example:8443/a?b=c"))?.pathAndQuery == "/a?b=c")
    }
}
