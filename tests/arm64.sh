#!/usr/bin/env bash
# arm64.sh - attntag's ARM64 build under qemu-aarch64 (user-mode emulation),
# `make check-arm64`, which builds what it needs first:
#
# 1. the probe (arm64_probe) on each qemu CPU model: one without the
#    dot-product extension, one with it; AT_HWCAP must say so, or the runs
#    below would not test what they claim. It also lists the kernel paths
#    (ARM64_PATHS) the processor runs and checks that ATTNTAG_KERNELS selects
#    each of them.
# 2. the unit tests (Check), with the kernels forced (ATTNTAG_KERNELS) to
#    each path, on the first CPU model that runs it (a path is the same code
#    on any processor that runs it), and each CPU model's default path on it:
#    here plain and neon on the first, neondot on the second. The
#    matrix-product tests also loop over every path the CPU model runs, for
#    every tile remainder. Two runs at a time.
# 3. tagging, compared byte for byte with this machine's build (X86): the
#    first ARM64_SENTENCES (300) sentences of UD English EWT dev and the
#    samples in data/ (raw text through the tokenizer, CoNLL-U, lines,
#    vertical), on the same runs as the unit tests, with the bundled 8-bit
#    model and, on the plain and default paths, its 32-bit float conversion:
#    ARM64's plain path against X86's plain path, and every other ARM64 path
#    and each CPU model's default (chosen, not forced) against X86's default.
#    EWT is data/ud-en-ewt, or $EWT_DIR, or what data/fetch finds and links
#    (as `make data` does: $UD_DIR, ../shared/data; never a download);
#    without it, the samples and tests/fixtures' CoNLL-U files are what is
#    compared, and the script says so.
#
# Tagging under emulation runs with --threads 1, except the second CPU
# model's default path with the 8-bit model, on two threads (the output is
# the same bytes for any number of threads).
#
# The programs run with QEMU_LD_PREFIX=/, that is with the ARM64 loader and C
# library of Debian's multiarch libc6:arm64 (/lib/aarch64-linux-gnu), where
# libcjson, libutf8proc and libcheck are too. QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
# would pair the cross toolchain's ld-linux-aarch64.so.1 (libc6-arm64-cross,
# glibc 2.36-8) with the multiarch libc.so.6 (glibc 2.36-9+deb12uN), whose
# private loader data differ: every program that starts a thread or forks
# then loops forever in glibc's thread-stack lists (pthread_create, fork,
# so Check's forked tests, and a condition-variable wait after them).
#
# usage: tests/arm64.sh ARM64_BUILD_DIR X86_ATTNTAG     (from the repository root)
# Environment: ARM64_CPUS ("cortex-a72 neoverse-n1": a CPU model without the
# dot-product extension, then one with it; `qemu-aarch64 -cpu help` lists
# them), ARM64_PATHS ("plain neon neondot": the kernel paths to look for),
# ARM64_SENTENCES (300), EWT_DIR, QEMU (qemu-aarch64), JOBS (2).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: tests/arm64.sh ARM64_BUILD_DIR X86_ATTNTAG" >&2; exit 2; }
dir=$1 x86=$2
QEMU=${QEMU:-qemu-aarch64}
read -r -a CPUS <<< "${ARM64_CPUS:-cortex-a72 neoverse-n1}"
read -r -a PATHS <<< "${ARM64_PATHS:-plain neon neondot}"
N=${ARM64_SENTENCES:-300}
JOBS=${JOBS:-2}
MODEL=models/en-ewt.safetensors
export QEMU_LD_PREFIX=/
# Check's per-test time limit (4 s), for an emulated processor
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-15}
unset ATTNTAG_KERNELS

say() { echo "arm64: $*"; }
die() { echo "arm64: $*" >&2; exit 2; }
command -v "$QEMU" > /dev/null || die "$QEMU not found (tools/install-deps installs qemu-user)"
for f in "$dir/attntag" "$dir/run_tests" "$dir/arm64_probe" "$x86" "$MODEL"; do
    [ -e "$f" ] || die "$f not found (make check-arm64 builds it)"
