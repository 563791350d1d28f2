#!/usr/bin/env bash
# The ResNet-20 training runs of issues 4 and 5, one after the other (never two at once: libtorch's 2-thread mode
# collapses under contention). About 82 s per ResNet-20 epoch (training plus evaluation) on the 2-core machine with nothing else running.
# Each run checkpoints after every epoch into its directory; if the session ends, rerun this script: a directory
# with a checkpoint is resumed (`--resume`), a finished one (last logged epoch = configured epochs) is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
source results/train/rules.sh  # after_acc, reaches90, model_acc
# Weights and checkpoints live in runs/train/<run>/ (ignored by git: never committed); the text of each run
# (config.json, log.csv, log.json, the .out logs) is mirrored into results/train/<run>/ after every step, and that
# committed copy is what says a run has finished, so a fresh clone skips finished runs. A step that starts from a
# finished run's weights (--init, recalibration) needs them in runs/train: only the deliverables are in models/.
text_of() { echo "results/train/$(basename "$1")"; }
keep_text() {  # run directory under runs/train
    local dir=$1 out f
    out=$(text_of "$dir")
    mkdir -p "$out"
    for f in config.json log.csv log.json recalibrate.out swa.out; do
        [ -f "$dir/$f" ] && cp "$dir/$f" "$out/$f"
    done
    [ -f "$dir.out" ] && cp "$dir.out" "$out.out"
    return 0
}
# The last epoch logged and the epochs configured, of the run $1 (read from its committed text).
epochs_done() { grep -o '"epoch": *[0-9]*' "$(text_of "$1")/log.json" 2>/dev/null | tail -1 | grep -o '[0-9]*$'; }
epochs_planned() { grep -o '"epochs": *[0-9]*' "$(text_of "$1")/config.json" 2>/dev/null | grep -o '[0-9]*$'; }
finished() { [ -n "$(epochs_done "$1")" ] && [ "$(epochs_done "$1")" = "$(epochs_planned "$1")" ]; }
run() {
    local dir=$1; shift
    if finished "$dir"; then
        return 0
    elif [ -f "$dir/checkpoint.safetensors" ]; then
        target/release/pann train --resume "$dir" >> "$dir.out" 2>&1
    else
        mkdir -p "$(dirname "$dir")"
        target/release/pann train --out "$dir" "$@" > "$dir.out" 2>&1
    fi
    keep_text "$dir"
}
# (1) the common recipe: weight decay 5e-4, no mixup
run runs/train/r20-common --arch resnet20 --epochs 60 --batch 128 --lr 0.1 --momentum 0.9 --wd 5e-4 \
    --schedule onecycle --seed 0
# (2) the PANN-friendly recipe: minimal weight decay, mixup
run runs/train/r20-pann --arch resnet20 --epochs 60 --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-5 --mixup 0.5 \
    --schedule onecycle --seed 0
# (3) training that sees the approximation (issue 4/5), from the finished PANN-friendly model, 5 epochs each:
#     (a) through the α = 8 polynomial ReLU (gradients through the polynomial);
#     (b) with Gaussian noise of σ = 2·B·2^-8 on the ReLU outputs of negative inputs (exact ReLU otherwise).
if finished runs/train/r20-pann; then
    run runs/train/r20-pann-ft8 --arch resnet20 --init runs/train/r20-pann/model.safetensors --epochs 5 \
        --batch 128 --lr 0.01 --momentum 0.9 --wd 1e-5 --mixup 0.5 --schedule cosine --pann-alpha 8 --seed 0
    run runs/train/r20-pann-noise8 --arch resnet20 --init runs/train/r20-pann/model.safetensors --epochs 5 \
        --batch 128 --lr 0.01 --momentum 0.9 --wd 1e-5 --mixup 0.5 --schedule cosine --neg-noise 2 \
        --noise-alpha 8 --seed 0
fi
# (4) issue 5's weight-decay sweep: wd ∈ {0, 1e-4, 5e-4, 5e-3}, mixup off, one shared 15-epoch one-cycle schedule
#     (shorter than (1)/(2) so that the sweep fits the CPU budget; the four are compared with each other only).
for wd in 0 1e-4 5e-4 5e-3; do
    run "runs/train/wd-$wd" --arch resnet20 --epochs 15 --batch 128 --lr 0.1 --momentum 0.9 --wd "$wd" \
        --schedule onecycle --seed 0
done
#     And mixup alone (0.5, wd 5e-4, the same 15 epochs): with wd-5e-4 and wd-0 it separates the effect of mixup
#     from that of weight decay, which the 60-epoch pair (1)/(2) changes together.
run runs/train/mix-wd5e-4 --arch resnet20 --epochs 15 --batch 128 --lr 0.1 --momentum 0.9 --wd 5e-4 \
    --mixup 0.5 --schedule onecycle --seed 0
