# The decision helpers shared by run.sh (which runs the next step by them) and publish.sh (which copies the pair
# into models/ by them), so that both read a model's accuracy, and the 90% bar of issue 4, the same way.
# Sourced, not run.

# The exact test accuracy (percent) that a `pann recalibrate-bn` log ($1) reports after recalibration.
after_acc() { grep -o '[0-9.]*% after' "$1" 2>/dev/null | head -1 | grep -o '^[0-9.]*'; }
# Succeeds if the accuracy $1 (percent, may be empty) is at least issue 4's 90%.
reaches90() { [ -n "$1" ] && awk -v a="$1" 'BEGIN { exit !(a >= 90) }'; }
# The exact accuracy of a model written by recalibration ($1: model-bn or model-swa, under runs/train or
# results/train), from the committed copy of the log that wrote it (results/train/<run>/).
model_acc() {
    local text
    text="results/train/$(basename "$(dirname "$1")")"
    case "$1" in
        *model-swa.safetensors) after_acc "$text/swa.out" ;;
        *) after_acc "$text/recalibrate.out" ;;
    esac
}