done
[ ${#CPUS[@]} -eq 2 ] || die "ARM64_CPUS: two CPU models, without and with the dot-product extension"
start=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { echo "arm64: FAIL $*"; failed=$((failed + 1)); }

# Jobs, JOBS at a time: spawn NAME CMD... runs CMD with its output in
# $tmp/NAME.out and its status in $tmp/NAME.rc; drain waits for them all.
running=0
spawn() {
    local name=$1
    shift
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    { "$@" > "$tmp/$name.out" 2>&1; echo $? > "$tmp/$name.rc"; } &
    running=$((running + 1))
}
drain() {
    wait || true
    running=0
}
status() { cat "$tmp/$1.rc" 2> /dev/null || echo 127; }
arm() { # CPU KERNELS|default PROGRAM ARGS...
    local cpu=$1 k=$2
    shift 2
    if [ "$k" = default ]; then
        "$QEMU" -cpu "$cpu" "$@"
    else
        ATTNTAG_KERNELS=$k "$QEMU" -cpu "$cpu" "$@"
    fi
}

# 1. the CPU models and the paths they run
declare -A avail defaults
for i in 0 1; do
    cpu=${CPUS[$i]}
    out=$("$QEMU" -cpu "$cpu" "$dir/arm64_probe" "${PATHS[@]}") || die "$cpu: the probe failed"
    hw=$(sed -n 's/^hwcap: //p' <<< "$out")
    avail[$cpu]=$(sed -n 's/^available: *//p' <<< "$out")
    defaults[$cpu]=$(sed -n 's/^kernels: //p' <<< "$out")
    say "-cpu $cpu: AT_HWCAP: $hw; kernel paths: ${avail[$cpu]} (default ${defaults[$cpu]})"
    dp=no
    case " $hw " in *" asimddp "*) dp=yes ;; esac
    if [ "$i" -eq 0 ] && [ $dp = yes ]; then
        fail "-cpu $cpu has the dot-product extension (asimddp); ARM64_CPUS names one without first"
    elif [ "$i" -eq 1 ] && [ $dp = no ]; then
        fail "-cpu $cpu lacks the dot-product extension (asimddp); ARM64_CPUS names one with it second"
    else
        ok
    fi
    for k in ${avail[$cpu]}; do
        got=$(arm "$cpu" "$k" "$dir/arm64_probe" | sed -n 's/^kernels: //p')
        if [ "$got" = "$k" ]; then ok; else fail "-cpu $cpu: ATTNTAG_KERNELS=$k runs $got"; fi
    done
done
for p in "${PATHS[@]}"; do
    case " ${avail[${CPUS[0]}]} ${avail[${CPUS[1]}]} " in
    *" $p "*) ;;
    *) say "kernel path $p: not in this build (or on neither CPU model): not tested" ;;
    esac
done

# What runs where: each path on the first CPU model that runs it (a path is
# the same code on any: which instructions it uses is fixed when it is
# chosen), and each CPU model's default path on that CPU model.
plan=()
for p in "${PATHS[@]}"; do
    for cpu in "${CPUS[@]}"; do
        case " ${avail[$cpu]} " in *" $p "*) plan+=("$cpu:$p"); break ;; esac
    done
done
for cpu in "${CPUS[@]}"; do
    case " ${plan[*]} " in *" $cpu:${defaults[$cpu]} "*) ;; *) plan+=("$cpu:${defaults[$cpu]}") ;; esac
done

# 3's inputs, and X86's outputs to compare with
ewt=""
find_ewt() {
    local d
    for d in ${EWT_DIR:+"$EWT_DIR"} data/ud-en-ewt; do
        if [ -r "$d/en_ewt-ud-dev.conllu" ]; then
            ewt=$d/en_ewt-ud-dev.conllu
            return 0
        fi
    done
    return 1
}
if ! find_ewt; then
    # what `make data` does: look in $UD_DIR and ../shared/data, link it as data/ud-en-ewt
    if env -u UD_DOWNLOAD ATTNTAG_BIN="$x86" data/fetch > "$tmp/fetch.out" 2>&1; then
        grep -m1 'ud-en-ewt: linked' "$tmp/fetch.out" | sed 's/^/arm64: /' || true
    else
        grep 'ud-en-ewt' "$tmp/fetch.out" | sed 's/^/arm64: /' || true
    fi
    find_ewt || true
fi
# the inputs, as NAME:INPUT-FORMAT:OUTPUT-FORMAT, the file in $tmp/in-NAME
inputs=()
add() { # NAME FILE INPUT-FORMAT OUTPUT-FORMAT
    cp "$2" "$tmp/in-$1"
    inputs+=("$1:$3:$4")
}
if [ -n "$ewt" ]; then
    awk -v n="$N" '{ print } /^$/ { if (++k == n) exit }' "$ewt" > "$tmp/ewt.conllu"
    sents=$(grep -c '^# text = ' "$tmp/ewt.conllu" || true)
    words=$(grep -c '^[0-9][0-9]*	' "$tmp/ewt.conllu" || true)
    say "tagging compared on: the first $sents sentences ($words words) of $ewt, and data/'s samples"
    add ewt "$tmp/ewt.conllu" conllu conllu
else
    say "tagging compared on: data/'s samples and tests/fixtures' CoNLL-U files ONLY:" \
        "UD English EWT was not found (data/ud-en-ewt, EWT_DIR, or where data/fetch looks:" \
        "\$UD_DIR, ../shared/data)"
    add fixture-sample tests/fixtures/sample.conllu conllu conllu
    add fixture-tiny-dev tests/fixtures/tiny_dev.conllu conllu conllu
