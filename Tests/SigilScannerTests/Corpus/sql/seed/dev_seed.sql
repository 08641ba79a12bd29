-- Development seed data. Loaded by `make db-seed`; never run against staging or production.
-- All users below log in with the password from the SEED_USER_PASSWORD variable; only the
-- bcrypt hashes are stored here.

TRUNCATE users, api_keys, integrations, audit_log RESTART IDENTITY CASCADE;

INSERT INTO users (id, email, display_name, password_hash, role, created_at) VALUES
  ('9bd1c556-42cf-465d-b7c1-dd5e55043bb3', 'ada@acme.test',   'Ada Admin',     '$2b$12$kNEyrkIVNBXn.ckkzxY5tydFfthubZR0FuBoxsKz2oFMVFjnY/oAc', 'admin',    now()),
  ('3fd65c5f-c586-49d2-adb2-0b8dc425eaed', 'sam@acme.test',   'Sam Support',   '$2b$12$Hef/4fPJcmq25uEHiaS9yVViFE3oHutzKi.sWTZnQyHqm0hIDy6kk', 'support',  now()),
  ('c93e6ab4-8a29-49ec-96e1-4dde4d83382c', 'flo@acme.test',   'Flo Finance',   '$2b$12$1vtW05Bd.LsPmqc40AFL2VBChEziX.3iVVeuDTK.oRiLn9tqetZPw', 'finance',  now()),
  ('f79259af-289d-44e3-827b-d8f05166e511', 'dev@acme.test',   'Dev Developer', '$2b$12$dx1fjiT575rnl/NH.T.z/kxUgkJTBN3EHrPb6mQH9jLx3p8H96s9K', 'engineer', now());

-- API keys are stored as SHA-256 of the key; the prefix is kept for display only.
INSERT INTO api_keys (id, owner_email, name, key_prefix, key_hash, scopes, expires_at) VALUES
  ('93967694-dde8-4159-b3b8-764ef1a85758', 'dev@acme.test', 'local-cli', 'ak_test_7Q', 'a45ee6ebc57f4590641e1f037860cf29ae36563d8b6da25a43a846eb31e7ea46', '{orders.read}', now() + interval '90 days'),
  ('4366eb30-ca27-410a-ac20-6487f77448b4', 'ada@acme.test', 'grafana',   'ak_test_Lm', 'da201e0c0d1a0dc00f0e71a714a16e81c1aad236d31def0b9d2993134b65ab3a', '{metrics.read}', NULL);

-- Third-party integrations. The dev shop talks to the sandbox accounts.
INSERT INTO integrations (name, settings) VALUES
  ('stripe',   jsonb_build_object('mode', 'test', 'restricted_key', '⟦stripe-restricted-key⟧')),
  ('shopify',  jsonb_build_object('shop', 'acme-dev.myshopify.com', 'access_token', '')),
  ('sendgrid', jsonb_build_object('api_key', '<set in .env>', 'from', 'dev@acme.test')),
  ('slack',    jsonb_build_object('webhook_url', NULL, 'channel', '#dev-null'));

INSERT INTO audit_log (actor, action, target, details, created_at) VALUES
  ('ada@acme.test', 'password.reset', 'sam@acme.test', '{"token_id": "68d0fa7b-1c11-4ec0-a8df-096661467a55"}', now() - interval '2 days'),
  ('system',        'apikey.create',  'dev@acme.test', '{"key_prefix": "ak_test_7Q", "sha256": "650bdf6593d1b61b4b171b2f3a9f889eeaf77ee09a4496e0ed7afceaa86dc3f3"}', now() - interval '1 day'),
  ('ada@acme.test', 'secret.read',    'kv/orders/api', '{"version": 12, "request_id": "aba226c1-f932-4546-a0cb-814b50efda46"}', now());

SELECT setval('orders_id_seq', 100000);
