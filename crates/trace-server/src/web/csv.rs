//! CSV downloads that a spreadsheet opens safely: a cell that would start a formula (`=`, `+`,
//! `-`, `@`, tab, carriage return) is prefixed with `'`, every cell is quoted, and the file says
//! which case and which tracer it was made for.

use chrono::{DateTime, Utc};

use crate::db::{Case, CaseVisit, Contact};

/// One cell, quoted, never read as a formula: the first character that is not white space or
/// a control character may not start one (full-width forms included, which some spreadsheets
/// read as their ASCII twins).
pub fn cell(text: &str) -> String {
    let first = text.chars().find(|c| !c.is_whitespace() && !c.is_control());
    let formula = matches!(first, Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠'))
        || text.starts_with(['\t', '\r', '\n']);
    let guarded = if formula { format!("'{text}") } else { text.to_string() };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn line(cells: &[String]) -> String {
    let mut l = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    l.push_str("\r\n");
    l
}

/// The contacts of a case, labelled with the case and the tracer, then the case's own visits.
pub fn contacts(
    case: &Case,
    tracer: &str,
    window: (DateTime<Utc>, DateTime<Utc>),
    contacts: &[Contact],
    visits: &[CaseVisit],
) -> String {
    let mut out = String::new();
    out.push_str(&line(&[
        "case".into(),
        case.id.to_string(),
        "reason".into(),
        case.reason.clone(),
        "tracer".into(),
        tracer.into(),
        "from".into(),
        window.0.to_rfc3339(),
        "to".into(),
        window.1.to_rfc3339(),
        "made".into(),
        Utc::now().to_rfc3339(),
    ]));
    out.push_str(&line(&[
        "subject".into(),
        "overlap_minutes".into(),
        "venues".into(),
        "first_overlap".into(),
        "inferred".into(),
    ]));
    for c in contacts {
        out.push_str(&line(&[
            c.subject.clone(),
            format!("{:.1}", c.overlap_minutes),
            c.venues.join(" "),
            c.first_overlap.to_rfc3339(),
            c.inferred.to_string(),
        ]));
    }
    out.push_str(&line(&[
        "case_visit_venue".into(),
        "in".into(),
        "out".into(),
        "inferred".into(),
    ]));
    for v in visits {
        out.push_str(&line(&[
            v.venue_id.clone(),
            v.t_in.to_rfc3339(),
            v.t_out.to_rfc3339(),
            v.inferred.to_string(),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_never_start_a_formula_and_are_quoted() {
        assert_eq!(cell("p-1"), "\"p-1\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("-1"), "\"'-1\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\tx"), "\"'\tx\"");
        assert_eq!(cell("a,b\nc"), "\"a,b\nc\"");
        assert_eq!(cell("  =1+1"), "\"'  =1+1\"");
        assert_eq!(cell("\n=1"), "\"'\n=1\"");
        assert_eq!(cell("＝1"), "\"'＝1\"");
    }
}
