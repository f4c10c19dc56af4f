#!/usr/bin/env bash
# What one attribute costs per function: a crate of N small fallible
# functions (`fn fK(x: u64, s: &str) -> Result<u64, E>`), each under one
# attribute, and a binary calling them all, for no attribute, zen's
# `#[traced]`, `#[tracing::instrument(skip_all, err)]` and `#[fastrace::trace]`,
# side by side in one run:
#   - release and debug build time of the crate alone (dependencies warm,
#     `touch src/lib.rs`, best of 3);
#   - per function in the stripped binary: (size with 2N functions - size
#     with N) / N, so the runtime each links once is not counted;
#   - the debug rlib of the N functions.
# Builds offline, from this workspace's Cargo.lock, in a temporary directory.
#
#   bash benches/expansion-cost.sh        # N = 300
#   bash benches/expansion-cost.sh 100
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-300}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

kinds=(none zen tracing fastrace)
declare -A attribute=(
  [none]=''
  [zen]='#[zen_telemetry::traced]'
  [tracing]='#[tracing::instrument(skip_all, err)]'
  [fastrace]='#[fastrace::trace]'
)
declare -A dependency=(
  [none]=''
  [zen]="zen-telemetry = { path = \"$repo/zen-telemetry\" }"
  [tracing]='tracing = { version = "0.1", default-features = false, features = ["std", "attributes"] }'
  [fastrace]='fastrace = { version = "0.7", features = ["enable"] }'
)

# The crate's functions K in [from, to); those from N on only with `more`.
functions() {
  local kind="$1" from="$2" to="$3" gate="$4" k
  for ((k = from; k < to; k++)); do
    [ -n "$gate" ] && echo '#[cfg(feature = "more")]'
    [ -n "${attribute[$kind]}" ] && echo "${attribute[$kind]}"
    echo "pub fn f$k(x: u64, s: &str) -> Result<u64, E> { if x == $k { Err(E(x)) } else { Ok(x + s.len() as u64 + $k) } }"
  done
}

calls() {
  local from="$1" to="$2" gate="$3" k
  for ((k = from; k < to; k++)); do
    [ -n "$gate" ] && echo '    #[cfg(feature = "more")]'
    echo "    { t = t.wrapping_add(fns_$kind::f$k(t, \"x\").unwrap_or(1)); }"
  done
}

members=""
for kind in "${kinds[@]}"; do
  dir="$work/fns_$kind"
  mkdir -p "$dir/src"
  members="$members\"fns_$kind\", "
  printf '[package]\nname = "fns_%s"\nversion = "0.0.0"\nedition = "2021"\n\n[features]\nmore = []\n\n[dependencies]\n%s\n' \
    "$kind" "${dependency[$kind]}" >"$dir/Cargo.toml"
  {
    # fastrace's expansion trips `unused_braces` in every function.
    echo '#![allow(unused_braces)]'
    echo '#[derive(Debug)] pub struct E(pub u64);'
    echo 'impl core::fmt::Display for E { fn fmt(&self, f: &mut core::fmt::Formatter<'"'"'_>) -> core::fmt::Result { write!(f, "e{}", self.0) } }'
    echo 'impl std::error::Error for E {}'
    functions "$kind" 0 "$n" ""
    functions "$kind" "$n" $((2 * n)) more
  } >"$dir/src/lib.rs"
  {
    echo 'fn main() {'
    echo '    let mut t = std::env::args().count() as u64;'
    calls 0 "$n" ""
    calls "$n" $((2 * n)) more
    echo '    println!("{t}");'
    echo '}'
  } >"$dir/src/main.rs"
done
printf '[workspace]\nresolver = "2"\nmembers = [%s]\n\n[profile.release]\nstrip = false\n' "$members" >"$work/Cargo.toml"
cp "$repo/Cargo.lock" "$work/Cargo.lock"
export CARGO_TARGET_DIR="$work/target"
cd "$work"

# Dependencies warm, both profiles and both feature sets.
for kind in "${kinds[@]}"; do
  cargo build --offline -q --release -p "fns_$kind"
  cargo build --offline -q --release -p "fns_$kind" --features more
  cargo build --offline -q -p "fns_$kind" --lib
done

# seconds PROFILE_ARGS KIND: the best of 3 rebuilds of the crate alone.
seconds() {
  local kind="$1" best="" start end took
  shift
  for _ in 1 2 3; do
    touch "fns_$kind/src/lib.rs"
    start=$(date +%s.%N)
    cargo build --offline -q "$@" -p "fns_$kind" --lib
    end=$(date +%s.%N)
    took=$(echo "$end - $start" | bc)
    if [ -z "$best" ] || [ "$(echo "$took < $best" | bc)" = 1 ]; then best="$took"; fi
  done
  echo "$best"
}

stripped_size() {
  strip -o "$work/stripped" "$1"
  stat -c %s "$work/stripped"
}

declare -A release debug per_fn rlib
for kind in "${kinds[@]}"; do
  cargo build --offline -q --release -p "fns_$kind"
  small=$(stripped_size "target/release/fns_$kind")
  cargo build --offline -q --release -p "fns_$kind" --features more
  large=$(stripped_size "target/release/fns_$kind")
  per_fn[$kind]=$(echo "($large - $small) / $n" | bc -l)
  release[$kind]=$(seconds "$kind" --release)
  debug[$kind]=$(seconds "$kind")
  rlib[$kind]=$(stat -c %s "target/debug/libfns_$kind.rlib")
done

echo "## What one attribute costs ($n functions, $(rustc --version | cut -d' ' -f2), $(nproc) cores)"
echo
echo "| attribute | release build | debug build | per fn, stripped binary | debug rlib |"
echo "|---|---:|---:|---:|---:|"
for kind in "${kinds[@]}"; do
  printf '| %s | %.2f s | %.2f s | %.2f KB | %.1f MB |\n' "$kind" "${release[$kind]}" "${debug[$kind]}" \
    "$(echo "${per_fn[$kind]} / 1000" | bc -l)" "$(echo "${rlib[$kind]} / 1000000" | bc -l)"
done
echo
ratio() { echo "$1 / $2" | bc -l; }
printf '| zen / tracing | release %.2f× (target ≤ 0.5) | debug %.2f× | per fn %.2f× (target ≤ 1.0) | rlib %.2f× (target ≤ 1.0) |\n' \
  "$(ratio "${release[zen]}" "${release[tracing]}")" "$(ratio "${debug[zen]}" "${debug[tracing]}")" \
  "$(ratio "${per_fn[zen]}" "${per_fn[tracing]}")" "$(ratio "${rlib[zen]}" "${rlib[tracing]}")"
printf '| zen / fastrace | release %.2f× | debug %.2f× | per fn %.2f× | rlib %.2f× |\n' \
  "$(ratio "${release[zen]}" "${release[fastrace]}")" "$(ratio "${debug[zen]}" "${debug[fastrace]}")" \
  "$(ratio "${per_fn[zen]}" "${per_fn[fastrace]}")" "$(ratio "${rlib[zen]}" "${rlib[fastrace]}")"
