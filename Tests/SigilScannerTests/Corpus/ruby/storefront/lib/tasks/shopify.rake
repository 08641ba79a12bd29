# frozen_string_literal: true

require "net/http"
require "json"

namespace :shopify do
  SHOP = ENV.fetch("SHOPIFY_SHOP", "acme-outlet.myshopify.com")
  API_VERSION = "2024-04"
  # Custom app "storefront-sync", scopes read_products, read_inventory
  ADMIN_TOKEN = ENV.fetch("SHOPIFY_ADMIN_TOKEN") { "⟦shopify-token⟧" }

  def shopify_graphql(query, variables = {})
    uri = URI("https://#{SHOP}/admin/api/#{API_VERSION}/graphql.json")
    request = Net::HTTP::Post.new(uri)
    request["X-Shopify-Access-Token"] = ADMIN_TOKEN
    request["Content-Type"] = "application/json"
    request.body = { query: query, variables: variables }.to_json
    response = Net::HTTP.start(uri.host, uri.port, use_ssl: true) { |http| http.request(request) }
    raise "Shopify #{response.code}: #{response.body}" unless response.is_a?(Net::HTTPSuccess)

    JSON.parse(response.body).fetch("data")
  end

  desc "Import products and inventory levels from Shopify"
  task import_products: :environment do
    cursor = nil
    imported = 0
    loop do
      data = shopify_graphql(<<~GRAPHQL, { cursor: cursor })
        query($cursor: String) {
          products(first: 100, after: $cursor) {
            pageInfo { hasNextPage endCursor }
            nodes { id title handle totalInventory updatedAt }
          }
        }
      GRAPHQL
      page = data.fetch("products")
      page.fetch("nodes").each do |node|
        Product.upsert(
          { shopify_gid: node["id"], title: node["title"], handle: node["handle"], stock: node["totalInventory"] },
          unique_by: :shopify_gid,
        )
        imported += 1
      end
      break unless page.dig("pageInfo", "hasNextPage")

      cursor = page.dig("pageInfo", "endCursor")
    end
    puts "Imported #{imported} products"
  end

  desc "Print the configured shop (never the token)"
  task :whoami do
    puts "shop=#{SHOP} token=#{ADMIN_TOKEN[0, 6]}…"
  end
end
