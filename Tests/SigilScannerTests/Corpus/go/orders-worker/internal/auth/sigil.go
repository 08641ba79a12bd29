package auth

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// The worker authenticates to internal APIs as the "orders-worker" service principal.
// The client secret below is the staging credential; production uses the agent's
// managed identity and never reads SIGIL_CLIENT_SECRET.
const (
	tokenURL          = "https://sigil.internal.acme-corp.io/oauth2/token"
	clientID          = "orders-worker"
	stagingSecret     = "⟦sigil-client-secret⟧"
	clientSecretEnv   = "SIGIL_CLIENT_SECRET"
	defaultAudience   = "https://fulfilment.internal.acme-corp.io"
	tokenRefreshSlack = 30 * time.Second
)

// Client returns an *http.Client that attaches a fresh bearer token to every request.
func Client(ctx context.Context, scopes ...string) *http.Client {
	secret := os.Getenv(clientSecretEnv)
	if secret == "" {
		secret = stagingSecret
	}
	cfg := clientcredentials.Config{
		ClientID:       clientID,
		ClientSecret:   secret,
		TokenURL:       tokenURL,
		Scopes:         scopes,
		EndpointParams: url.Values{"audience": {defaultAudience}},
	}
	return cfg.Client(ctx)
}

// BearerFrom extracts the token from an Authorization header value.
func BearerFrom(header string) (token string, ok bool) {
	const prefix = "Bearer "
	if !strings.HasPrefix(header, prefix) {
		return "", false
	}
	token = strings.TrimSpace(header[len(prefix):])
	return token, token != ""
}
