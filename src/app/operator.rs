//! The operator screen: today's numbers, hourly chart, passages, sync state, export,
//! staff-assisted entry.

use egui::RichText;
use egui_plot::{Bar, BarChart, Plot};

use super::fit::{TOUCH, touch_button};
use super::state::{AppState, Command};
use crate::i18n::Messages;

pub fn operator_ui(ui: &mut egui::Ui, state: &mut AppState, m: &Messages, tz: chrono_tz::Tz) -> Vec<Command> {
    let mut commands = Vec::new();
    let lang = state.lang;
    // Wrapped: on a portrait panel (800 points across) the controls take two rows.
    ui.horizontal_wrapped(|ui| {
        ui.heading(RichText::new(format!("{} · {}", m.get(lang, "op-title"), state.venue_name)).size(30.0));
        if ui
            .add(egui::Button::new(RichText::new(m.get(lang, "back")).size(24.0)).min_size(egui::vec2(140.0, TOUCH)))
            .clicked()
        {
            commands.push(Command::Leave);
        }
        if touch_button(ui, RichText::new(m.get(lang, "op-refresh")).size(20.0)).clicked() {
            commands.push(Command::RefreshDay);
        }
        if touch_button(ui, RichText::new(m.get(lang, "op-export")).size(20.0)).clicked() {
            commands.push(Command::ExportDay);
        }
        if touch_button(ui, RichText::new(m.get(lang, "set-show")).size(20.0)).clicked() {
            commands.push(Command::ToggleSettings);
        }
        if touch_button(
            ui,
            RichText::new(match lang {
                crate::i18n::Lang::ZhCn => "English",
                crate::i18n::Lang::En => "中文",
            })
            .size(20.0),
        )
        .clicked()
        {
            commands.push(Command::ToggleLang);
        }
    });
    // Any day, a step at a time: yesterday's visitors are the ones a tracer asks about.
    ui.horizontal_wrapped(|ui| {
        if touch_button(
            ui,
            RichText::new(format!("← {}", m.get(lang, "op-prev-day"))).size(20.0),
        )
        .clicked()
        {
            commands.push(Command::ShiftDay(-1));
        }
        let day = state
            .day_shown
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let which = if state.day_offset == 0 {
            format!(" ({})", m.get(lang, "op-today"))
        } else {
            String::new()
        };
        ui.label(RichText::new(format!("{day}{which}")).size(24.0).strong());
        if state.day_offset < 0 {
            if touch_button(
                ui,
                RichText::new(format!("{} →", m.get(lang, "op-next-day"))).size(20.0),
            )
            .clicked()
            {
                commands.push(Command::ShiftDay(1));
            }
            if touch_button(ui, RichText::new(m.get(lang, "op-today")).size(20.0)).clicked() {
                commands.push(Command::ShiftDay(-state.day_offset));
            }
        }
    });
    if let Some(msg) = &state.export_message {
        ui.label(RichText::new(msg).size(18.0));
    }
    for err in state
        .log_notice
        .iter()
        .chain(&state.day_error)
        .chain(&state.housekeeping_error)
    {
        ui.label(RichText::new(err).size(18.0).color(super::visitor::DENY));
    }
    ui.separator();

    // Staff-assisted entry: a visitor without a phone shows a printed pass or reads it out.
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(RichText::new(m.get(lang, "op-staff")).size(18.0));
        // Named by its label, so screen readers (and UI tests) can find the field.
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut state.staff_text)
                    .desired_width(420.0)
                    .min_size(egui::vec2(0.0, TOUCH))
                    .font(egui::FontId::proportional(22.0)),
            )
            .labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (touch_button(ui, RichText::new(m.get(lang, "op-check")).size(18.0)).clicked() || enter)
            && !state.staff_text.trim().is_empty()
        {
            commands.push(Command::StaffCheck(state.staff_text.trim().to_string()));
        }
    });
    if let Some(panel) = &state.panel {
        let shown = panel.outcome.shown();
        let (kind, reason) = (verdict_word(m, lang, shown.kind), short_word(m, lang, shown.reason));
        let v = match (&panel.outcome.recorded, shown.direction) {
            (Ok(_), Some(d)) => format!("{kind} · {reason} · {}", direction_word(m, lang, d)),
            (Ok(_), None) => format!("{kind} · {reason}"),
            (Err(e), _) => format!("{kind} · {reason} · {e}"),
        };
        ui.label(RichText::new(v).size(20.0).strong());
    }
    ui.separator();

    // Finding a visitor: part of a pseudonymous id, or a time; filters who is inside and the
    // day's passages below.
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(RichText::new(m.get(lang, "op-search")).size(18.0));
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .desired_width(320.0)
                .min_size(egui::vec2(0.0, TOUCH))
                .font(egui::FontId::proportional(22.0)),
        )
        .labelled_by(label.id);
    });

    let state: &AppState = state;
    let Some(day) = &state.day else {
        ui.spinner();
        return commands;
    };
    // Everything below the controls scrolls as one (a finger drags it): on a 7-inch panel the
    // numbers, the chart and the day's passages do not fit at once.
    let more = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| day_ui(ui, state, m, tz, day))
        .inner;
    commands.extend(more);
    commands
}