fi
add story data/story.txt raw tsv
add sentences data/sentences.txt lines tsv
add sample-conllu data/sample.conllu conllu conllu
add sample-vert data/sample.vert vertical tsv
"$x86" convert --no-int8 "$MODEL" "$tmp/f32.safetensors" > /dev/null
models=("int8:$MODEL" "f32:$tmp/f32.safetensors")
tagargs() { # MODEL INPUT-SPEC
    local spec=$2 name fmt_in fmt_out
    IFS=: read -r name fmt_in fmt_out <<< "$spec"
    echo "-m $1 -i $fmt_in -f $fmt_out -s all $tmp/in-$name"
}
# the X86 references: its plain path, and its default
for m in "${models[@]}"; do
    for spec in "${inputs[@]}"; do
        name=${m%%:*}-${spec%%:*}
        # shellcheck disable=SC2046
        ATTNTAG_KERNELS=plain "$x86" --threads 1 $(tagargs "${m#*:}" "$spec") > "$tmp/x86-plain-$name"
        # shellcheck disable=SC2046
        "$x86" --threads 1 $(tagargs "${m#*:}" "$spec") > "$tmp/x86-default-$name"
    done
done
x86default=$("$x86" info "$MODEL" | sed -n 's/^kernels: \([a-z0-9]*\).*/\1/p')

# 2 and 3 together: the unit tests first (the longest), then the tagging
t=$(date +%s)
# 2. the unit tests, with the kernels forced to each path of the plan
units=("${plan[@]}")
for u in "${units[@]}"; do
    spawn "unit-${u%%:*}-${u#*:}" arm "${u%%:*}" "${u#*:}" "$dir/run_tests"
done

# ARM64: the plan's runs, a CPU model's default path as chosen (no
# ATTNTAG_KERNELS), the others forced; the 8-bit model on every run, the float
# one on plain and the defaults; every input in one job. The second CPU
# model's default path tags with the 8-bit model on two threads.
jobs=()
tag_all() { # CPU KERNELS|default MODEL-SPEC THREADS OUT-PREFIX
    local cpu=$1 k=$2 m=$3 th=$4 out=$5 spec
    for spec in "${inputs[@]}"; do
        # shellcheck disable=SC2046
        arm "$cpu" "$k" "$dir/attntag" --threads "$th" $(tagargs "${m#*:}" "$spec") \
            > "$out-${m%%:*}-${spec%%:*}" || return 1
    done
}
for run in "${plan[@]}"; do
    cpu=${run%%:*} p=${run#*:}
    k=$p
    [ "$p" != "${defaults[$cpu]}" ] || k=default
    for m in "${models[@]}"; do
        [ "${m%%:*}" = int8 ] || [ "$p" = plain ] || [ "$k" = default ] || continue
        th=1
        if [ "$cpu" = "${CPUS[1]}" ] && [ "$k" = default ] && [ "${m%%:*}" = int8 ]; then th=2; fi
        spawn "tag-$cpu-$p-${m%%:*}" tag_all "$cpu" "$k" "$m" "$th" "$tmp/arm-$cpu-$p"
        jobs+=("$cpu:$p:${m%%:*}:$th:$k")
    done
done
drain
for u in "${units[@]}"; do
    cpu=${u%%:*} k=${u#*:}
    name=unit-$cpu-$k
    summary=$(grep -E '^[0-9]+%: Checks:' "$tmp/$name.out" || echo "no summary")
    say "unit tests, -cpu $cpu, kernels $k: $summary"
    if [ "$(status "$name")" -eq 0 ]; then
        ok
    else
        grep -E ':[EF]:' "$tmp/$name.out" | sed 's/^/    /' || tail -n 20 "$tmp/$name.out"
        fail "unit tests, -cpu $cpu, kernels $k"
    fi
done

for j in "${jobs[@]}"; do
    IFS=: read -r cpu p m th k <<< "$j"
    job=tag-$cpu-$p-$m
    if [ "$(status "$job")" -ne 0 ]; then
        fail "tagging, -cpu $cpu, kernels $p, $m model: $(tail -n 3 "$tmp/$job.out")"
        continue
    fi
    # plain against plain; any other path, and the default, against X86's default
    refs=()
    if [ "$p" = plain ]; then refs+=(plain); fi
    if [ "$p" != plain ] || [ "$k" = default ]; then refs+=(default); fi
    for ref in "${refs[@]}"; do
        refname=$x86default
        [ "$ref" != plain ] || refname=plain
        what="-cpu $cpu, kernels $p$([ "$k" != default ] || echo " (its default)"), --threads $th,"
        what="$what $m model, against x86-64 $ref ($refname)"
        bad=""
        for spec in "${inputs[@]}"; do
            cmp -s "$tmp/x86-$ref-$m-${spec%%:*}" "$tmp/arm-$cpu-$p-$m-${spec%%:*}" ||
                bad="$bad ${spec%%:*}"
        done
        if [ -z "$bad" ]; then
            say "tags equal: $what"
            ok
        else
            fail "tags differ: $what:$bad"
            for b in $bad; do
                diff "$tmp/x86-$ref-$m-$b" "$tmp/arm-$cpu-$p-$m-$b" | head -n 6 | sed 's/^/    /' || true
            done
        fi
    done
done
say "unit tests and tagging: $(($(date +%s) - t)) s; all: $(($(date +%s) - start)) s"
echo "arm64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
