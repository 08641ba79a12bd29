"""Reads wrk --latency output on stdin; prints 'RATE P50_MS P99_MS NON2XX'."""
import re
import sys

text = sys.stdin.read()


def milliseconds(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = milliseconds(re.search(r"\s50%\s+(\S+)", text).group(1))
p99 = milliseconds(re.search(r"\s99%\s+(\S+)", text).group(1))
match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = int(match.group(1)) if match else 0
socket_errors = re.search(r"Socket errors: (.*)", text)
if socket_errors:
    errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
print(f"{rate:.0f} {p50:.2f} {p99:.2f} {errors}")
