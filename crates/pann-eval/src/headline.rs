//! The headline table: PANN accuracy per α for Lee et al.'s method on conventionally trained networks against
//! pann's recipe (PANN-friendly training, approximation-aware fine-tuning, the mean-leak correction), and the
//! paper's claims checked on it.
//!
//! [`HeadlineModels::plan`] says which model is evaluated under which [`Rule`] in each column,
//! [`evaluate_headline`] evaluates them (one [`evaluate_pann`] per column, one per α for per-α fine-tunes), lines
//! them up by α and checks the claims; [`Headline::markdown`] renders the table (`pann analyze headline` writes it
//! and prints it).

use crate::error::Error;
use crate::rule::Rule;
use crate::run::Progress;
use crate::sweep::{evaluate_pann, EvalSummary, ExactRow};
use pann_data::{Dataset, Normalization};
use pann_nn::Model;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The model files of the headline table.
#[derive(Clone, Debug)]
pub struct HeadlineModels {
    /// The conventionally trained ResNet-20 (weight decay 5e-4, no mixup).
    pub common: PathBuf,
    /// The bundled ResNet-20.
    pub bundled: PathBuf,
    /// pann's PANN-friendly ResNet-20 (minimal weight decay, mixup).
    pub friendly: PathBuf,
    /// The PANN-friendly model after BatchNorm recalibration, for two more columns.
    pub recalibrated: Option<PathBuf>,
    /// pann's approximation-aware fine-tunes.
    pub finetuned: Finetuned,
}

/// The approximation-aware fine-tuned models: one evaluated at every α, or one per α, each at its own α.
#[derive(Clone, Debug, PartialEq)]
pub enum Finetuned {
    /// One model for every α.
    One(PathBuf),
    /// `(α, model fine-tuned for α)`.
    PerAlpha(Vec<(u32, PathBuf)>),
}

impl Finetuned {
    /// One file, or, for a pattern with `{alpha}`, one file per α of `alphas`.
    pub fn parse(arg: &str, alphas: &[u32]) -> Finetuned {
        if arg.contains("{alpha}") {
            Finetuned::PerAlpha(
                alphas
                    .iter()
                    .map(|a| (*a, PathBuf::from(arg.replace("{alpha}", &a.to_string()))))
                    .collect(),
            )
        } else {
            Finetuned::One(PathBuf::from(arg))
        }
    }

    /// The files that must exist for a complete column.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Finetuned::One(p) => vec![p.clone()],
            Finetuned::PerAlpha(parts) => parts.iter().map(|(_, p)| p.clone()).collect(),
        }
    }
}

/// A column of one model evaluated at every α under one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedColumn {
    /// The column's label.
    pub label: &'static str,
    /// The model file.
    pub model: PathBuf,
    /// How its bounds are chosen.
    pub rule: Rule,
}

/// The fine-tuned column's label.
const FINETUNED_LABEL: &str = "pann fine-tuned, Lee's B";
/// The fine-tuned column's method: Lee's global B without the correction, the setting the fine-tunes trained
/// through.
const FINETUNED_METHOD: &str = "Lee's global B (from 50 in steps of 5), no correction: the fine-tune trained through \
                                the uncorrected polynomial at B = 50";
/// Plan entries on Lee et al.'s side (the common recipe, the bundled model), in order of preference as the
/// claims' reference.
const LEE_SIDE: [usize; 2] = [0, 1];
/// The first plan entry on pann's side; every later one, the fine-tuned column included, is checked against
/// Lee et al.'s.
const PANN_SIDE_FROM: usize = 3;

impl HeadlineModels {
    /// The single-model columns, in table order: Lee et al.'s side first (and the leak correction on the bundled
    /// model), then pann's; the fine-tuned column comes after them.
    pub fn plan(&self) -> Vec<PlannedColumn> {
        let col = |label, model: &PathBuf, rule| PlannedColumn {
            label,
            model: model.clone(),
            rule,
        };
        let mut plan = vec![
            col("Lee et al., common recipe", &self.common, Rule::LEE),
            col("Lee et al., bundled ResNet-20", &self.bundled, Rule::LEE),
            col("bundled + leak corr.", &self.bundled, Rule::LEE_LEAK),
            // pann's range rule alone, on the conventional model: separates what the bounds do from what the
            // recipe does.
            col("common recipe, calibrated B", &self.common, Rule::CALIBRATE),
            col("pann model, Lee's B", &self.friendly, Rule::LEE),
            col("pann model + leak corr.", &self.friendly, Rule::LEE_LEAK),
            col("pann model, calibrated B", &self.friendly, Rule::CALIBRATE),
        ];
        if let Some(recal) = &self.recalibrated {
            plan.push(col("pann model BN-recal., Lee's B", recal, Rule::LEE));
            plan.push(col("pann model BN-recal., calibrated B", recal, Rule::CALIBRATE));
        }
        plan
    }

