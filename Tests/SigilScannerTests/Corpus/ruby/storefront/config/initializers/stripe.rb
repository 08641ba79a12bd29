# frozen_string_literal: true

# Stripe configuration.
#
# Production and staging read keys from encrypted credentials (bin/rails credentials:edit).
# Review apps have no credentials file, so they fall back to ENV and finally to the shared
# review-app key below.
REVIEW_APP_STRIPE_KEY = "⟦stripe-secret-key⟧"

Rails.configuration.stripe = {
  publishable_key: ENV.fetch("STRIPE_PUBLISHABLE_KEY", Rails.application.credentials.dig(:stripe, :publishable_key)),
  secret_key: Rails.application.credentials.dig(:stripe, :secret_key) || ENV.fetch("STRIPE_SECRET_KEY", REVIEW_APP_STRIPE_KEY),
  webhook_secret: Rails.application.credentials.dig(:stripe, :webhook_secret) || ENV["STRIPE_WEBHOOK_SECRET"],
  api_version: "2024-06-20",
}

Stripe.api_key = Rails.configuration.stripe[:secret_key]
Stripe.api_version = Rails.configuration.stripe[:api_version]
Stripe.max_network_retries = 2
Stripe.log_level = Rails.env.development? ? Stripe::LEVEL_INFO : nil

module StripeWebhook
  SIGNATURE_HEADER = "HTTP_STRIPE_SIGNATURE"
  TOLERANCE = 300

  def self.construct(request)
    payload = request.body.read
    signature = request.env[SIGNATURE_HEADER]
    secret = Rails.configuration.stripe[:webhook_secret]
    raise ArgumentError, "STRIPE_WEBHOOK_SECRET is not configured" if secret.blank?

    Stripe::Webhook.construct_event(payload, signature, secret, tolerance: TOLERANCE)
  end
end

if Rails.env.production? && Stripe.api_key.to_s.start_with?("sk_test_")
  Rails.logger.warn("Stripe is running with a test-mode key in production!")
end