# (5) issue 4's committed pair needs >= 90% exact; the 60-epoch pair (1)/(2) reached 88.54% / 86.78% on the JPEG-noisy
#     training set, so both are retrained on a longer one-cycle schedule with cutout (8×8), the recipe difference
#     unchanged. About 2–2.5 h each: the first session to get here starts it, later sessions resume it.
run runs/train/r20-common-100 --arch resnet20 --epochs 100 --batch 128 --lr 0.1 --momentum 0.9 --wd 5e-4 \
    --cutout 8 --schedule onecycle --seed 0
run runs/train/r20-pann-100 --arch resnet20 --epochs 100 --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-5 \
    --mixup 0.5 --cutout 8 --schedule onecycle --seed 0
# (6) the approximation-aware fine-tunes of the headline table: one per α = 6..9 (the α at which the paper's claims
#     compare, results/headline.md), 1 epoch each (one epoch gave almost all of the gain, r20-pann-ft8/log.csv:
#     85.45% after 1 epoch, 85.39% after 5) through that α's polynomial ReLU at B = 50, from the 100-epoch
#     PANN-friendly model; the cosine schedule anneals lr 0.01 -> 0 within the epoch.
if finished runs/train/r20-pann-100; then
    for alpha in 6 7 8 9; do
        run runs/train/r20-pann-100-ft$alpha --arch resnet20 --init runs/train/r20-pann-100/model.safetensors \
            --epochs 1 --batch 128 --lr 0.01 --momentum 0.9 --wd 1e-5 --mixup 0.5 --cutout 8 --schedule cosine \
            --pann-alpha $alpha --seed 0
    done
fi
# (7) BatchNorm recalibration (`pann recalibrate-bn`, weights unchanged) of the finished pairs: the running statistics
#     re-estimated on all 50,000 training images without mixup, once with the crop/flip/cutout of training (the
#     default; model-bn.safetensors) and once on plain images (--no-crop-flip; only the log is kept). About 1 min each.
recalibrate() {  # run directory, cutout side of its training
    local dir=$1 cutout=$2
    finished "$dir" || return 0
    [ -f "$(text_of "$dir")/recalibrate.out" ] && return 0
    {
        target/release/pann recalibrate-bn --model "$dir/model.safetensors" --out "$dir/model-bn.safetensors" \
            --cutout "$cutout"
        target/release/pann recalibrate-bn --model "$dir/model.safetensors" --out "/tmp/$(basename "$dir")-plain.safetensors" \
            --no-crop-flip
    } > "$dir/recalibrate.out.tmp" 2>&1
    mv "$dir/recalibrate.out.tmp" "$dir/recalibrate.out"
    keep_text "$dir"
}
recalibrate runs/train/r20-common 0
recalibrate runs/train/r20-pann 0
recalibrate runs/train/r20-common-100 8
recalibrate runs/train/r20-pann-100 8
# (9) Weight averaging (SWA) of each 150-epoch model, the same for both recipes: 10 more epochs at constant lr 0.01
#     (step schedule, gamma 1) from its final weights with its own wd/mixup/cutout, one snapshot per epoch
#     (--snapshots), then the average of the 10 snapshots with BatchNorm re-estimated (`pann recalibrate-bn`). On
#     the 100-epoch pair this added 0.2 / 0.3 points on top of recalibration (probes/README.md). About 25 min each.
swa() {  # run directory, the 150-epoch run it starts from, wd, mixup
    local dir=$1 base=$2 wd=$3 mixup=$4
    finished "$base" || return 0
    run "$dir" --arch resnet20 --init "$base/model.safetensors" --epochs 10 --batch 128 --lr 0.01 --momentum 0.9 \
        --wd "$wd" --mixup "$mixup" --cutout 8 --schedule step --gamma 1 --seed 0 --snapshots
    finished "$dir" || return 0
    [ -f "$(text_of "$dir")/swa.out" ] && return 0
    local snaps
    snaps=$(ls "$dir"/model-e*.safetensors | sort -V | paste -sd,)
    target/release/pann recalibrate-bn --model "$snaps" --out "$dir/model-swa.safetensors" --cutout 8 \
        > "$dir/swa.out.tmp" 2>&1
    mv "$dir/swa.out.tmp" "$dir/swa.out"
    keep_text "$dir"
}
# (8) issue 4's pair, third attempt: 150 one-cycle epochs, cutout 8, then (7)'s recalibration. The 100-epoch pair
#     after recalibration: 89.62% / 88.40% (README.md), and weight averaging adds 0.2 (probes/): neither reaches 90%.
#     The PANN-friendly recipe now uses wd 1e-4 instead of 1e-5: 5× below the common recipe's 5e-4 and 50× below
#     Lee et al.'s 5e-3, as sturdy as wd 0 in the weight-decay sweep (4), while 1e-5 (nearly no decay) cost the
#     100-epoch pair 1.2 points of exact accuracy even after recalibration. The friendly run goes first: it is the one
#     whose 90% is in doubt. About 4–6 h each (90–135 s per epoch): later sessions resume them.
run runs/train/r20-pann-150 --arch resnet20 --epochs 150 --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-4 \
    --mixup 0.5 --cutout 8 --schedule onecycle --seed 0
