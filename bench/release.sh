# Sourced by the benchmarks that drive a release-built server with wrk: installs wrk when it is
# missing and builds `sigil` and `sigil-bench` in release mode (progress on stderr).
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
echo "building release…" >&2
swift build -c release --product sigil >&2
swift build -c release --product sigil-bench >&2