    /// The model files that do not exist, each once, in plan order.
    pub fn missing(&self) -> Vec<PathBuf> {
        let mut missing: Vec<PathBuf> = Vec::new();
        for path in self.plan().into_iter().map(|c| c.model).chain(self.finetuned.files()) {
            if !path.exists() && !missing.contains(&path) {
                missing.push(path);
            }
        }
        missing
    }
}

/// The images and settings every column is evaluated with.
#[derive(Clone, Copy, Debug)]
pub struct HeadlineData<'a> {
    /// Test images.
    pub test: &'a Dataset,
    /// Calibration images (calibrated bounds and the mean-leak correction).
    pub calib: &'a Dataset,
    /// Input normalisation.
    pub norm: &'a Normalization,
    /// Precisions α.
    pub alphas: &'a [u32],
    /// Images per batch.
    pub batch: usize,
}

/// The evaluated headline table.
#[derive(Clone, Debug)]
pub struct Headline {
    /// The columns evaluated, in table order.
    pub columns: Vec<Column>,
    /// The paper's claims, checked for each of pann's columns against Lee et al.'s.
    pub claims: Vec<Claim>,
    /// Model files left out because they do not exist.
    pub missing: Vec<PathBuf>,
    /// Test images per column.
    pub images: usize,
    /// Why a column was left out although its files exist.
    pub notes: Vec<String>,
}

/// Evaluates every column of `models`' plan whose file exists, then the fine-tuned column, and checks the claims.
///
/// `load` reads a model file (the caller decides the memory layout and what a file must match); `on_column` sees
/// each single-model column as it is finished. An error when no model file exists.
pub fn evaluate_headline<E: From<Error>>(
    models: &HeadlineModels,
    data: &HeadlineData<'_>,
    load: &mut dyn FnMut(&Path) -> std::result::Result<Model, E>,
    progress: &mut dyn Progress,
    on_column: &mut dyn FnMut(&Column),
) -> std::result::Result<Headline, E> {
    let plan = models.plan();
    let missing = models.missing();
    let mut notes = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    // Which entry of `plan` each column is (`plan.len()` = the fine-tuned column).
    let mut roles_of = Vec::new();
    let mut friendly_exact: Option<ExactRow> = None;
    // One model file at `alphas` under `rule`; the fine-tunes (Lee's B, no correction) get no calibration images.
    let mut evaluate = |path: &Path, rule: Rule, alphas: Vec<u32>| -> std::result::Result<EvalSummary, E> {
        let model = load(path)?;
        let calib = rule.needs_calibration().then_some(data.calib);
        let cfg = rule.config(alphas, 1.1, data.batch);
        Ok(evaluate_pann(
            &model,
            data.test,
            data.norm,
            calib,
            &cfg,
            progress,
            &mut (),
        )?)
    };
    for (i, c) in plan.iter().enumerate() {
        if missing.contains(&c.model) {
            continue;
        }
        let summary = evaluate(&c.model, c.rule, data.alphas.to_vec())?;
        if c.model == models.friendly {
            friendly_exact = Some(summary.exact.clone());
        }
        let column = Column::single(c.label, &c.model.display().to_string(), c.rule.describe(), summary);
        on_column(&column);
        columns.push(column);
        roles_of.push(i);
    }
    match &models.finetuned {
        Finetuned::One(path) if path.exists() => {
            let summary = evaluate(path, Rule::LEE, data.alphas.to_vec())?;
            columns.push(Column::single(
                FINETUNED_LABEL,
                &path.display().to_string(),
                FINETUNED_METHOD,
                summary,
            ));
            roles_of.push(plan.len());
        }
        Finetuned::PerAlpha(parts) => {
            let present: Vec<&(u32, PathBuf)> = parts.iter().filter(|(_, p)| p.exists()).collect();
            match (&friendly_exact, present.is_empty()) {
                (Some(base), false) => {
                    let mut evaluated = Vec::new();
                    for (alpha, path) in present {
                        let summary = evaluate(path, Rule::LEE, vec![*alpha])?;
                        evaluated.push((path.display().to_string(), summary));
                    }
                    columns.push(Column::per_alpha(
                        FINETUNED_LABEL,
                        FINETUNED_METHOD,
                        &models.friendly.display().to_string(),
                        base.clone(),
                        evaluated,
                    ));
                    roles_of.push(plan.len());
                }
                (None, false) => notes.push(format!(
                    "fine-tuned column left out: its reference, {}, is missing",
                    models.friendly.display()
                )),
                _ => {}
            }
        }
        Finetuned::One(_) => {}
    }
    if columns.is_empty() {
        return Err(Error::Invalid("no model file exists: nothing to tabulate".into()).into());
    }
    // The claims: Lee et al. = the common-recipe column, or the bundled one; checked for each of pann's columns.
    let pos = |i: usize| roles_of.iter().position(|&j| j == i);
    let mut checked = Vec::new();
    if let Some(lee) = LEE_SIDE.iter().find_map(|&i| pos(i)) {
        for pann in (PANN_SIDE_FROM..=plan.len()).filter_map(pos) {
            checked.extend(claims(&columns, Roles { lee, pann }));
        }
    }
    Ok(Headline {
        columns,
        claims: checked,
        missing,
        images: data.test.n,
        notes,
    })
}