recalibrate runs/train/r20-pann-150 8
#     The friendly model's weight averaging (9) runs before the common run: whether the friendly recipe reaches 90%
#     at all is the open question, and it is known 25 min after its training instead of 5 h.
swa runs/train/r20-pann-150-swa runs/train/r20-pann-150 1e-4 0.5
# (10) A mixup-free tail for the friendly model, fixed before its results are known: 10 epochs from the 150-epoch
#      friendly model, cosine lr 0.01 -> 0, wd 1e-4, cutout 8, *no mixup*, then (7)'s recalibration. Mixup
#      underfits a network as small as ResNet-20 (train accuracy on mixed images ~80%); the tail asks how much exact
#      accuracy that costs, and whether the sturdiness under low α survives when the last epochs see clean labels
#      (measured against the as-trained model by results/analysis/run.sh). For models/: the friendly model is the
#      SWA one (9) if it reaches 90% exact, else this one if it does. About 25 min.
if finished runs/train/r20-pann-150; then
    run runs/train/r20-pann-150-tail --arch resnet20 --init runs/train/r20-pann-150/model.safetensors \
        --epochs 10 --batch 128 --lr 0.01 --momentum 0.9 --wd 1e-4 --cutout 8 --schedule cosine --seed 0
    recalibrate runs/train/r20-pann-150-tail 8
fi
# (11) The friendly model of models/ and its approximation-aware fine-tunes. The pick, by the rule fixed in (10)
#      before the results were known: the SWA model (9) if its exact accuracy after recalibration reaches 90%, else
#      the tail (10) if that does, else (no friendly model reaches 90%; said so in README.md) the better of the two.
#      Then one fine-tune per α = 6..9 from the pick, as (6) did from the 100-epoch model but with the friendly
#      recipe's wd 1e-4: 1 epoch through that α's polynomial ReLU at B = 50, mixup 0.5, cutout 8, cosine 0.01 -> 0.
#      About 4 min each.
# One fine-tune per α = 6..9 into directories $1<α>, from the model $2, with the friendly recipe (wd 1e-4).
finetunes() {
    local prefix=$1 init=$2 alpha
    for alpha in 6 7 8 9; do
        run "$prefix$alpha" --arch resnet20 --init "$init" --epochs 1 --batch 128 --lr 0.01 --momentum 0.9 \
            --wd 1e-4 --mixup 0.5 --cutout 8 --schedule cosine --pann-alpha $alpha --seed 0
    done
}
pick_friendly() {
    local swa tail
    swa=$(after_acc results/train/r20-pann-150-swa/swa.out)
    tail=$(after_acc results/train/r20-pann-150-tail/recalibrate.out)
    if reaches90 "$swa"; then echo runs/train/r20-pann-150-swa/model-swa.safetensors
    elif reaches90 "$tail"; then echo runs/train/r20-pann-150-tail/model-bn.safetensors
    elif [ -n "$swa" ] && [ -n "$tail" ]; then
        if awk -v a="$swa" -v b="$tail" 'BEGIN { exit !(a >= b) }'; then
            echo runs/train/r20-pann-150-swa/model-swa.safetensors
        else
            echo runs/train/r20-pann-150-tail/model-bn.safetensors
        fi
    fi
}
friendly=$(pick_friendly)
if [ -n "$friendly" ]; then
    echo "$friendly" > results/train/friendly-pick.txt
    finetunes runs/train/r20-pann-150-ft "$friendly"
fi
pick=$(cat results/train/friendly-pick.txt 2>/dev/null || true)
# (13) The friendly recipe, fourth attempt, since none of (8)-(10) reaches 90% (89.79 / 89.68 / 89.69%): the same
#      150 one-cycle epochs, wd 1e-4, cutout 8, mixup 0.5 in the first 120 epochs only (--mixup-epochs 120), so the
#      last 30, inside the annealing (lr about 0.02 -> 0), fit clean labels, then (7)'s recalibration. The tail (10)
#      did the same after the schedule had ended, at a re-raised lr 0.01, and left the model where recalibration alone
#      had put it. Rule fixed 2026-12-03, before its result: if it reaches 90% exact, it is the friendly model of
#      models/, the common one is r20-common-150 recalibrated (the same post-processing), and its per-α fine-tunes
#      (as in (11)) are made from it. About 4 h. It runs before the common model's 150 epochs (moved there
#      2026-12-03, at the common run's epoch 7, which resumes after it): the friendly recipe is the one whose 90% is
#      in doubt, so its answer comes first.
if ! reaches90 "$(model_acc "$pick")"; then
    run runs/train/r20-pann-150-mix120 --arch resnet20 --epochs 150 --batch 128 --lr 0.1 --momentum 0.9 \
        --wd 1e-4 --mixup 0.5 --mixup-epochs 120 --cutout 8 --schedule onecycle --seed 0
    recalibrate runs/train/r20-pann-150-mix120 8
    m=runs/train/r20-pann-150-mix120/model-bn.safetensors
    if [ -f "$m" ] && reaches90 "$(model_acc "$m")"; then
        finetunes runs/train/r20-pann-150-mix120-ft "$m"
    fi
