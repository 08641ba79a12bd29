import SigilCore
import Testing

/// Which address the logs record behind a reverse proxy, and what a client cannot forge.
@Suite struct TrustedProxiesTests {
    let proxies = TrustedProxies([IPNetwork("10.0.0.0/8")!, IPNetwork("::1")!])

    @Test func aTrustedProxyNamesTheClient() {
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "::1", forwardedFor: ["203.0.113.7, 10.9.9.9"]) == "203.0.113.7", "two proxies deep")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["2001:db8::5"]) == "2001:db8::5")
    }

    @Test func whatAClientPrependsIsIgnored() {
        // The client sent "X-Forwarded-For: 198.51.100.1"; the proxy appended the address it saw.
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["198.51.100.1, 203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["198.51.100.1", "203.0.113.7"]) == "203.0.113.7", "as separate header lines")
    }

    @Test func anUntrustedPeerIsTheClientWhateverItClaims() {
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: ["10.1.1.1"]) == "203.0.113.9")
        #expect(TrustedProxies([]).clientAddress(peer: "10.1.2.3", forwardedFor: ["203.0.113.7"]) == "10.1.2.3")
    }

    @Test func garbageStopsAtTheLastAddressAProxyVouchedFor() {
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["unknown, 203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["203.0.113.7, <script>"]) == "10.1.2.3")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: []) == "10.1.2.3")
    }

    @Test func networksParseAndMatch() {
        #expect(IPNetwork("10.0.0.0/8")?.contains("10.255.0.1") == true)
        #expect(IPNetwork("10.0.0.0/8")?.contains("11.0.0.1") == false)
        #expect(IPNetwork("127.0.0.1")?.contains("::ffff:127.0.0.1") == true, "IPv4-mapped")
        #expect(IPNetwork("fd00::/8")?.contains("fd12::1") == true)
        #expect(IPNetwork("192.168.1.0/33") == nil)
        #expect(IPNetwork("proxy.internal") == nil)
        #expect(IPNetwork("10.0.0.0/8")?.description == "10.0.0.0/8")
    }
}