impl Headline {
    /// The Markdown file: a title, how it was made (`command`, the images and `data`, the data set in words), the
    /// table and the claims, and the model files left out.
    pub fn markdown(&self, command: &str, data: &str) -> String {
        let mut md = String::from("# Headline: ResNet-20 as a PANN, Lee et al. against pann\n\n");
        md += &format!(
            "Made by `{command}` (see results/analysis/README.md). Accuracy on the first {} test images of {data}, \
             the global bound B found by Lee et al.'s rule in brackets; depths from pann's cost model.\n\n",
            self.images,
        );
        md += &render(&self.columns, &self.claims);
        if !self.missing.is_empty() {
            md += "\nNot in this table (model files not found, skipped under `--allow-missing`):\n";
            for m in &self.missing {
                md += &format!("- `{}`\n", m.display());
            }
        }
        md
    }
}

/// One column: what was evaluated and how.
#[derive(Clone, Debug, Serialize)]
pub struct Column {
    /// Short label.
    pub label: String,
    /// Which model file.
    pub model: String,
    /// Range rule and remedies, in words.
    pub method: String,
    /// The evaluation.
    pub summary: EvalSummary,
    /// For a column assembled from one model per α (approximation-aware fine-tunes, each for its own α): each
    /// row's `(α, model file, that model's own exact accuracy)`. Then `summary.exact` is the exact accuracy of
    /// the network they were all fine-tuned from — the reference for the claims — and the table's exact cell
    /// says so instead of showing one number.
    pub per_alpha: Vec<PerAlphaModel>,
}

/// One row's model of a per-α column.
#[derive(Clone, Debug, Serialize)]
pub struct PerAlphaModel {
    /// The α it was fine-tuned for and is evaluated at.
    pub alpha: u32,
    /// Its file.
    pub model: String,
    /// Its exact (ReLU) accuracy.
    pub exact_accuracy: f64,
}

impl Column {
    /// A column of one model evaluated at every α.
    pub fn single(label: &str, model: &str, method: &str, summary: EvalSummary) -> Column {
        Column {
            label: label.into(),
            model: model.into(),
            method: method.into(),
            summary,
            per_alpha: Vec::new(),
        }
    }

