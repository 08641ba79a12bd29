import Crypto
import Foundation
import SigilCore
import Subprocess
import Testing

@testable import SigilAgent

/// Attestation of real processes: children of the test, connecting to the agent's real socket.
@Suite struct ProcessAttestationTests {
    /// A Python child that connects to the socket, asks for a token, and prints what its own
    /// `/proc/self/exe` is, so the test can compare with what the agent saw.
    static let client = """
        import hashlib, json, os, socket, sys
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        s.sendall(b"GET /token?resource=api://orders HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        exe = os.readlink("/proc/self/exe")
        digest = hashlib.sha256(open("/proc/self/exe", "rb").read()).hexdigest()
        print(json.dumps({"exe": exe, "sha256": digest, "answer": answer.split(b"\\r\\n\\r\\n", 1)[1].decode()}))
        """

    /// Like `client`, but the process that connects exits at once and leaves a forked child to
    /// send the request over the inherited connection: SO_PEERCRED names a process that is gone.
    static let orphan = """
        import os, socket, sys, time
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        if os.fork() > 0:
            os._exit(0)
        time.sleep(0.3)
        s.sendall(b"GET /token?resource=api://orders HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        open(sys.argv[2], "wb").write(answer.split(b"\\r\\n\\r\\n", 1)[1])
        """

    @Test func aChildProcessIsAttestedByItsExecutable() async throws {
        // A rule for this user on another executable's hash: the caller's own is computed (and does not match).
        let other = try HostRule(
            id: "r0", identityAppId: AgentFixture.ordersIdentity.appId, selectors: [.uid(getuid()), .sha256(String(repeating: "0", count: 64))])
        try await RunningAgent.with(try .offline(rules: [other])) { agent in
            let result = try await run(
                .name("python3"), arguments: ["-c", Self.client, agent.endpoints.socket], output: .string(limit: 1 << 20), error: .string(limit: 1 << 16))
            let printed = try JSONParser.parseObject(Array(result.standardOutput.utf8))
            let exe = try #require(printed["exe"]?.stringValue)
            let digest = try #require(printed["sha256"]?.stringValue)
            let answer = try JSONParser.parseObject(Array((printed["answer"]?.stringValue ?? "").utf8))
            // No rule on the host matches: refused, and the refusal names what the agent saw.
            #expect(answer["error"] == "invalid_request")
            let message = try #require(answer["error_description"]?.stringValue)
            #expect(message.contains("no rule on host host-1 matches the caller"))
            #expect(message.contains("uid \(getuid()), gid \(getgid()),"))
            #expect(message.contains("path \(exe), sha256 \(digest)"), "\(message)")
        }
    }

    @Test func aRuleOnTheCallersExecutableChoosesItsIdentity() async throws {
        let me = try ProcessAttestation.readExecutable(of: getpid())
        let rule = try HostRule(id: "r1", identityAppId: AgentFixture.ordersIdentity.appId, selectors: [.uid(getuid()), .sha256(me.sha256)])
        try await RunningAgent.with(try .offline(rules: [rule])) { agent in
            // The test process itself calls: its rule grants `orders`; the server is down, so the
            // answer is 503 (the identity was chosen, only the token is missing).
            let reply = try await agent.get(agent.socket("resource=api://orders"))
            #expect(reply.status == 503, "\(reply.json)")
            // Naming an identity the rule does not grant is refused.
            let other = try await agent.get(agent.socket("resource=api://orders&client_id=\(AgentFixture.systemIdentity.appId)"))
            #expect(other.status == 400)
            #expect(other["error_description"]?.contains("grants client_id") == true)
            let foreign = try await agent.get(agent.socket("resource=api://orders&object_id=x"))
            #expect(foreign.status == 400)
        }
    }

    @Test func aCallerWhoseConnectingProcessExitedIsRefused() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let output = agent.runtime.state.path("orphan-answer.json")
            _ = try await run(.name("python3"), arguments: ["-c", Self.orphan, agent.endpoints.socket, output], output: .discarded)
            try await waitUntil { FileManager.default.fileExists(atPath: output) }
            try await waitUntil { (try? Data(contentsOf: URL(fileURLWithPath: output)).isEmpty) == false }
            let answer = try JSONParser.parseObject(Array(try Data(contentsOf: URL(fileURLWithPath: output))))
            #expect(answer["error_description"] == .string(CallerContinuity.refusal))
        }
    }

    @Test func anExitedProcessIsRefused() async throws {
        let result = try await run(.name("true"), output: .discarded)
        let pid = result.processIdentifier.value
        #expect(throws: AttestationError(CallerContinuity.refusal)) {
            try ProcessAttestation.attest(uid: getuid(), gid: getgid(), pid: pid, pidfd: nil, acceptedAtTicks: ProcessAttestation.bootTicks())
        }
    }

    @Test func aProcessThatStartedAfterTheConnectionWasAcceptedIsRefused() async throws {
        let acceptedBefore = ProcessAttestation.bootTicks()
        try await Task.sleep(for: .milliseconds(100))
        _ = try await run(.path("/bin/sleep"), arguments: ["30"], input: .none, output: .discarded, error: .discarded) { execution in
            let pid = execution.processIdentifier.value
            #expect(throws: AttestationError(CallerContinuity.refusal)) {
                try ProcessAttestation.attest(uid: getuid(), gid: getgid(), pid: pid, pidfd: nil, acceptedAtTicks: acceptedBefore)
            }
            // The same process, accepted after it started, is attested: /bin/sleep's bytes.
            let caller = try ProcessAttestation.attest(uid: getuid(), gid: getgid(), pid: pid, pidfd: nil, acceptedAtTicks: ProcessAttestation.bootTicks())
            let realPath = URL(fileURLWithPath: "/bin/sleep").resolvingSymlinksInPath().path
            #expect(caller.path == realPath)
            #expect(caller.sha256 == SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: realPath))).lowerHex)
            try execution.send(signal: .kill)
        }
    }

    @Test func startTimeIsReadPastACommandNameWithSpacesAndParentheses() throws {
        // The test process's own entry: positive, and stable across reads.
        let mine = try #require(ProcessAttestation.startTicks(of: getpid()))
        #expect(mine > 0 && mine <= ProcessAttestation.bootTicks())
        #expect(ProcessAttestation.startTicks(of: getpid()) == mine)
        #expect(ProcessAttestation.startTicks(of: Int32.max) == nil)
    }
}