/// The day: numbers and sync state beside the hourly chart, then the passages, newest first.
fn day_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    m: &Messages,
    tz: chrono_tz::Tz,
    day: &crate::store::DayView,
) -> Vec<Command> {
    let lang = state.lang;
    if state.show_settings {
        super::settings::settings_ui(ui, lang, m, &state.settings);
        ui.separator();
    }
    let summary = &day.summary;
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        egui::Grid::new("op-summary")
            .num_columns(2)
            .spacing([24.0, 6.0])
            .show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(RichText::new(m.get(lang, k)).size(20.0));
                    ui.label(RichText::new(v).size(20.0).strong());
                    ui.end_row();
                };
                row(
                    "occupancy",
                    match state.capacity {
                        Some(c) => format!("{} / {c}", summary.occupancy),
                        None => summary.occupancy.to_string(),
                    },
                );
                row("op-entries", summary.entries.to_string());
                row("op-exits", summary.exits.to_string());
                row("op-unique", summary.unique_visitors.to_string());
                row("op-refused", summary.denied.to_string());
                row(
                    "op-peak",
                    summary
                        .peak_hour
                        .map(|h| format!("{h:02}:00–{:02}:00", h + 1))
                        .unwrap_or_else(|| "–".into()),
                );
                row("op-pending", summary.pending_sync.to_string());
                let sync = match (&state.sync, state.sync_configured) {
                    (_, false) => m.get(lang, "op-sync-off").to_string(),
                    (None, true) => "…".to_string(),
                    (Some(s), true) => format!(
                        "{} {}{}",
                        m.get(lang, "op-last-sync"),
                        s.last_success
                            .map(|t| t.with_timezone(&tz).format("%H:%M:%S").to_string())
                            .unwrap_or_else(|| "–".into()),
                        s.last_error.as_ref().map(|e| format!("\n{e}")).unwrap_or_default()
                    ),
                };
                row("op-sync", sync);
                if let Some(v) = state
                    .sync
                    .as_ref()
                    .map(|s| &s.venue)
                    .filter(|v| v.last_contact.is_some() || v.alone)
                {
                    venue_rows_ui(ui, lang, m, v, tz);
                }
                if let Some(s) = state.sync.as_ref().filter(|s| !s.server_missing.is_empty()) {
                    let lost: i64 = s.server_missing.iter().map(|(a, b)| b - a + 1).sum();
                    let ranges: Vec<String> = s
                        .server_missing
                        .iter()
                        .take(3)
                        .map(|(a, b)| if a == b { format!("#{a}") } else { format!("#{a}–{b}") })
                        .collect();
                    let more = if s.server_missing.len() > 3 { " …" } else { "" };
                    ui.label(
                        RichText::new(m.get(lang, "op-server-missing"))
                            .size(20.0)
                            .color(egui::Color32::RED),
                    );
                    ui.label(
                        RichText::new(format!("{lost} ({}{more})", ranges.join(", ")))
                            .size(20.0)
                            .strong()
                            .color(egui::Color32::RED),
                    );
                    ui.end_row();
                }
                if let Some(s) = state.sync.as_ref().filter(|s| !s.parked.is_empty()) {
                    // Refused by the server for good: kept in the local log, out of the queue.
                    let first = s
                        .parked
                        .first()
                        .map(|(seq, why)| format!("#{seq}: {why}"))
                        .unwrap_or_default();
                    ui.label(
                        RichText::new(m.get(lang, "op-parked"))
                            .size(20.0)
                            .color(egui::Color32::RED),
                    );
                    ui.label(
                        RichText::new(format!("{} ({first})", s.parked.len()))
                            .size(20.0)
                            .strong()
                            .color(egui::Color32::RED),
                    );
                    ui.end_row();
                }
                // Problems a person must act on, each a red row: label, then what is wrong.
                if let Some(s) = state.sync.as_ref() {
                    let problems = s
                        .chain_problem
                        .iter()
                        .map(|p| ("op-chain", p))
                        .chain(s.clock_problem.iter().map(|p| ("op-clock", p)))
                        .chain(s.trust_problems.iter().map(|p| ("op-trust", p)));
                    for (label, problem) in problems {
                        ui.label(RichText::new(m.get(lang, label)).size(20.0).color(egui::Color32::RED));
                        ui.label(RichText::new(problem).size(16.0).color(egui::Color32::RED));
                        ui.end_row();
                    }
                }
            });
        if !summary.denied_by_reason.is_empty() {
            ui.label(RichText::new(m.get(lang, "op-refused-by")).size(18.0));
        }
        for (reason, n) in &summary.denied_by_reason {
            ui.label(RichText::new(format!("  {}: {n}", short_word(m, lang, reason))).size(18.0));
        }
        let ui = &mut cols[1];
        let exit_colour = egui::Color32::from_rgb(0x3b, 0x6e, 0xc4);
        ui.horizontal(|ui| {
            ui.label(RichText::new(m.get(lang, "op-hourly")).size(18.0));
            // A legend to read, not to click: egui_plot's own is a row of tiny check boxes.
            ui.label(
                RichText::new(format!("■ {}", m.get(lang, "op-entries")))
                    .size(18.0)
                    .color(super::visitor::ADMIT),
            );
            ui.label(
                RichText::new(format!("■ {}", m.get(lang, "op-exits")))
                    .size(18.0)
                    .color(exit_colour),
            );
        });
        let entries: Vec<Bar> = summary
            .hourly
            .iter()
            .map(|(h, e, _)| Bar::new(*h as f64 - 0.2, *e as f64).width(0.4))
            .collect();
        let exits: Vec<Bar> = summary
            .hourly
            .iter()
            .map(|(h, _, x)| Bar::new(*h as f64 + 0.2, *x as f64).width(0.4))
            .collect();
        Plot::new("hourly")
            .height(220.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new(m.get(lang, "op-entries"), entries).color(super::visitor::ADMIT));
                plot.bar_chart(BarChart::new(m.get(lang, "op-exits"), exits).color(exit_colour));
            });
    });
    ui.separator();
    // Who is inside now, whatever day is shown: the check-outs act on the present.
    let commands = super::inside::inside_ui(ui, state, m, tz, &day.inside);
    ui.separator();
    let passages: Vec<&crate::store::Passage> = day
        .passages
        .iter()
        .filter(|p| super::state::passage_matches(p, &state.search, tz))
        .collect();
    ui.label(
        RichText::new(format!(
            "{} ({})",
            m.get(
                lang,
                if state.day_offset == 0 {
                    "op-passages"
                } else {
                    "op-day-passages"
                }
            ),
            passages.len()
        ))
        .size(20.0),
    );
    // Readable at arm's length on a 7-inch panel (zoomed to 0.6): not egui's 14-point body.
    for style in [egui::TextStyle::Body, egui::TextStyle::Button] {
        ui.style_mut()
            .text_styles
            .insert(style, egui::FontId::proportional(20.0));
    }
    egui::Grid::new("op-passages")
        .striped(true)
        .num_columns(6)
        .spacing([18.0, 4.0])
        .show(ui, |ui| {
            ui.label(RichText::new("#").strong());
            for key in [
                "op-col-time",
                "op-col-dir",
                "op-col-verdict",
                "op-col-reason",
                "op-col-subject",
            ] {
                ui.label(RichText::new(m.get(lang, key)).strong());
            }
            ui.end_row();
            for p in passages.iter().rev().take(500) {
                let p: &crate::store::Passage = p;
                ui.label(p.seq.to_string());
                ui.label(p.at.with_timezone(&tz).format("%H:%M:%S").to_string());
                ui.label(direction_word(m, lang, p.direction));
                ui.label(verdict_word(m, lang, p.verdict));
                let reason = short_word(m, lang, p.reason);
                ui.label(if p.inferred {
                    format!("{reason} {}", m.get(lang, "op-inferred"))
                } else {
                    reason
                });
                ui.label(p.subject.as_deref().unwrap_or("–"));
                ui.end_row();
            }
        });
    if passages.is_empty() && !state.search.trim().is_empty() {
        ui.label(RichText::new(m.get(lang, "op-search-none")).size(20.0));
    }
    commands
}