    /// A column whose row for α comes from `parts[i]` (one model per α, each evaluated at its α only), with
    /// `base_exact` — the exact row of the model they were fine-tuned from — as its exact reference.
    pub fn per_alpha(
        label: &str,
        method: &str,
        base_model: &str,
        base_exact: ExactRow,
        parts: Vec<(String, EvalSummary)>,
    ) -> Column {
        let mut rows = Vec::new();
        let mut per_alpha = Vec::new();
        let mut arch = String::new();
        for (model, summary) in parts {
            arch = summary.arch.clone();
            for r in summary.rows {
                per_alpha.push(PerAlphaModel {
                    alpha: r.alpha,
                    model: model.clone(),
                    exact_accuracy: summary.exact.accuracy,
                });
                rows.push(r);
            }
        }
        rows.sort_by_key(|r| r.alpha);
        per_alpha.sort_by_key(|m| m.alpha);
        Column {
            label: label.into(),
            model: format!("one model per α, fine-tuned from `{base_model}`"),
            method: method.into(),
            summary: EvalSummary {
                arch,
                exact: base_exact,
                rows,
            },
            per_alpha,
        }
    }
}

/// One of the paper's claims, checked.
#[derive(Clone, Debug, Serialize)]
pub struct Claim {
    /// The claim.
    pub statement: String,
    /// Whether it holds here.
    pub holds: bool,
    /// The numbers behind it.
    pub evidence: String,
}

/// Which columns play which role in the claims (indices into the columns).
#[derive(Clone, Copy, Debug)]
pub struct Roles {
    /// Lee et al.'s method on the conventionally trained network.
    pub lee: usize,
    /// pann's best column.
    pub pann: usize,
}

fn accuracy_at(s: &EvalSummary, alpha: u32) -> Option<f64> {
    s.rows.iter().find(|r| r.alpha == alpha).map(|r| r.accuracy)
}

/// The paper's three claims on `columns` with `roles`: (1) at equal low precision (α ≤ 9) pann is more accurate,
/// by at least 10 points somewhere (the paper: 10–50) and never less; (2) pann at 2^-9 is at least as accurate as
/// Lee et al. at 2^-12; (3) relative to each model's exact accuracy, pann loses no more at 2^-9 than Lee et al. at
/// 2^-12. A claim whose α is missing is not stated.
pub fn claims(columns: &[Column], roles: Roles) -> Vec<Claim> {
    let (lee, pann) = (&columns[roles.lee], &columns[roles.pann]);
    let mut out = Vec::new();
    let low: Vec<(u32, f64, f64)> = (4..=9)
        .filter_map(|a| Some((a, accuracy_at(&lee.summary, a)?, accuracy_at(&pann.summary, a)?)))
        .collect();
    if !low.is_empty() {
        let gains: Vec<String> = low
            .iter()
            .map(|(a, l, p)| format!("α = {a}: {:+.1}", 100.0 * (p - l)))
            .collect();
        let max_gain = low.iter().map(|(_, l, p)| p - l).fold(f64::NEG_INFINITY, f64::max);
        let never_worse = low.iter().all(|(_, l, p)| p >= l);
        out.push(Claim {
            statement: format!(
                "At low precision (α ≤ 9), '{}' is more accurate than '{}' by at least 10 points at some α and less \
                 accurate at none (the paper reports gains of 10–50 points)",
                pann.label, lee.label
            ),
            // A gain above 50 points exceeds the paper's range rather than contradicting it, so only the lower
            // end is a condition; the evidence says when the gain is beyond 50.
            holds: never_worse && max_gain >= 0.10 - 1e-9,
            evidence: format!(
                "points gained: {}{}",
                gains.join(", "),
                if max_gain > 0.50 + 1e-9 {
                    " (largest gain above the paper's 50)"
                } else {
                    ""
                }
            ),
        });
    }
    if let (Some(p9), Some(l12)) = (accuracy_at(&pann.summary, 9), accuracy_at(&lee.summary, 12)) {
        out.push(Claim {
            statement: format!(
                "'{}' at 2^-9 is at least as accurate as '{}' at 2^-12",
                pann.label, lee.label
            ),
            holds: p9 >= l12,
            evidence: format!("{:.2}% against {:.2}%", 100.0 * p9, 100.0 * l12),
        });
        let (ep, el) = (pann.summary.exact.accuracy, lee.summary.exact.accuracy);
        let reference = if pann.per_alpha.is_empty() {
            "its exact accuracy"
        } else {
            "the exact accuracy of the network it was fine-tuned from"
        };
        out.push(Claim {
            statement: format!(
                "Relative to {reference}, '{}' loses no more at 2^-9 than '{}' at 2^-12",
                pann.label, lee.label
            ),
            holds: ep - p9 <= el - l12,
            evidence: format!(
                "loss {:.2} points ({:.2}% exact → {:.2}%) against {:.2} points ({:.2}% → {:.2}%)",
                100.0 * (ep - p9),
                100.0 * ep,
                100.0 * p9,
                100.0 * (el - l12),
                100.0 * el,
                100.0 * l12
            ),
        });
    }
    out
}

