//! Charts drawn on the server as SVG: no script runs and nothing is fetched, so they show on a
//! phone and on a network with no internet. Every bar carries a `<title>` with its figures.

use maud::{Markup, html};

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 22.0;

/// Entries and exits per hour of a day (0..24), side by side.
pub fn hourly(entries_label: &str, exits_label: &str, hours: &[(u32, i64, i64)]) -> Markup {
    let max = hours.iter().map(|(_, e, x)| (*e).max(*x)).max().unwrap_or(0).max(1) as f64;
    let slot = (W - LEFT) / 24.0;
    let scale = |v: i64| (H - BOTTOM - 8.0) * v as f64 / max;
    let value = |hour: u32| {
        hours
            .iter()
            .find(|(h, _, _)| *h == hour)
            .map_or((0, 0), |(_, e, x)| (*e, *x))
    };
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (H) } role="img" aria-label={ (entries_label) " / " (exits_label) } {
            line x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) stroke="#999" {}
            text x="2" y="14" { (max as i64) }
            @for hour in 0..24u32 {
                @let (e, x) = value(hour);
                @let x0 = LEFT + hour as f64 * slot;
                rect x=(x0 + 2.0) y=(H - BOTTOM - scale(e)) width=(slot / 2.0 - 2.0) height=(scale(e)) fill="#0b5fa5" {
                    title { (format!("{hour:02}:00 {entries_label} {e}")) }
                }
                rect x=(x0 + slot / 2.0) y=(H - BOTTOM - scale(x)) width=(slot / 2.0 - 2.0) height=(scale(x)) fill="#f2b600" {
                    title { (format!("{hour:02}:00 {exits_label} {x}")) }
                }
                @if hour % 3 == 0 {
                    text x=(x0 + 2.0) y=(H - 6.0) { (format!("{hour:02}")) }
                }
            }
        }
    }
}

/// Named values as horizontal bars, largest first as given.
pub fn ranked(label: &str, items: &[(String, i64)]) -> Markup {
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let row = 24.0;
    let height = (items.len().max(1) as f64) * row + 8.0;
    let label_w = 180.0;
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (height) } role="img" aria-label=(label) {
            @for (i, (name, v)) in items.iter().enumerate() {
                @let y = 4.0 + i as f64 * row;
                @let w = (W - label_w - 60.0) * *v as f64 / max;
                text x="4" y=(y + 16.0) { (name) }
                rect x=(label_w) y=(y + 4.0) width=(w) height=(row - 8.0) fill="#0b5fa5" {
                    title { (format!("{name}: {label} {v}")) }
                }
                text x=(label_w + w + 6.0) y=(y + 16.0) { (v) }
            }
        }
    }
}
