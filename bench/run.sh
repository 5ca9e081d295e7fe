#!/usr/bin/env bash
# countersign benchmarks: verify vs minisign/sha256sum, build vs tar+sha256sum, verify's peak
# memory at 64 MiB vs 1 GiB, apply vs rsync, and a push to 10,000 simulated sites vs plain HTTP.
# Reports only (no pass/fail). Run via `npm run bench` (builds dist/ first).
#
# Prints a table and writes bench/out/results.json (plus the raw hyperfine JSON, phase timings and
# CPU-profile summaries beside it). Big inputs live in bench/out/work/ and are deleted on exit.
#
# Knobs (environment): BENCH_RUNS (10), BENCH_WARMUP (2), BENCH_SKIP_1G=1, BENCH_NO_HYPERFINE=1
# (force the plain-loop fallback), BENCH_KEEP_WORK=1 (keep bench/out/work for inspection).
# Section 6 (push to simulated sites, bench/push-sim.mjs): BENCH_SKIP_PUSH=1, BENCH_PUSH_SITES (10000),
# BENCH_PUSH_CONCURRENCY (64,256), BENCH_PUSH_PORTS (1), BENCH_PUSH_PLAIN_VERIFY=0,
# BENCH_PUSH_PLAIN_VERIFY_SITES (3000), BENCH_PUSH_VERIFY_CACHE (1: the simulator verifies each distinct bundle once;
# 0: every simulated site verifies in full), BENCH_PUSH_PROFILE=DIR (CPU profiles of hub and simulator).
# Section 7 (start-up) times whole processes against node -e 0. Section 8 (the transparency log, bench/log.mjs):
# BENCH_SKIP_LOG=1, BENCH_LOG_ENTRIES (1000000), BENCH_LOG_APPENDS (20000), BENCH_SKIP_LOG_PG=1. Section 9 (the state
# map, bench/map.mjs): BENCH_SKIP_MAP=1, BENCH_MAP_RECORDS (1000000); alone: npm run build && node --expose-gc bench/map.mjs.
# Section 10 (state proofs, bench/state-proof.mjs): BENCH_SKIP_STATE=1, BENCH_STATE_SIZES (1000,100000,1000000),
# BENCH_STATE_RUNS (20); alone: npm run build && node bench/state-proof.mjs bench/out/state-proof.json bench/out/work/state.
# Section 6 alone:
#   npm run build && node bench/push-sim.mjs && node bench/report.mjs bench/out
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=bench/out
WORK=$OUT/work
RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}
POLICY=keys-example/policy.signed.json
CLI=(node dist/countersign.cjs)
COUNTERSIGN_PASSPHRASE="$(cat keys-example/PASSPHRASE-TEST-ONLY)"
export COUNTERSIGN_PASSPHRASE
export LC_ALL=C
# NODE_EXTRA_CA_CERTS makes every node start parse that CA file (~20-100 ms here), which would hide the CLI's own cost
# beside node -e 0 and the one-pass references; nothing benched talks TLS, so it is unset for the whole run.
HAD_EXTRA_CA=${NODE_EXTRA_CA_CERTS:+yes}
unset NODE_EXTRA_CA_CERTS

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }

