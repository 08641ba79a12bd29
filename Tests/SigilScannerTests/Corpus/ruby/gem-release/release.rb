#!/usr/bin/env ruby
# frozen_string_literal: true

# Builds and pushes acme-client to RubyGems and GitHub Packages.
#   GEM_HOST_API_KEY   rubygems.org key (push scope only)
#   GITHUB_TOKEN       token with write:packages
require "digest"
require "fileutils"
require "open3"

GEMSPEC = "acme-client.gemspec"
GITHUB_HOST = "https://rubygems.pkg.github.com/acme-corp"

def sh(*cmd, env: {})
  out, status = Open3.capture2e(env, *cmd)
  abort "#{cmd.join(' ')} failed:\n#{out}" unless status.success?
  out
end

version = File.read("lib/acme/client/version.rb")[/VERSION = "([^"]+)"/, 1]
gem_file = "acme-client-#{version}.gem"

api_key = ENV.fetch("GEM_HOST_API_KEY") { abort "GEM_HOST_API_KEY is not set" }
github_token = ENV["GITHUB_TOKEN"]

sh("gem", "build", GEMSPEC)
sh("gem", "push", gem_file, env: { "GEM_HOST_API_KEY" => api_key })
if github_token && !github_token.empty?
  sh("gem", "push", "--host", GITHUB_HOST, gem_file, env: { "GEM_HOST_API_KEY" => "Bearer #{github_token}" })
end

checksum = Digest::SHA256.file(gem_file).hexdigest
File.write("checksums/#{gem_file}.sha256", "#{checksum}\n")
FileUtils.rm_f(gem_file)
puts "released #{version} (sha256 #{checksum})"
