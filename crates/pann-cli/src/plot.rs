//! SVG plots (plotters' SVG backend: no fonts or system libraries needed).

use anyhow::{anyhow, Result};
use pann_approx::CompositeSign;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

/// Two panels: `p(x)` against `sign(x)` on `[−1, 1]`, and `log2 |p(x) − sign(x)|` and `log2` of the ReLU error
/// on `(0, 1]` with a logarithmic x axis, the bounds `2^(1−α)` and `2^-α` dashed.
pub fn sign_plot(sign: &CompositeSign, path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (900, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let (top, bottom) = root.split_vertically(450);
    let n = 4000;
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!(
                "composite sign approximation, α = {}, degrees {:?}",
                sign.alpha, sign.degrees
            ),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-1.0..1.0, -1.3..1.3)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("p(x)")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let xs: Vec<f64> = (0..=n).map(|i| -1.0 + 2.0 * i as f64 / n as f64).collect();
    chart
        .draw_series(LineSeries::new(xs.iter().map(|&x| (x, x.signum())), BLACK.mix(0.4)))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(
            xs.iter().map(|&x| (x, sign.eval(x))),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e}"))?;

    let lo = -16.0f64;
    let log_xs: Vec<f64> = (0..=n).map(|i| lo + (0.0 - lo) * i as f64 / n as f64).collect();
    let sign_err: Vec<(f64, f64)> = log_xs
        .iter()
        .map(|&l| (l, (sign.eval(l.exp2()) - 1.0).abs().max(1e-30).log2()))
        .collect();
    let relu_err: Vec<(f64, f64)> = log_xs
        .iter()
        .map(|&l| {
            let x = l.exp2();
            (l, (x * (1.0 - sign.eval(x)).abs() / 2.0).max(1e-30).log2())
        })
        .collect();
    let ymin = -(sign.alpha as f64) - 12.0;
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "error on (0, 1] (log2 scales): sign (blue), ReLU (red)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(lo..0.0, ymin..1.0)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("log2 x")
        .y_desc("log2 error")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(sign_err, BLUE))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(relu_err, RED))
        .map_err(|e| anyhow!("{e}"))?;
    for (bound, color) in [
        (1.0 - sign.alpha as f64, BLUE.mix(0.5)),
        (-(sign.alpha as f64), RED.mix(0.5)),
    ] {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(lo, bound), (0.0, bound)],
                6,
                4,
                color.into(),
            ))
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Accuracy against α, the exact network's accuracy dashed.
pub fn accuracy_plot(summary: &pann_eval::EvalSummary, path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let lo = summary.rows.iter().map(|r| r.alpha).min().unwrap_or(4) as f64;
    let hi = summary.rows.iter().map(|r| r.alpha).max().unwrap_or(14) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: PANN accuracy against precision", summary.arch),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d((lo - 0.5)..(hi + 0.5), 0.0..100.0)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("α (ReLU error 2^-α)")
        .y_desc("top-1 accuracy %")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let exact = 100.0 * summary.exact.accuracy;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(lo - 0.5, exact), (hi + 0.5, exact)],
            6,
            4,
            BLACK.mix(0.5).into(),
        ))
        .map_err(|e| anyhow!("{e}"))?;
    let pts: Vec<(f64, f64)> = summary
        .rows
        .iter()
        .map(|r| (r.alpha as f64, 100.0 * r.accuracy))
        .collect();
    chart
        .draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(pts.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Accuracy against log2 δ for every perturbation configuration: one panel per size type, colour by region,
/// solid for random sign, dashed for constant sign.
pub fn perturb_plot(rows: &[pann_eval::perturb_sweep::PerturbRow], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (1100, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let panels = root.split_evenly((1, 2));
    let lo = rows.iter().map(|r| r.delta.log2()).fold(f64::INFINITY, f64::min);
    let hi = rows.iter().map(|r| r.delta.log2()).fold(f64::NEG_INFINITY, f64::max);
    for (panel, magnitude) in panels.iter().zip(["proportional", "constant"]) {
        let title = if magnitude == "proportional" {
            "error δ·|x|"
        } else {
            "error δ"
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("ReLU output + {title}"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d((lo - 0.3)..(hi + 0.3), 0.0..100.0)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc("log2 δ")
            .y_desc("accuracy %")
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (region, color) in [("negative", RED), ("positive", BLUE), ("all", BLACK)] {
            for sign in ["random", "constant"] {
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.magnitude == magnitude && r.region == region && r.sign == sign)
                    .map(|r| (r.delta.log2(), 100.0 * r.accuracy))
                    .collect();
                draw_line(
                    &mut chart,
                    pts,
                    color,
                    sign == "constant",
                    format!("{region}, {sign} sign"),
                )?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// One line of [`lines`].
pub struct Series {
    /// Legend entry.
    pub label: String,
    /// `(x, y)` points, drawn in order with a marker on each.
    pub points: Vec<(f64, f64)>,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// Series of the same group share a colour.
    pub group: String,
}

/// Line chart of several series with markers and a legend; the colour follows the series' group, dashes tell
/// series of one group apart. The x range is taken from the data, the y range is given.
pub fn lines(series: &[Series], title: &str, x_desc: &str, y_desc: &str, y: (f64, f64), path: &Path) -> Result<()> {
    let palette = [
        BLUE,
        RED,
        GREEN,
        MAGENTA,
        CYAN,
        BLACK,
        RGBColor(230, 120, 0),
        RGBColor(120, 60, 20),
    ];
    let mut groups: Vec<&str> = Vec::new();
    for s in series {
        if !groups.contains(&s.group.as_str()) {
            groups.push(&s.group);
        }
    }
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (lo, hi) = if lo.is_finite() {
        (lo - 0.5, hi + 0.5)
    } else {
        (0.0, 1.0)
    };
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi, y.0..y.1)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for s in series {
        let g = groups.iter().position(|g| *g == s.group).unwrap_or(0);
        let color = palette[g % palette.len()];
        draw_line(&mut chart, s.points.clone(), color, s.dashed, s.label.clone())?;
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| anyhow!("{e}"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// One solid or dashed 2-pixel line with its legend entry (dashed entries drawn lighter, to tell them apart).
fn draw_line<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    dashed: bool,
    label: String,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = color.stroke_width(2);
    let drawn = if dashed {
        chart
            .draw_series(DashedLineSeries::new(points, 6, 4, style))
            .map_err(|e| anyhow!("{e}"))?
    } else {
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(|e| anyhow!("{e}"))?
    };
    drawn.label(label).legend(move |(x, y)| {
        PathElement::new(
            vec![(x, y), (x + 20, y)],
            if dashed { color.mix(0.5) } else { color.into() },
        )
    });
    Ok(())
}
