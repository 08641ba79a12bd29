package com.acme.payments.config;

import com.squareup.square.Environment;
import com.squareup.square.SquareClient;
import com.squareup.square.authentication.BearerAuthModel;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;

/**
 * Square client wiring. Production reads the access token from the environment; the sandbox
 * profile uses the shared sandbox application so that integration tests can run on laptops.
 */
@Configuration
public class SquareConfig {

    /** Sandbox app "acme-payments-dev". */
    static final String SANDBOX_ACCESS_TOKEN = "⟦square-access-token⟧";
    static final String SANDBOX_APPLICATION_ID = "sandbox-sq0idb-Tw6PAmY6xWutgCg4zjIccv";
    static final String SANDBOX_OAUTH_SECRET = "⟦square-oauth-secret⟧";

    @Bean
    @Profile("!sandbox")
    SquareClient squareClient(@Value("${square.access-token}") String accessToken,
                              @Value("${square.environment:production}") String environment) {
        return new SquareClient.Builder()
                .environment(Environment.fromString(environment))
                .bearerAuthCredentials(new BearerAuthModel.Builder(accessToken).build())
                .timeout(10)
                .build();
    }

    @Bean
    @Profile("sandbox")
    SquareClient sandboxSquareClient() {
        return new SquareClient.Builder()
                .environment(Environment.SANDBOX)
                .bearerAuthCredentials(new BearerAuthModel.Builder(SANDBOX_ACCESS_TOKEN).build())
                .build();
    }

    @Bean
    OAuthSettings squareOAuthSettings(@Value("${square.application-id:" + SANDBOX_APPLICATION_ID + "}") String applicationId) {
        String secret = System.getenv("SQUARE_OAUTH_SECRET");
        return new OAuthSettings(applicationId, secret != null ? secret : SANDBOX_OAUTH_SECRET);
    }

    public record OAuthSettings(String applicationId, String clientSecret) {
        @Override
        public String toString() {
            return "OAuthSettings[applicationId=" + applicationId + ", clientSecret=REDACTED]";
        }
    }
}
