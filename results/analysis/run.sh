#!/usr/bin/env bash
# Reproduces results/analysis/ (issue 5's analyses) from the repository root. Each command writes CSV/JSON/SVG
# into results/analysis/<name>*; the trained models come from results/train/run.sh.
#   results/analysis/run.sh                    # every step
#   results/analysis/run.sh headline profile   # only the named steps: perturb layerwise profile weight-decay
#                                              # remedies headline (the numbers below are the issue's); and
#                                              # headline-100ep, the older pair's files, run only when named
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=results/analysis
pann=scripts/pann
all_steps=(perturb layerwise profile weight-decay remedies headline headline-100ep)
for s in "$@"; do
    case " ${all_steps[*]} " in
        *" $s "*) ;;
        *) echo "results/analysis/run.sh: unknown step '$s' (steps: ${all_steps[*]})" >&2; exit 2 ;;
    esac
done
want() {  # step name: run it when no step was named or it was named
    [ $# -eq 1 ] || return 1
    [ ${#steps[@]} -eq 0 ] && return 0
    case " ${steps[*]} " in *" $1 "*) return 0 ;; esac
    return 1
}
steps=("$@")

# 2. Which perturbations hurt (bundled ResNet-20, first 2,000 test images).
want perturb && $pann analyze perturb --nchw --images 2000 --out $out

# 5. Layer-wise precision on the bundled ResNet-20: search on the first 2,000 test images, report on the other
#    8,000 and on all 10,000; per-layer calibrated bounds (5,000 training images × 1.1); without and with the
#    mean-leak correction.
if want layerwise; then
    $pann analyze layerwise --nchw --alpha 4..14 --search-images 2000 --images 10000 --out $out --name layerwise
    $pann analyze layerwise --nchw --alpha 4..14 --search-images 2000 --images 10000 --leak-correction --out $out \
        --name layerwise-leakcorr
fi

# 3. What the ReLUs see (bundled model; with the trained models once they exist).
models=(--model akamaster=../shared/models/resnet20-akamaster.safetensors)
for m in models/resnet20-common models/resnet20-pann; do
    [ -f $m.safetensors ] && models+=(--model "$(basename $m)=$m.safetensors")
done
want profile && $pann analyze profile --nchw "${models[@]}" --images 2000 --out $out

# 3. The weight-decay sweep (results/train/wd-*): exact and PANN accuracy at α = 6..12 and the same profile.
if want weight-decay; then
    wd=()
    for w in 0 1e-4 5e-4 5e-3; do
        [ -f runs/train/wd-$w/model.safetensors ] && wd+=(--model "wd$w=runs/train/wd-$w/model.safetensors")
    done
    #    One precision run per model (each into weight-decay/wd-<wd>/, run as soon as that model finished training), one
    #    profile over all four.
    for w in 0 1e-4 5e-4 5e-3; do
        [ -f runs/train/wd-$w/model.safetensors ] && $pann analyze precision --nchw \
            --model "wd$w=runs/train/wd-$w/model.safetensors" --alpha 6..12 --rules lee,calibrate \
            --out $out/weight-decay/wd-$w
    done
    # Mixup alone (wd 5e-4, mixup 0.5, the same 15 epochs), to separate it from weight decay.
    if [ -f runs/train/mix-wd5e-4/model.safetensors ]; then
        wd+=(--model "mix-wd5e-4=runs/train/mix-wd5e-4/model.safetensors")
        $pann analyze precision --nchw --model "mix-wd5e-4=runs/train/mix-wd5e-4/model.safetensors" --alpha 6..12 \
            --rules lee,calibrate --out $out/weight-decay/mix-wd5e-4
    fi
    if [ ${#wd[@]} -gt 0 ]; then
        $pann analyze profile --nchw "${wd[@]}" --images 2000 --out $out/weight-decay
    fi
fi

# 4. Remedies, training that sees the leak (results/train/r20-pann-{ft8,noise8}): the PANN-friendly 60-epoch model
#    and its two 5-epoch fine-tunes, at equal depth, Lee's rule with and without the mean-leak correction.
if want remedies; then
    ft=()
    for r in r20-pann r20-pann-ft8 r20-pann-noise8; do
        [ -f runs/train/$r/model.safetensors ] && ft+=(--model "${r#r20-}=runs/train/$r/model.safetensors")
    done
    if [ ${#ft[@]} -gt 1 ]; then
        $pann analyze precision --nchw "${ft[@]}" --alpha 6..10 --rules lee,lee+leak,calibrate --out $out/finetune
    fi
fi

# 1. Accuracy vs precision and the headline table. With issue 4's committed pair (models/resnet20-{common,pann},
#    both >= 90% exact, copied there by results/train/publish.sh) and its per-α fine-tunes: the headline on all
#    10,000 test images (about 27 min on the 2-core machine); the precision curves on the first 2,000 (they overlap
#    the headline's Lee and calibrated columns at α = 6..14 but add α = 4, 5, the plot and the friendly model as
#    trained, before its recalibration); the ReLU-input profile of the pair. Console tables go to *.txt.
#    The pair's runs go channels-last (`--channels-last`, about 1.25× faster, the same counts as NCHW on the bundled
#    model: results/bench/layout_check.txt); the 100-epoch files were made in NCHW, and stay reproducible so.
if want headline; then
    tr=runs/train  # the weights of results/train/run.sh (ignored by git)
    if [ -f models/resnet20-common.safetensors ] && [ -f models/resnet20-pann.safetensors ]; then
        # The friendly model before its recalibration: the model its recalibration log names first.
        as_trained=()
        m=$(head -1 models/resnet20-pann.recalibrate.out | cut -d: -f1)
        m=${m/#results\/train\//runs/train/}  # run weights moved out of results/ on 2026-12-07
        [ -f "$m" ] && as_trained=(--model "pann-as-trained=$m")
        $pann analyze headline --common models/resnet20-common.safetensors --friendly models/resnet20-pann.safetensors \
            --finetuned "models/resnet20-pann-ft{alpha}.safetensors" --allow-missing --channels-last \
            --out results/headline.md
        $pann analyze precision --images 2000 --alpha 4..14 --rules lee,calibrate --channels-last \
            --model akamaster=../shared/models/resnet20-akamaster.safetensors \
            --model common=models/resnet20-common.safetensors --model pann=models/resnet20-pann.safetensors \
            "${as_trained[@]}" --out $out/precision > $out/precision.txt
        $pann analyze profile --model common=models/resnet20-common.safetensors \
            --model pann=models/resnet20-pann.safetensors --images 2000 --channels-last --out $out/profile-pair \
            > $out/profile-pair.txt
    else
        echo "results/analysis/run.sh: models/resnet20-{common,pann}.safetensors missing (results/train/publish.sh); headline skipped" >&2
    fi
fi

# The same on the 100-epoch pair of results/train/ (below 90% exact, results/train/README.md; the friendly model also
# after BatchNorm recalibration, step 7): the headline of 2026-12-02 (made with `--out results/headline.md` and moved
# here once the 250-epoch pair replaced it), precision curves and profile. NCHW. Not run by default.
if [ ${#steps[@]} -gt 0 ] && want headline-100ep; then
    tr=runs/train  # the weights of results/train/run.sh (ignored by git)
    $pann analyze headline --nchw --common $tr/r20-common-100/model.safetensors \
        --friendly $tr/r20-pann-100/model.safetensors \
        --finetuned "$tr/r20-pann-100-ft{alpha}/model.safetensors" \
        --recalibrated $tr/r20-pann-100/model-bn.safetensors --allow-missing --out $out/headline-100ep.md
    $pann analyze precision --nchw --images 2000 --alpha 4..14 --rules lee,calibrate \
        --model akamaster=../shared/models/resnet20-akamaster.safetensors \
        --model common-100=$tr/r20-common-100/model.safetensors \
        --model pann-100=$tr/r20-pann-100/model.safetensors --out $out/precision-100ep > $out/precision-100ep.txt
    $pann analyze profile --nchw --model common-100=$tr/r20-common-100/model.safetensors \
        --model pann-100=$tr/r20-pann-100/model.safetensors --images 2000 --out $out/profile-100ep \
        > $out/profile-100ep.txt
fi
