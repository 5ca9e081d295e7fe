#!/usr/bin/env bash
# The PHP runner beside the TypeScript `apply` and rsync, in the same run: a 500-file update to a 20,000-file site
# (bench/gen-tree.mjs, bench/gen-update.mjs, as bench/run.sh section 5), then peak memory (max RSS) of the PHP runner
# applying a 64 MiB and a 1 GiB file, which must stay flat. Needs dist/ (npm run build), php-cli, hyperfine, rsync.
#   bash bench/php-apply.sh            # writes bench/out/php-apply/*.json and prints the figures
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=bench/out/php-apply
WORK=$OUT/work
RUNS=${BENCH_RUNS:-5}
POLICY=keys-example/policy.signed.json
CLI=(node dist/countersign.cjs)
COUNTERSIGN_PASSPHRASE="$(cat keys-example/PASSPHRASE-TEST-ONLY)"
export COUNTERSIGN_PASSPHRASE LC_ALL=C
[[ -f dist/countersign.cjs ]] || { echo "dist/ is missing: npm run build" >&2; exit 1; }
command -v php >/dev/null && command -v hyperfine >/dev/null && command -v rsync >/dev/null || { echo "needs php, hyperfine and rsync" >&2; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK/keys"
install -m 0600 keys-example/*.key "$WORK/keys/"
trap '[[ ${BENCH_KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"' EXIT
echo "php $(php -r 'echo PHP_VERSION;'), node $(node --version), $(nproc) cores shared with other jobs (figures are ratios within this run)"

bundle() { # bundle SRC BASE VERSION APPLIES OUTDIR BUNDLE
  local args=(build --source "$1" --product bench --version "$3" --policy "$POLICY" --out "$5")
  [[ -n $2 ]] && args+=(--base "$2" --applies-to "$4")
  "${CLI[@]}" "${args[@]}" >/dev/null
  local sigs=() who
  for who in alice bob carol; do
    "${CLI[@]}" sign "$5/bench-$3.manifest.json" --key "$WORK/keys/$who.key" --yes --out "$5/$who.sig" >/dev/null
    sigs+=("$5/$who.sig")
  done
  "${CLI[@]}" assemble "$5/bench-$3.manifest.json" --policy "$POLICY" --out "$6" "${sigs[@]}" >/dev/null
}

echo "== 500-file update to a 20,000-file site"
node bench/gen-tree.mjs many "$WORK/site0" 20000 60000000 2 | sed 's/^/   site: /'
node bench/gen-update.mjs "$WORK/site0" "$WORK/site1" 500 "$WORK/changed.txt" | sed 's/^/   update: /'
bundle "$WORK/site1" "$WORK/site0" 1.0.1 1.0.0 "$WORK/aout" "$WORK/apply.bundle"
FRESH="rm -rf $WORK/site $WORK/.countersign-site && cp -a $WORK/site0 $WORK/site && sync"
ARGS="$WORK/apply.bundle --site $WORK/site --policy $POLICY --product bench --component core --installed 1.0.0"
hyperfine --style basic -r "$RUNS" -w 1 --export-json "$OUT/apply.json" \
  -n "php countersign-apply" --prepare "$FRESH" "php php/bin/countersign-apply $ARGS" \
  -n "countersign apply (TypeScript)" --prepare "$FRESH" "node dist/countersign.cjs apply $ARGS" \
  -n "rsync changed files" --prepare "$FRESH" "bash -c 'rsync -a --files-from=$WORK/changed.txt $WORK/site1/ $WORK/site/ && (cd $WORK/site && xargs -r rm -f) < $WORK/changed.txt.deleted'"
eval "$FRESH"
php php/bin/countersign-apply $ARGS >/dev/null
diff -r "$WORK/site" "$WORK/site1" >/dev/null && echo "   PHP apply result equals the new tree" || echo "   WARNING: PHP apply result differs from the new tree"
eval "$FRESH"
/usr/bin/time -f '%M' -o "$WORK/rss" php php/bin/countersign-apply $ARGS >/dev/null
echo "   peak RSS, PHP runner, this update: $(cat "$WORK/rss") KiB"

echo "== peak memory of the PHP runner applying one large file (must be flat)"
for size in 64 1024; do
  mkdir -p "$WORK/big$size/old" "$WORK/big$size/new"
  echo "placeholder" >"$WORK/big$size/old/README"
  cp "$WORK/big$size/old/README" "$WORK/big$size/new/README"
  node bench/gen-tree.mjs one "$WORK/big$size/new/payload.bin" $((size << 20)) "$size" >/dev/null
  bundle "$WORK/big$size/new" "$WORK/big$size/old" 1.0.1 1.0.0 "$WORK/big$size/out" "$WORK/big$size.bundle"
  rm -rf "$WORK/site" "$WORK/.countersign-site" && cp -a "$WORK/big$size/old" "$WORK/site"
  /usr/bin/time -f '%M %e' -o "$WORK/rss" php -d memory_limit=128M php/bin/countersign-apply "$WORK/big$size.bundle" --site "$WORK/site" --policy "$POLICY" --product bench --component core --installed 1.0.0 >/dev/null
  read -r rss secs <"$WORK/rss"
  cmp -s "$WORK/site/payload.bin" "$WORK/big$size/new/payload.bin" && ok=applied || ok=DIFFERS
  echo "   ${size} MiB file: peak RSS ${rss} KiB, ${secs} s, memory_limit=128M, ${ok}"
  printf '{"sizeMiB":%s,"maxRssKiB":%s,"seconds":%s}\n' "$size" "$rss" "$secs" >>"$OUT/memory.jsonl"
  rm -rf "$WORK/big$size" "$WORK/big$size.bundle"
done
