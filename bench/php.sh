#!/usr/bin/env bash
# The PHP verifier (php/) beside the TypeScript CLI, as whole processes in the same hyperfine run: the demo bundle
# a 64 MiB bundle (one file) and a CMS-like tree (20,000 files, 60 MB); then PHP verify's peak memory (max RSS) at 64 MiB and 1 GiB, which must stay flat (a shared
# host gives a PHP process 128-256 MB). Reports only. Run: bash bench/php.sh (builds dist/ when it is missing).
# Knobs: BENCH_RUNS (10), BENCH_WARMUP (2), BENCH_SKIP_1G=1. Writes bench/out/php.*.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=bench/out
WORK=$OUT/php-work
RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}
POLICY=keys-example/policy.signed.json
CLI=(node dist/countersign.cjs)
PHPV=(php php/bin/countersign-verify)
COUNTERSIGN_PASSPHRASE="$(cat keys-example/PASSPHRASE-TEST-ONLY)"
export COUNTERSIGN_PASSPHRASE LC_ALL=C
say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
trap 'rm -rf "$WORK"' EXIT
command -v php >/dev/null || { echo "php is not installed (apt-get install php-cli)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 1; }
[[ -f dist/countersign.cjs ]] || npm run build >/dev/null
mkdir -p "$OUT" && rm -rf "$WORK" && mkdir -p "$WORK/keys"
install -m 0600 keys-example/*.key "$WORK/keys/"

say "0. Machine"
note "$(php -r 'echo "PHP ", PHP_VERSION, ", libsodium ", SODIUM_LIBRARY_VERSION;'), node $(node --version), $(hyperfine --version), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
note "load average: $(cut -d' ' -f1-3 /proc/loadavg) (the cores are shared with other work: compare the ratios within one run, not absolute times)"

# make_bundle SRC_DIR REL_DIR BUNDLE PRODUCT VERSION: build + sign (alice, bob, carol) + assemble 3-of-5.
make_bundle() {
  local src=$1 rel=$2 bundle=$3 product=$4 version=$5 sigs=() who
  "${CLI[@]}" build --source "$src" --product "$product" --version "$version" --out "$rel" >/dev/null
  for who in alice bob carol; do
    "${CLI[@]}" sign "$rel/$product-$version.manifest.json" --key "$WORK/keys/$who.key" --yes --out "$rel/$who.sig" >/dev/null
    sigs+=("$rel/$who.sig")
  done
  "${CLI[@]}" assemble "$rel/$product-$version.manifest.json" --policy "$POLICY" --out "$bundle" "${sigs[@]}" >/dev/null
}

say "1. Verify the demo release (drupal core 10.2.4 from demo/sample), whole processes"
make_bundle demo/sample/drupal-10.2.4 "$WORK/demo" "$WORK/demo.bundle" drupal 10.2.4
note "bundle $(stat -c %s "$WORK/demo.bundle") bytes"
"${PHPV[@]}" "$WORK/demo.bundle" --policy "$POLICY" >/dev/null
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --export-json "$OUT/php.demo.json" \
  -n "countersign verify (node)" "${CLI[*]} verify $WORK/demo.bundle --policy $POLICY" \
  -n "php countersign-verify" "${PHPV[*]} $WORK/demo.bundle --policy $POLICY" \
  -n "php -v (start-up alone)" "php -v"

say "2. Verify a 64 MiB bundle, whole processes"
node bench/gen-tree.mjs one "$WORK/v64/src/payload.bin" $((64 << 20)) 64 >/dev/null
make_bundle "$WORK/v64/src" "$WORK/v64/rel" "$WORK/v64.bundle" bench 1.0.0
rm -rf "$WORK/v64/src"
note "bundle $(stat -c %s "$WORK/v64.bundle") bytes"
"${PHPV[@]}" "$WORK/v64.bundle" --policy "$POLICY" >/dev/null
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --export-json "$OUT/php.v64.json" \
  -n "countersign verify (node)" "${CLI[*]} verify $WORK/v64.bundle --policy $POLICY" \
  -n "php countersign-verify" "${PHPV[*]} $WORK/v64.bundle --policy $POLICY" \
  -n "sha256sum (context)" "sha256sum $WORK/v64.bundle"

say "2b. Verify a CMS-like release: 20,000 files, 60 MB in all (the size spread of a Drupal or WordPress tree)"
node bench/gen-tree.mjs many "$WORK/many/src" 20000 60000000 >/dev/null
make_bundle "$WORK/many/src" "$WORK/many/rel" "$WORK/many.bundle" bench 1.0.0
rm -rf "$WORK/many/src" "$WORK/many/rel"
note "bundle $(stat -c %s "$WORK/many.bundle") bytes"
"${PHPV[@]}" "$WORK/many.bundle" --policy "$POLICY" >/dev/null
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --export-json "$OUT/php.many.json" \
  -n "countersign verify (node)" "${CLI[*]} verify $WORK/many.bundle --policy $POLICY" \
  -n "php countersign-verify" "${PHPV[*]} $WORK/many.bundle --policy $POLICY"
rm -f "$WORK/many.bundle"

say "3. Peak memory (max RSS) of PHP verify: 64 MiB vs 1 GiB"
rss() { # rss BUNDLE LABEL
  local i kb secs
  for i in 1 2 3; do
    /usr/bin/time -f '%M %e' -o "$WORK/time.txt" "${PHPV[@]}" "$1" --policy "$POLICY" >/dev/null
    read -r kb secs <"$WORK/time.txt"
    note "php, $2, run $i: max RSS $kb KiB, $secs s"
    /usr/bin/time -f '%M %e' -o "$WORK/time.txt" "${CLI[@]}" verify "$1" --policy "$POLICY" >/dev/null
    read -r kb secs <"$WORK/time.txt"
    note "node, $2, run $i: max RSS $kb KiB, $secs s"
  done
}
rss "$WORK/v64.bundle" "64 MiB"
rm -f "$WORK/v64.bundle"
if [[ ${BENCH_SKIP_1G:-0} != 1 ]]; then
  node bench/gen-tree.mjs one "$WORK/v1g/src/payload.bin" $((1 << 30)) 1024 >/dev/null
  make_bundle "$WORK/v1g/src" "$WORK/v1g/rel" "$WORK/v1g.bundle" bench 1.0.0
  rm -rf "$WORK/v1g/src" "$WORK/v1g/rel"
  rss "$WORK/v1g.bundle" "1 GiB"
fi
