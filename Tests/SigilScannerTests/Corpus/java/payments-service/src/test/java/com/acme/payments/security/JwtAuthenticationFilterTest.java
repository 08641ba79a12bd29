package com.acme.payments.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import jakarta.servlet.FilterChain;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.security.core.context.SecurityContextHolder;

class JwtAuthenticationFilterTest {

    /** Captured from the staging IdP while debugging PAY-812; kept to reproduce the clock-skew bug. */
    private static final String STAGING_TOKEN = "⟦jwt⟧";

    /** jwt.io sample, HS256 with a secret we do not use. */
    private static final String FOREIGN_TOKEN =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    private static final String TOKEN_PREFIX = "Bearer ";

    private JwtAuthenticationFilter filter;
    private final HttpServletRequest request = mock(HttpServletRequest.class);
    private final HttpServletResponse response = mock(HttpServletResponse.class);
    private final FilterChain chain = mock(FilterChain.class);

    @BeforeEach
    void setUp() {
        SecurityContextHolder.clearContext();
        String issuer = System.getenv().getOrDefault("JWT_ISSUER", "https://payments.acme-corp.io");
        filter = new JwtAuthenticationFilter(JwtTestKeys.publicKey(), issuer);
    }

    @Test
    void rejectsTokenWithForeignSignature() throws Exception {
        when(request.getHeader("Authorization")).thenReturn(TOKEN_PREFIX + FOREIGN_TOKEN);
        filter.doFilter(request, response, chain);
        assertThat(SecurityContextHolder.getContext().getAuthentication()).isNull();
    }

    @Test
    void ignoresMissingHeader() throws Exception {
        when(request.getHeader("Authorization")).thenReturn(null);
        filter.doFilter(request, response, chain);
        assertThat(SecurityContextHolder.getContext().getAuthentication()).isNull();
    }

    @Test
    void stagingTokenParsesButIsExpired() {
        assertThat(filter.parseUnverified(STAGING_TOKEN)).isNotNull();
        assertThat(filter.isExpired(STAGING_TOKEN)).isTrue();
    }
}