/// The table as Markdown: a row per α (degrees and ReLU depth from the first column that has the α), a column per
/// evaluation with accuracy and bound, an exact row first; then the claims.
pub fn render(columns: &[Column], claims: &[Claim]) -> String {
    let mut s = String::new();
    let mut alphas: Vec<u32> = columns
        .iter()
        .flat_map(|c| c.summary.rows.iter().map(|r| r.alpha))
        .collect();
    alphas.sort_unstable();
    alphas.dedup();
    let _ = writeln!(
        s,
        "| α | degrees | ReLU depth | network depth | {} |",
        columns.iter().map(|c| c.label.as_str()).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(s, "|---|---|---|---|{}", "---|".repeat(columns.len()));
    let _ = writeln!(
        s,
        "| exact | — | — | — | {} |",
        columns
            .iter()
            .map(|c| if c.per_alpha.is_empty() {
                format!("{:.2}%", 100.0 * c.summary.exact.accuracy)
            } else {
                format!("({:.2}% before fine-tuning)", 100.0 * c.summary.exact.accuracy)
            })
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for a in alphas {
        let first = columns
            .iter()
            .find_map(|c| c.summary.rows.iter().find(|r| r.alpha == a));
        let Some(first) = first else { continue };
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match c.summary.rows.iter().find(|r| r.alpha == a) {
                Some(r) => format!("{:.2}% (B {:.0})", 100.0 * r.accuracy, r.bound),
                None => "—".into(),
            })
            .collect();
        let _ = writeln!(
            s,
            "| {a} | {:?} | {} | {} | {} |",
            first.degrees,
            first.relu_depth,
            first.network_depth,
            cells.join(" | ")
        );
    }
    let _ = writeln!(s);
    for c in columns {
        let _ = writeln!(
            s,
            "- **{}**: {}, {}; {} test images.",
            c.label,
            if c.per_alpha.is_empty() {
                format!("`{}`", c.model)
            } else {
                c.model.clone()
            },
            c.method,
            c.summary.exact.total
        );
        for m in &c.per_alpha {
            let _ = writeln!(
                s,
                "  - α = {}: `{}` (exact ReLU accuracy {:.2}%)",
                m.alpha,
                m.model,
                100.0 * m.exact_accuracy
            );
        }
    }
    if !claims.is_empty() {
        let _ = writeln!(s, "\n### The paper's claims, checked here\n");
        for c in claims {
            let _ = writeln!(
                s,
                "- {} — **{}**. {}.",
                c.statement,
                if c.holds { "holds" } else { "does not hold" },
                c.evidence
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{AlphaRow, ExactRow};

    fn summary(exact: f64, acc: &[(u32, f64)]) -> EvalSummary {
        EvalSummary {
            arch: "resnet20".into(),
            exact: ExactRow {
                accuracy: exact,
                correct: 0,
                total: 100,
                max_relu_input: 1.0,
                seconds: 0.0,
            },
            rows: acc
                .iter()
                .map(|&(alpha, accuracy)| AlphaRow {
                    alpha,
                    degrees: vec![7, 7],
                    accuracy,
                    correct: 0,
                    total: 100,
                    bound: 50.0,
                    relu_shift: 0.0,
                    bounds: None,
                    start_bounds: None,
                    leak_correction_max: None,
                    overflows: 0,
                    overflow_sites: vec![],
                    relu_depth: alpha,
                    network_depth: 10 * alpha,
                    range_tries: 1,
                    seconds: 0.0,
                })
                .collect(),
        }
    }

    fn column(label: &str, s: EvalSummary) -> Column {
        Column::single(label, "m.safetensors", "Lee", s)
    }

    #[test]
    fn per_alpha_columns_take_each_row_from_its_model() {
        let base = summary(0.86, &[]).exact;
        let ft9 = summary(0.70, &[(9, 0.85)]);
        let ft8 = summary(0.60, &[(8, 0.84)]);
        let col = Column::per_alpha(
            "ft",
            "Lee",
            "base.safetensors",
            base,
            vec![("ft9.safetensors".into(), ft9), ("ft8.safetensors".into(), ft8)],
        );
        let alphas: Vec<u32> = col.summary.rows.iter().map(|r| r.alpha).collect();
        assert_eq!(alphas, vec![8, 9]);
        assert_eq!(col.per_alpha[0].model, "ft8.safetensors");
        assert!((col.per_alpha[1].exact_accuracy - 0.70).abs() < 1e-12);
        let lee = column("lee", summary(0.92, &[(8, 0.40), (9, 0.80), (12, 0.91)]));
        let md = render(&[lee.clone(), col.clone()], &[]);
        assert!(
            md.contains("| exact | — | — | — | 92.00% | (86.00% before fine-tuning) |"),
            "{md}"
        );
        assert!(md.contains("| 12 | [7, 7] | 12 | 120 | 91.00% (B 50) | — |"), "{md}");
        assert!(
            md.contains("  - α = 9: `ft9.safetensors` (exact ReLU accuracy 70.00%)"),
            "{md}"
        );
        // The claims measure the fine-tunes' loss against the network they came from (86%), not their own exact.
        let c = claims(&[lee, col], Roles { lee: 0, pann: 1 });
        assert!(c[2].statement.contains("fine-tuned from"), "{c:?}");
        assert!(
            c[2].evidence.contains("loss 1.00 points (86.00% exact → 85.00%)"),
            "{c:?}"
        );
    }

    #[test]
    fn claims_follow_the_numbers() {
        let lee = column("lee", summary(0.92, &[(8, 0.40), (9, 0.80), (12, 0.91)]));
        let good = column("pann", summary(0.92, &[(8, 0.85), (9, 0.915), (12, 0.92)]));
        let c = claims(&[lee.clone(), good], Roles { lee: 0, pann: 1 });
        assert_eq!(c.len(), 3);
        assert!(c.iter().all(|c| c.holds), "{c:?}");
        assert!(c[0].evidence.contains("α = 8: +45.0"));
        let bad = column("pann", summary(0.90, &[(8, 0.41), (9, 0.85), (12, 0.90)]));
        let c = claims(&[lee.clone(), bad], Roles { lee: 0, pann: 1 });
        assert!(c.iter().all(|c| !c.holds), "{c:?}");
        // A large gain at one α does not make up for a loss at another; exactly 10 points counts.
        let mixed = column("pann", summary(0.92, &[(8, 0.70), (9, 0.79), (12, 0.92)]));
        assert!(!claims(&[lee.clone(), mixed], Roles { lee: 0, pann: 1 })[0].holds);
        let edge = column("pann", summary(0.92, &[(8, 0.50), (9, 0.80), (12, 0.92)]));
        assert!(claims(&[lee.clone(), edge], Roles { lee: 0, pann: 1 })[0].holds);
        // Below 10 points everywhere does not hold; a gain beyond the paper's 50 holds and is flagged.
        let small = column("pann", summary(0.92, &[(8, 0.49), (9, 0.80), (12, 0.92)]));
        assert!(!claims(&[lee.clone(), small], Roles { lee: 0, pann: 1 })[0].holds);
        let huge = column("pann", summary(0.92, &[(8, 0.91), (9, 0.90), (12, 0.92)]));
        let c = claims(&[lee, huge], Roles { lee: 0, pann: 1 });
        assert!(c[0].holds && c[0].evidence.contains("above the paper's 50"), "{c:?}");
    }

    #[test]
    fn render_lines_up_alphas_and_marks_missing_cells() {
        let a = column("A", summary(0.9, &[(6, 0.1), (7, 0.2)]));
        let b = column("B", summary(0.8, &[(7, 0.5)]));
        let md = render(&[a, b], &[]);
        assert!(md.contains("| exact | — | — | — | 90.00% | 80.00% |"), "{md}");
        assert!(md.contains("| 6 | [7, 7] | 6 | 60 | 10.00% (B 50) | — |"), "{md}");
        assert!(
            md.contains("| 7 | [7, 7] | 7 | 70 | 20.00% (B 50) | 50.00% (B 50) |"),
            "{md}"
        );
    }
}