fi
# (14) The pair again, after the BN-initialisation fix (2026-12-03, crates/pann-nn/src/models/mod.rs): every run
#      above started its BN scales uniform in [0, 1) (tch's default), not at 1 as PyTorch does, and that cost
#      ResNet-20 about 0.9 points against PyTorch's own loop at 15 epochs (results/train/parity/bn-init.sh). The
#      first common 150-epoch run (started with the old initialisation) was stopped during its epoch 20 for this (last committed
#      epoch 19, 76.43%); its directory is in git history (commit 68d4b21). The recipes are (8)'s, unchanged: friendly wd 1e-4 + mixup 0.5,
#      common wd 5e-4, both 150 one-cycle epochs with cutout 8, then (7)'s recalibration. Rule fixed before any
#      result: if both recalibrated models reach 90% exact they are the pair of models/, and the friendly one gets
#      the per-α fine-tunes of (11). Friendly first (its 90% is the one in doubt). About 3.5 h each.
run runs/train/r20-pann-150-bn1 --arch resnet20 --epochs 150 --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-4 \
    --mixup 0.5 --cutout 8 --schedule onecycle --seed 0
recalibrate runs/train/r20-pann-150-bn1 8
# The common half of (14) was set aside on 2026-12-05, at its epoch 2 (directory deleted): the friendly model
#      reached 89.75% recalibrated, the fifth friendly 150-epoch result in 89.58-89.79%, so the pair needs a longer
#      schedule, and a pair shares its schedule; a 150-epoch common model could not be half of it (README.md).
# (15) Both recipes of (14), unchanged but for 250 one-cycle epochs instead of 150, friendly first, then (7)'s
#      recalibration. Rule fixed 2026-12-05, before either run started: if both recalibrated models reach 90% exact,
#      they are the pair of models/; the friendly one gets the per-α fine-tunes of (11) once it alone reaches 90%
#      (the check below looks at it only); if the friendly one
#      misses 90%, issue 4's bar is reported as out of reach on this (JPEG-noisy) training set, and the common run
#      still finishes (it is the common-recipe model of the headline table at equal schedule). About 5.6 h each.
run runs/train/r20-pann-250-bn1 --arch resnet20 --epochs 250 --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-4 \
    --mixup 0.5 --cutout 8 --schedule onecycle --seed 0
recalibrate runs/train/r20-pann-250-bn1 8
run runs/train/r20-common-250-bn1 --arch resnet20 --epochs 250 --batch 128 --lr 0.1 --momentum 0.9 --wd 5e-4 \
    --cutout 8 --schedule onecycle --seed 0
recalibrate runs/train/r20-common-250-bn1 8
m=runs/train/r20-pann-250-bn1/model-bn.safetensors
if [ -f "$m" ] && reaches90 "$(model_acc "$m")"; then
    finetunes runs/train/r20-pann-250-bn1-ft "$m"
fi
# (12) The common model gets the post-processing of the friendly pick (11), so that the pair of models/ differs in
#      the training recipe only (rule fixed 2026-12-03, before any result of the common 150-epoch run): the SWA of
#      (9) if the friendly pick is its SWA model, else (10)'s 10-epoch mixup-free tail with the common recipe's
#      wd 5e-4, then recalibration. Only if the pick reaches 90% exact; it does not (89.69%, README.md), so (13).
if reaches90 "$(model_acc "$pick")"; then
    case "$pick" in
        *-tail/*)
            if finished runs/train/r20-common-150; then
                run runs/train/r20-common-150-tail --arch resnet20 \
                    --init runs/train/r20-common-150/model.safetensors --epochs 10 --batch 128 --lr 0.01 \
                    --momentum 0.9 --wd 5e-4 --cutout 8 --schedule cosine --seed 0
                recalibrate runs/train/r20-common-150-tail 8
            fi ;;
        *-swa/*) swa runs/train/r20-common-150-swa runs/train/r20-common-150 5e-4 0 ;;
    esac
fi
