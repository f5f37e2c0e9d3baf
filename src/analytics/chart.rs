//! The daily chart, drawn on the server as SVG: two KPIs of one currency over the range, each
//! on its own axis (left and right, since their units differ), with axis labels and a legend.
//! Geometry is f64 because it is drawing; the values shown in labels come from the exact
//! numbers. The page's CSP forbids inline styles, so colours come from classes in app.css.

use super::format::Kpi;
use super::queries::Series;

pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 280.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;
/// Above this many days the dots (with their hover titles) are left out.
const MAX_DOTS: usize = 100;

#[derive(Debug, Clone)]
pub struct Tick {
    pub pos: String,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Dot {
    pub x: String,
    pub y: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub kpi: Kpi,
    pub label: String,
    pub class: &'static str,
    pub points: String,
    pub dots: Vec<Dot>,
    pub ticks: Vec<Tick>,
}

#[derive(Debug, Clone)]
pub struct ChartView {
    pub currency: String,
    pub title: String,
    pub width: String,
    pub height: String,
    pub plot_left: String,
    pub plot_right: String,
    pub plot_top: String,
    pub plot_bottom: String,
    pub axis_label_left: String,
    pub axis_label_right: String,
    pub axis_label_y: String,
    pub lines: Vec<Line>,
    pub x_ticks: Vec<Tick>,
}

impl ChartView {
    pub fn view_box(&self) -> String {
        format!("0 0 {} {}", self.width, self.height)
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// A round step so that `steps` steps reach at least `max` (1, 2, 2.5, 5 × 10^k).
fn nice_step(max: f64, steps: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / steps;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000_000.0 {
        format!("{}M", trim(v / 1_000_000.0))
    } else if a >= 10_000.0 {
        format!("{}k", trim(v / 1_000.0))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Builds the chart of `a` and `b` for one currency's daily series.
pub fn build(series: &Series, a: Kpi, b: Kpi) -> ChartView {
    let n = series.days.len();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let currency = series.currency;
    let mut lines = Vec::new();
    for (kpi, class) in [(a, "series-a"), (b, "series-b")] {
        let values: Vec<f64> = series.days.iter().map(|(_, m)| kpi.plot_value(m)).collect();
        let max = values.iter().cloned().fold(0.0, f64::max);
        let step = nice_step(max, 4.0);
        let top = step * 4.0;
        let y_of = |v: f64| TOP + plot_h * (1.0 - (v / top).clamp(0.0, 1.0));
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{},{}", fmt(x_of(i)), fmt(y_of(*v))))
            .collect::<Vec<_>>()
            .join(" ");
        let dots = if n <= MAX_DOTS {
            series
                .days
                .iter()
                .zip(&values)
                .enumerate()
                .map(|(i, ((date, m), v))| Dot {
                    x: fmt(x_of(i)),
                    y: fmt(y_of(*v)),
                    title: format!("{date}: {} {}", kpi.label(), kpi.display(m, currency, true)),
                })
                .collect()
        } else {
            Vec::new()
        };
        let ticks = (0..=4)
            .map(|k| {
                let v = step * k as f64;
                Tick {
                    pos: fmt(y_of(v)),
                    label: tick_label(v),
                }
            })
            .collect();
        let unit = kpi.unit(currency);
        let label = if unit.is_empty() {
            kpi.label().to_string()
        } else {
            format!("{} ({unit})", kpi.label())
        };
        lines.push(Line {
            kpi,
            label,
            class,
            points,
            dots,
            ticks,
        });
    }
    let every = n.div_ceil(7).max(1);
    let x_ticks = series
        .days
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, (d, _))| Tick {
            pos: fmt(x_of(i)),
            label: d.format("%b %-d").to_string(),
        })
        .collect();
    ChartView {
        currency: currency.as_str().to_string(),
        title: format!("{} and {} per day, {}", a.label(), b.label(), currency),
        width: fmt(WIDTH),
        height: fmt(HEIGHT),
        plot_left: fmt(LEFT),
        plot_right: fmt(WIDTH - RIGHT),
        plot_top: fmt(TOP),
        plot_bottom: fmt(HEIGHT - BOTTOM),
        axis_label_left: fmt(LEFT - 8.0),
        axis_label_right: fmt(WIDTH - RIGHT + 8.0),
        axis_label_y: fmt(HEIGHT - BOTTOM + 18.0),
        lines,
        x_ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(100.0, 4.0), 25.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
        assert_eq!(nice_step(0.0, 4.0), 1.0);
        assert_eq!(tick_label(25_000.0), "25k");
        assert_eq!(tick_label(2.5), "2.5");
    }
}