cleanup() {
  if [[ ${BENCH_KEEP_WORK:-0} != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
say "0. Tools and inputs"
install_pkg() { # install_pkg COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null && return 0
  note "installing $2 ..."
  { apt-get install -y "$2" || { apt-get update && apt-get install -y "$2"; }; } >"$OUT/apt-$2.log" 2>&1 || true
  command -v "$1" >/dev/null
}
mkdir -p "$OUT"
rm -rf "$WORK" && mkdir -p "$WORK"
# The test keys, copied owner-only (sign warns about a key file others can read).
KEYS=$WORK/keys
mkdir -p "$KEYS" && install -m 0600 keys-example/*.key "$KEYS/"
install_pkg minisign minisign || { echo "minisign is required and could not be installed (see $OUT/apt-minisign.log)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || install_pkg /usr/bin/time time || { echo "/usr/bin/time is required (package 'time')" >&2; exit 1; }
HAVE_HYPERFINE=0
if [[ ${BENCH_NO_HYPERFINE:-0} != 1 ]] && install_pkg hyperfine hyperfine; then HAVE_HYPERFINE=1; fi
[[ -f dist/countersign.cjs ]] || { echo "dist/ is missing: run via 'npm run bench' (or 'npm run build' first)" >&2; exit 1; }

note "node $(node --version), $(minisign -v 2>&1 | head -1), $( ((HAVE_HYPERFINE)) && hyperfine --version || echo 'no hyperfine: plain loop timing'), $(nproc) cores"
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
# SHA extensions (sha_ni on x86, sha2 on arm64) decide node:crypto's SHA-256 speed: figures from machines that differ here do not compare.
if grep -qwE 'sha_ni|sha2' /proc/cpuinfo; then SHA_EXT=true; else SHA_EXT=false; fi
[[ -n $HAD_EXTRA_CA ]] && note "NODE_EXTRA_CA_CERTS was set: unset for every section (it adds the same CA parsing to each node start)"
note "$CPU_MODEL, SHA extensions: $( [[ $SHA_EXT == true ]] && echo yes || echo no)"
cat >"$OUT/meta.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "node": "$(node --version)",
  "minisign": "$(minisign -v 2>&1 | head -1)",
  "timer": "$( ((HAVE_HYPERFINE)) && hyperfine --version || echo 'bash loop ($EPOCHREALTIME)')",
  "cpu": "$CPU_MODEL",
  "shaExtensions": $SHA_EXT,
  "cores": $(nproc),
  "runs": $RUNS,
  "warmup": $WARMUP,
  "git": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- lib cli 2>/dev/null || echo ' (lib/cli modified)')"
}
EOF

# bench JSON SHELL -- NAME PREPARE COMMAND [NAME PREPARE COMMAND ...]
# Times each COMMAND (after WARMUP untimed runs), running PREPARE (may be empty) before every run.
# SHELL is "none" (exec directly) or "bash". Writes hyperfine-format JSON either way.
bench() {
  local json=$1 shellmode=$2
  shift 3
  local names=() preps=() cmds=()
  while (($#)); do names+=("$1"); preps+=("$2"); cmds+=("$3"); shift 3; done
  if ((HAVE_HYPERFINE)); then
    local args=(--warmup "$WARMUP" --runs "$RUNS" --export-json "$json" --style basic)
    [[ $shellmode == none ]] && args+=(-N)
    local any_prep=0 i
    for i in "${!names[@]}"; do
      args+=(-n "${names[$i]}")
      [[ -n ${preps[$i]} ]] && any_prep=1
    done
    if ((any_prep)); then for i in "${!preps[@]}"; do args+=(--prepare "${preps[$i]:-true}"); done; fi
    hyperfine "${args[@]}" "${cmds[@]}"
  else
    local i r t0 t1 times results=()
    for i in "${!names[@]}"; do
      times=()
      for ((r = 0; r < WARMUP + RUNS; r++)); do
        [[ -n ${preps[$i]} ]] && bash -c "${preps[$i]}" >/dev/null 2>&1
        t0=$EPOCHREALTIME
        bash -c "${cmds[$i]}" >/dev/null 2>&1
        t1=$EPOCHREALTIME
        ((r >= WARMUP)) && times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
      done
      results+=("$(node -e '
        const [name, command, ...t] = process.argv.slice(1); const x = t.map(Number); const n = x.length;
        const mean = x.reduce((a, b) => a + b, 0) / n; const s = [...x].sort((a, b) => a - b);
        const stddev = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
        console.log(JSON.stringify({ command: name, cmd: command, mean, stddev, median: n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2, min: s[0], max: s[n - 1], times: x }));
      ' "${names[$i]}" "${cmds[$i]}" "${times[@]}")")
      printf '   %-40s mean %s s\n' "${names[$i]}" "$(node -e 'console.log(JSON.parse(process.argv[1]).mean.toFixed(4))' "${results[-1]}")"
    done
    (IFS=,; printf '{"results":[%s]}\n' "${results[*]}") >"$json"
  fi
}

# make_bundle SRC_DIR REL_DIR BUNDLE [--archive]: build + sign (alice, bob, carol) + assemble 3-of-5.
make_bundle() {
  local src=$1 rel=$2 bundle=$3 check=${4:-}
  "${CLI[@]}" build --source "$src" --product bench --version 1.0.0 --out "$rel" >/dev/null
  local manifest=$rel/bench-1.0.0.manifest.json archive=$rel/bench-1.0.0.tar sigs=() who
  for who in alice bob carol; do
    local extra=()
    [[ $check == --archive ]] && extra=(--archive "$archive")
    "${CLI[@]}" sign "$manifest" "${extra[@]}" --key "$KEYS/$who.key" --yes --out "$rel/$who.sig" >/dev/null
    sigs+=("$rel/$who.sig")
  done
  "${CLI[@]}" assemble "$manifest" --policy "$POLICY" --out "$bundle" "${sigs[@]}" >/dev/null
  "${CLI[@]}" verify "$bundle" --policy "$POLICY" >/dev/null || { echo "the bench bundle $bundle does not verify" >&2; exit 1; }
}

# ---------------------------------------------------------------------------------------------
say "1. Verify: 64 MiB release, whole process: countersign verify vs one Node SHA-256 pass vs minisign -Vm vs sha256sum"
node bench/gen-tree.mjs one "$WORK/v64/src/payload.bin" $((64 << 20)) 64 >/dev/null
make_bundle "$WORK/v64/src" "$WORK/v64/rel" "$WORK/v64.bundle" --archive
ARCHIVE64=$WORK/v64/rel/bench-1.0.0.tar
minisign -G -W -f -p "$OUT/minisign.pub" -s "$OUT/minisign.key" >/dev/null
minisign -Sm "$ARCHIVE64" -s "$OUT/minisign.key" >/dev/null # writes $ARCHIVE64.minisig (BLAKE2b-prehashed Ed25519)
minisign -Vm "$ARCHIVE64" -p "$OUT/minisign.pub" >/dev/null
note "bundle $(stat -c %s "$WORK/v64.bundle") bytes; archive $(stat -c %s "$ARCHIVE64") bytes"
bench "$OUT/verify.hyperfine.json" none -- \
  "countersign verify" "" "node dist/countersign.cjs verify $WORK/v64.bundle --policy $POLICY" \
  "node SHA-256 pass (1 MiB buffer)" "" "node bench/sha256-pass.mjs $ARCHIVE64" \
  "minisign -Vm" "" "minisign -Vm $ARCHIVE64 -p $OUT/minisign.pub" \
  "sha256sum" "" "sha256sum $ARCHIVE64" \
  "openssl dgst -sha256 (context)" "" "openssl dgst -sha256 $ARCHIVE64" \
  "node -e 0 (context: bare node start)" "" "node -e 0"

# ---------------------------------------------------------------------------------------------
say "2. Build: 20,000 files / 60 MB: countersign build vs tar cf + sha256sum"
node bench/gen-tree.mjs many "$WORK/tree" 20000 60000000 1 | sed 's/^/   tree: /'
note "archive sizes: countersign $("${CLI[@]}" build --source "$WORK/tree" --product bench --version 1.0.0 --out "$WORK/bout" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).archiveSize))') bytes, GNU tar $(tar cf "$WORK/x.tar" -C "$WORK/tree" . && stat -c %s "$WORK/x.tar") bytes"
bench "$OUT/build.hyperfine.json" bash -- \
  "countersign build" "rm -rf $WORK/bout" "node dist/countersign.cjs build --source $WORK/tree --product bench --version 1.0.0 --out $WORK/bout" \
  "tar cf + sha256sum" "rm -f $WORK/x.tar" "tar cf $WORK/x.tar -C $WORK/tree . && sha256sum $WORK/x.tar" \
  "tar cf + fsync + sha256sum (context)" "rm -f $WORK/x.tar" "tar cf $WORK/x.tar -C $WORK/tree . && sync $WORK/x.tar && sha256sum $WORK/x.tar"
rm -rf "$WORK/x.tar"

# ---------------------------------------------------------------------------------------------
say "3. Where verify spends its time (64 MiB bundle)"
node bench/phases.mjs "$WORK/v64.bundle" "$POLICY" "$OUT/verify.phases.json"
rm -rf "$OUT/prof" && mkdir -p "$OUT/prof"
node --cpu-prof --cpu-prof-dir="$OUT/prof" --cpu-prof-name=verify.cpuprofile dist/countersign.cjs verify "$WORK/v64.bundle" --policy "$POLICY" >/dev/null
node bench/cpuprof-summary.mjs "$OUT/prof/verify.cpuprofile" "$OUT/verify.cpuprof.json" 12
rm -rf "$WORK/bout"
node --cpu-prof --cpu-prof-dir="$OUT/prof" --cpu-prof-name=build.cpuprofile dist/countersign.cjs build --source "$WORK/tree" --product bench --version 1.0.0 --out "$WORK/bout" >/dev/null
node bench/cpuprof-summary.mjs "$OUT/prof/build.cpuprofile" "$OUT/build.cpuprof.json" 12
rm -rf "$WORK/tree" "$WORK/bout"

# ---------------------------------------------------------------------------------------------
say "4. Peak memory (max RSS) of verify: 64 MiB vs 1 GiB bundle"
# rss BUNDLE LABEL [NODE-FLAG]: three runs, one JSON object per run on stdout.
rss() {
  local i
  for i in 1 2 3; do
    /usr/bin/time -f '%M %e' -o "$WORK/time.txt" node ${3:-} dist/countersign.cjs verify "$1" --policy "$POLICY" >/dev/null
    read -r kb secs <"$WORK/time.txt"
    note "$2${3:+ ($3)} run $i: max RSS ${kb} KiB, ${secs} s" >&2
    printf '{"maxRssKiB":%s,"seconds":%s}\n' "$kb" "$secs"
  done
}
RSS64=$(rss "$WORK/v64.bundle" "64 MiB" | paste -sd, -)
# Context: V8's optimizing compiler (TurboFan) compiles the read loop once a long verify makes it hot, a step of a
# few MiB of compiler and code that a short run never takes; with it off, what is left is what the bytes cost.
RSS64NOOPT=$(rss "$WORK/v64.bundle" "64 MiB" --no-opt | paste -sd, -)
# The 1 GiB case writes and deletes 3 GiB, so it runs after the fsync-bound sections 5 and 6: in the one run with it
# here, apply took 2.55x rsync with twice its usual system time (1.18-1.48x in runs without it before).
note "the 1 GiB case runs after section 7 (4, continued)"

# ---------------------------------------------------------------------------------------------
say "5. Apply: a 500-file update to a 20,000-file site: countersign apply vs rsync of the changed files"
install_pkg rsync rsync || { echo "rsync is required (package 'rsync')" >&2; exit 1; }
node bench/gen-tree.mjs many "$WORK/site0" 20000 60000000 2 | sed 's/^/   site: /'
node bench/gen-update.mjs "$WORK/site0" "$WORK/site1" 500 "$WORK/changed.txt" | sed 's/^/   update: /'
"${CLI[@]}" build --source "$WORK/site1" --base "$WORK/site0" --product bench --version 1.0.1 --applies-to 1.0.0 --policy "$POLICY" --out "$WORK/aout" >/dev/null
ASIGS=()
for who in alice bob carol; do
  "${CLI[@]}" sign "$WORK/aout/bench-1.0.1.manifest.json" --key "$KEYS/$who.key" --yes --out "$WORK/apply.$who.sig" >/dev/null
  ASIGS+=("$WORK/apply.$who.sig")
done
"${CLI[@]}" assemble "$WORK/aout/bench-1.0.1.manifest.json" --policy "$POLICY" --out "$WORK/apply.bundle" "${ASIGS[@]}" >/dev/null
# Each run's tree is moved aside, not deleted: deleting 20,000 files just before a run slowed the next plain rsync by
# about 60% (180 +- 59 against 110 +- 10 ms on this mount, which discards), and apply not at all; they are deleted after the section.
mkdir -p "$WORK/set-aside"
FRESH="mv $WORK/site $WORK/set-aside/\$(date +%s%N) 2>/dev/null; rm -rf $WORK/.countersign-site && cp -a $WORK/site0 $WORK/site && sync"
bench "$OUT/apply.hyperfine.json" bash -- \
  "countersign apply" "$FRESH" "node dist/countersign.cjs apply $WORK/apply.bundle --site $WORK/site --policy $POLICY --product bench --component core --installed 1.0.0" \
  "rsync changed files" "$FRESH" "rsync -a --files-from=$WORK/changed.txt $WORK/site1/ $WORK/site/ && (cd $WORK/site && xargs -r rm -f) < $WORK/changed.txt.deleted" \
  "rsync --fsync changed files" "$FRESH" "rsync -a --fsync --files-from=$WORK/changed.txt $WORK/site1/ $WORK/site/ && (cd $WORK/site && xargs -r rm -f) < $WORK/changed.txt.deleted"
note "plain rsync fsyncs nothing (the ratio's reference); rsync --fsync fsyncs each file it writes, one after another, and no directory"
# The update must have produced the new tree exactly.
eval "$FRESH"
node dist/countersign.cjs apply "$WORK/apply.bundle" --site "$WORK/site" --policy "$POLICY" --product bench --component core --installed 1.0.0 >/dev/null
diff -r "$WORK/site" "$WORK/site1" >/dev/null && note "apply result equals the new tree" || note "WARNING: apply result differs from the new tree"
rm -rf "$WORK/set-aside"

# ---------------------------------------------------------------------------------------------
say "6. Push: one Highly Critical release to ${BENCH_PUSH_SITES:-10000} simulated sites on loopback: countersign (Hawk + verify) vs plain HTTP"
if [[ ${BENCH_SKIP_PUSH:-0} == 1 ]]; then
  note "skipped: BENCH_SKIP_PUSH=1"
  printf '{"skipped":"skipped: BENCH_SKIP_PUSH=1"}\n' >"$OUT/push.json"
elif ! node bench/push-sim.mjs "$WORK/push" "$OUT/push.json"; then
  note "WARNING: section 6 failed (see above)"
  printf '{"skipped":"failed: see the bench log"}\n' >"$OUT/push.json"
fi

# ---------------------------------------------------------------------------------------------
say "7. Start-up: countersign --version, verify of the demo release (6 files, 3-of-5), inspect of a key vs node -e 0"
make_bundle demo/sample/drupal-10.2.4 "$WORK/demo/rel" "$WORK/demo.bundle"
note "demo bundle $(stat -c %s "$WORK/demo.bundle") bytes"
# The same CLI without its code cache: what a site pays whose Node is not the one `npm run build` ran.
# (group-writable, so the loader never writes a cache there: scripts/cli-loader.cjs)
mkdir -p "$WORK/uncached" && cp dist/countersign.cjs dist/cli-loader.cjs dist/countersign-bundle.cjs dist/countersign-verify.cjs dist/help-rendering.cjs "$WORK/uncached/" && chmod 0775 "$WORK/uncached"
bench "$OUT/startup.hyperfine.json" none -- \
  "node -e 0" "" "node -e 0" \
  "countersign --version" "" "node dist/countersign.cjs --version" \
  "countersign verify (demo bundle)" "" "node dist/countersign.cjs verify $WORK/demo.bundle --policy $POLICY" \
  "countersign inspect alice.pub" "" "node dist/countersign.cjs inspect keys-example/alice.pub" \
  "countersign verify, no code cache (context)" "" "node $WORK/uncached/countersign.cjs verify $WORK/demo.bundle --policy $POLICY"
# Where the small verify's time goes, phase by phase, in fresh processes.
node bench/startup-phases.cjs "$WORK/demo.bundle" "$POLICY" 21 "$OUT/startup.phases.json"

# ---------------------------------------------------------------------------------------------
say "4 (continued). Peak memory (max RSS) of verify: the 1 GiB bundle"
AVAIL=$(df -P -B1 "$ROOT" | awk 'NR == 2 { print $4 }')
note "free space under $ROOT: $((AVAIL / 1024 ** 3)) GiB"
RSS1G=""
RSS1GNOOPT=""
SKIP1G=""
if [[ ${BENCH_SKIP_1G:-0} == 1 ]]; then
  SKIP1G="skipped: BENCH_SKIP_1G=1"
elif ((AVAIL < 8 * 1024 ** 3)); then
  SKIP1G="skipped: only $((AVAIL / 1024 ** 2)) MiB free under $ROOT, the 1 GiB case needs 8 GiB"
else
  T0=$EPOCHREALTIME
  node bench/gen-tree.mjs one "$WORK/v1g/src/payload.bin" $((1 << 30)) 1024 >/dev/null
  # Signers skip --archive here (it would only re-hash 1 GiB three more times); assemble still checks it.
  make_bundle "$WORK/v1g/src" "$WORK/v1g/rel" "$WORK/v1g.bundle"
  rm -rf "$WORK/v1g/src" "$WORK/v1g/rel"
  note "1 GiB bundle ready ($(stat -c %s "$WORK/v1g.bundle") bytes) in $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
  RSS1G=$(rss "$WORK/v1g.bundle" "1 GiB" | paste -sd, -)
  RSS1GNOOPT=$(rss "$WORK/v1g.bundle" "1 GiB" --no-opt | paste -sd, -)
  rm -f "$WORK/v1g.bundle"
fi
printf '{"runs64":[%s],"runs1g":[%s],"runs64NoOpt":[%s],"runs1gNoOpt":[%s],"skipped1g":%s,"bytes64":%s,"bytes1g":%s}\n' \
  "$RSS64" "$RSS1G" "$RSS64NOOPT" "$RSS1GNOOPT" "$( [[ -n $SKIP1G ]] && printf '"%s"' "$SKIP1G" || echo null)" $((64 << 20)) $((1 << 30)) >"$OUT/memory.json"
[[ -n $SKIP1G ]] && note "1 GiB case $SKIP1G"

# ---------------------------------------------------------------------------------------------
say "8. Transparency log: appends/s into SQLite and PostgreSQL, offline proof size and verify time, monitor replay of ${BENCH_LOG_ENTRIES:-1000000} entries over python3 -m http.server"
if [[ ${BENCH_SKIP_LOG:-0} == 1 ]]; then
  note "skipped: BENCH_SKIP_LOG=1"
  printf '{"skipped":"skipped: BENCH_SKIP_LOG=1"}\n' >"$OUT/log.json"
elif ! node bench/log.mjs "$WORK/log" "$OUT/log.json"; then
  note "WARNING: section 8 failed (see above)"
  printf '{"skipped":"failed: see the bench log"}\n' >"$OUT/log.json"
fi

# ---------------------------------------------------------------------------------------------
say "9. State map: build ${BENCH_MAP_RECORDS:-1000000} records, update batches + root, proof bytes and verify cost (in SHA-256s of 64 bytes)"
if [[ ${BENCH_SKIP_MAP:-0} == 1 ]]; then
  note "skipped: BENCH_SKIP_MAP=1"
  printf '{"skipped":"skipped: BENCH_SKIP_MAP=1"}\n' >"$OUT/map.json"
elif ! node --expose-gc bench/map.mjs "$OUT/map.json"; then
  note "WARNING: section 9 failed (see above)"
  printf '{"skipped":"failed: see the bench log"}\n' >"$OUT/map.json"
fi

# ---------------------------------------------------------------------------------------------
say "10. State proofs: a provider bundle's proof + state sections at ${BENCH_STATE_SIZES:-1000,100000,1000000} entries; verify in-process, and whole-process vs node -e 0"
if [[ ${BENCH_SKIP_STATE:-0} == 1 ]]; then
  note "skipped: BENCH_SKIP_STATE=1"
  printf '{"skipped":"skipped: BENCH_SKIP_STATE=1"}\n' >"$OUT/state-proof.json"
elif ! node bench/state-proof.mjs "$OUT/state-proof.json" "$WORK/state"; then
  note "WARNING: section 10 failed (see above)"
  printf '{"skipped":"failed: see the bench log"}\n' >"$OUT/state-proof.json"
else
  S=$WORK/state
  AT=--now=2026-11-23T12:00:00Z
  note "the largest log's bundle: $(stat -c %s "$S/provider.bundle") bytes with its proof and state sections, $(stat -c %s "$S/plain.bundle") without"
  bench "$OUT/state-verify.hyperfine.json" none -- \
    "node -e 0" "" "node -e 0" \
    "verify --policy (today: P's policy pinned, no log)" "" "node dist/countersign.cjs verify $S/plain.bundle --policy $S/provider.signed.json $AT" \
    "verify --root --log-policy --provider (proof + state)" "" \
    "node dist/countersign.cjs verify $S/provider.bundle --root $S/root.signed.json --log-policy $S/log.policy --provider wordpress.org/plugins/wordfence $AT"
fi

# ---------------------------------------------------------------------------------------------
say "Results"
node bench/report.mjs "$OUT"