/// The venue by every gate: who is inside, the gates, this gate's share, working alone, and
/// people admitted at two gates without leaving between (red: staff should look).
fn venue_rows_ui(
    ui: &mut egui::Ui,
    lang: crate::i18n::Lang,
    m: &Messages,
    v: &crate::venue::VenueStatus,
    tz: chrono_tz::Tz,
) {
    let capacity = v.capacity.map(|c| format!(" / {c}")).unwrap_or_default();
    ui.label(RichText::new(m.get(lang, "op-venue")).size(20.0));
    ui.label(
        RichText::new(format!(
            "{}{capacity} {} · {} {}",
            v.inside,
            m.get(lang, "op-inside"),
            v.gates.len(),
            m.get(lang, "op-gates")
        ))
        .size(20.0)
        .strong(),
    );
    ui.end_row();
    if !v.gates.is_empty() {
        // Each gate's day by the server's last view: staff see a gate that went quiet.
        let lines: Vec<String> = v
            .gates
            .iter()
            .map(|g| format!("{}: {} ↓ {} ↑", g.gate, g.entries, g.exits))
            .collect();
        ui.label(RichText::new(m.get(lang, "op-gate-counts")).size(20.0));
        ui.label(RichText::new(lines.join("\n")).size(18.0));
        ui.end_row();
    }
    if let Some((share, left)) = v.share.as_ref().and_then(|s| s.share.zip(s.left)) {
        ui.label(RichText::new(m.get(lang, "op-share")).size(20.0));
        ui.label(
            RichText::new(format!("{share} · {} {left}", m.get(lang, "op-share-left")))
                .size(20.0)
                .strong(),
        );
        ui.end_row();
    }
    if v.alone {
        ui.label(
            RichText::new(m.get(lang, "op-alone"))
                .size(20.0)
                .color(egui::Color32::RED),
        );
        ui.label(RichText::new(m.get(lang, "alone")).size(16.0).color(egui::Color32::RED));
        ui.end_row();
    }
    if !v.conflicts.is_empty() {
        let lines: Vec<String> = v
            .conflicts
            .iter()
            .take(5)
            .map(|c| {
                format!(
                    "{} {} {} → {} {}",
                    short(&c.subject),
                    c.first_gate,
                    c.first_at.with_timezone(&tz).format("%H:%M"),
                    c.second_gate,
                    c.second_at.with_timezone(&tz).format("%H:%M")
                )
            })
            .collect();
        let more = if v.conflicts.len() > 5 { "\n…" } else { "" };
        ui.label(
            RichText::new(format!("{} ({})", m.get(lang, "op-conflicts"), v.conflicts.len()))
                .size(20.0)
                .color(egui::Color32::RED),
        );
        ui.label(
            RichText::new(format!("{}{more}", lines.join("\n")))
                .size(16.0)
                .color(egui::Color32::RED),
        );
        ui.end_row();
    }
}

/// The operator's words for a verdict, a reason and a direction, in the screen's one language
/// (the codes themselves are for the CSV and the server).
fn verdict_word(m: &Messages, lang: crate::i18n::Lang, kind: crate::policy::VerdictKind) -> &str {
    use crate::policy::VerdictKind;
    m.get(
        lang,
        match kind {
            VerdictKind::Admit => "op-verdict-admit",
            VerdictKind::Deny => "op-verdict-deny",
            VerdictKind::Invalid => "op-verdict-invalid",
            VerdictKind::Unreadable => "op-verdict-unreadable",
        },
    )
}

fn short_word(m: &Messages, lang: crate::i18n::Lang, reason: impl std::fmt::Display) -> String {
    m.get(lang, &format!("short-{reason}")).to_string()
}

fn direction_word(m: &Messages, lang: crate::i18n::Lang, d: wire::Direction) -> &str {
    m.get(lang, crate::i18n::direction_key(d))
}

/// A pseudonymous id, shortened for a table cell.
fn short(subject: &str) -> String {
    let mut s: String = subject.chars().take(12).collect();
    if subject.chars().count() > 12 {
        s.push('…');
    }
    s
}
