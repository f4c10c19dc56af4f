#!/usr/bin/env bash
# What a one-function binary costs to build with each zen-telemetry feature
# set, against the usual `tracing` stacks: crates compiled, cold release
# build time, binary size. Every build starts from an empty target directory
# (dependencies already downloaded, so network time is not counted).
#
#   bash benches/build-size.sh            # zen-telemetry's feature sets and the OTLP anchor
#   bash benches/build-size.sh --gcloud   # also tracing + opentelemetry-gcloud-trace
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# measure NAME DEPENDENCIES MAIN_RS
measure() {
  local name="$1" deps="$2" main="$3" dir="$work/$1"
  mkdir -p "$dir/src"
  printf '[package]\nname = "probe-%s"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n%s\n\n[workspace]\n' \
    "$name" "$deps" >"$dir/Cargo.toml"
  printf '%s\n' "$main" >"$dir/src/main.rs"
  (cd "$dir" && cargo fetch -q)
  local start end crates size
  start=$(date +%s.%N)
  crates=$(cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build --release 2>&1 | grep -c '^ *Compiling')
  end=$(date +%s.%N)
  size=$(stat -c %s "$dir/target/release/probe-$name")
  printf '| %s | %s | %.0f s | %.1f MB |\n' "$name" "$crates" "$(echo "$end - $start" | bc)" "$(echo "$size / 1000000" | bc -l)"
}

zen_main='#[zen_telemetry::traced]
fn work(n: u64) -> u64 { n * 2 }
fn main() { println!("{}", work(21)); }'
tracing_main='use tracing_subscriber::layer::SubscriberExt;
#[tracing::instrument]
fn work(n: u64) -> u64 { n * 2 }
fn main() {
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build().expect("exporter");
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_batch_exporter(exporter).build();
    use opentelemetry::trace::TracerProvider as _;
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("probe"));
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    println!("{}", work(21));
}'
otel_deps='tracing = "0.1"
tracing-subscriber = { version = "0.3", default-features = false, features = ["registry", "std"] }
tracing-opentelemetry = { version = "0.34", default-features = false }
opentelemetry = "0.33"
opentelemetry_sdk = "0.33"
opentelemetry-otlp = { version = "0.33", default-features = false, features = ["trace", "grpc-tonic"] }'

echo "| stack | crates compiled | cold build | binary |"
echo "|---|---:|---:|---:|"
measure zen-default "zen-telemetry = { path = \"$repo/zen-telemetry\" }" "$zen_main"
measure zen-otlp "zen-telemetry = { path = \"$repo/zen-telemetry\", default-features = false, features = [\"otlp\"] }" "$zen_main"
measure zen-local "zen-telemetry = { path = \"$repo/zen-telemetry\", default-features = false }" "$zen_main"
measure tracing-otlp "$otel_deps" "$tracing_main"
if [ "${1:-}" = "--gcloud" ]; then
  measure tracing-gcloud "$otel_deps
opentelemetry-gcloud-trace = \"0.29\"" "$tracing_main"
fi
