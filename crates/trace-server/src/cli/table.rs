//! Command-line output: aligned tables with a header row, or one JSON object per line, and a
//! word on stderr when there is nothing to show (an empty table is not an answer).

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

pub use trace_server::args::Format;

/// Prints `rows` under `headers` (columns as wide as their widest cell), or as JSON lines;
/// `empty` goes to stderr when there are no rows.
pub fn print<T: Serialize>(
    rows: &[T],
    format: Format,
    headers: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
    empty: &str,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        eprintln!("{empty}");
        return Ok(());
    }
    match format {
        Format::Json => {
            for r in rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        Format::Table => {
            let body: Vec<Vec<String>> = rows.iter().map(&cells).collect();
            for line in render(headers, &body) {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// Lines of a table whose columns fit their cells (in terminal columns: a Chinese character
/// takes two), without trailing blanks.
pub fn render(headers: &[&str], body: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i + 1 == n {
                    c.to_string()
                } else {
                    format!("{c}{}", " ".repeat(widths[i] - c.width()))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    std::iter::once(line(headers.to_vec()))
        .chain(body.iter().map(|r| line(r.iter().map(String::as_str).collect())))
        .collect()
}

/// A time for a table cell, to the second, or `-`.
pub fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell() {
        let lines = render(
            &["NAME", "VENUE", "NOTE"],
            &[
                vec!["gate-01".into(), "mall".into(), "x".into()],
                vec!["g".into(), "商场-一".into(), "".into()],
            ],
        );
        assert_eq!(lines[0], "NAME     VENUE    NOTE");
        assert_eq!(lines[1], "gate-01  mall     x");
        assert_eq!(lines[2], "g        商场-一");
    }
}
