//! The operator screen's "inside now" panel: who the gate counts as inside, a check-out for a
//! visitor who left without scanning, and "check out everyone" at closing time (asked twice).

use egui::RichText;

use super::fit::{TOUCH, touch_button};
use super::state::{AppState, Command};
use crate::i18n::Messages;
use crate::store::{CheckOut, InsideVisit};

/// Rows drawn at most: a mall holds thousands; the search narrows the list.
const MAX_ROWS: usize = 100;

pub fn inside_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    m: &Messages,
    tz: chrono_tz::Tz,
    inside: &[InsideVisit],
) -> Vec<Command> {
    let mut commands = Vec::new();
    let lang = state.lang;
    let query = state.search.trim().to_lowercase();
    let shown: Vec<&InsideVisit> = inside
        .iter()
        .filter(|v| query.is_empty() || v.subject.to_lowercase().contains(&query))
        .collect();
    // Closing one gate checks out those who came in by it; closing the venue, everyone.
    let here = inside.iter().filter(|v| v.gate.is_none()).count();
    let count = |who: &CheckOut| match who {
        CheckOut::ThisGate => here,
        _ => inside.len(),
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!("{} ({})", m.get(lang, "op-inside-now"), inside.len()))
                .size(22.0)
                .strong(),
        );
        if state.confirm.is_none() {
            let mut choices = Vec::new();
            if here > 0 {
                choices.push((CheckOut::ThisGate, "op-check-out-gate"));
            }
            if inside.len() > here {
                choices.push((CheckOut::WholeVenue, "op-check-out-venue"));
            }
            for (who, key) in choices {
                let button = egui::Button::new(RichText::new(m.get(lang, key)).size(20.0))
                    .min_size(egui::vec2(TOUCH * 1.25, TOUCH));
                if ui.add_enabled(!state.checking_out, button).clicked() {
                    commands.push(Command::AskCheckOut(who));
                }
            }
        }
        match &state.checkout_message {
            Some(Ok(n)) => {
                ui.label(RichText::new(format!("{} {n}", m.get(lang, "op-checked-out"))).size(20.0));
            }
            Some(Err(e)) => {
                ui.label(
                    RichText::new(format!("{} {e}", m.get(lang, "op-checkout-failed")))
                        .size(20.0)
                        .color(super::visitor::DENY),
                );
            }
            None => {}
        }
    });
    if let Some(who) = &state.confirm {
        // Closing time is once a day and cannot be taken back: the question names the count.
        let key = match who {
            CheckOut::ThisGate => "op-check-out-gate-confirm",
            _ => "op-check-out-venue-confirm",
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!("{} {}", m.get(lang, key), count(who)))
                    .size(22.0)
                    .strong()
                    .color(super::visitor::DENY),
            );
            if touch_button(ui, RichText::new(m.get(lang, "op-confirm")).size(20.0)).clicked() {
                commands.push(Command::ConfirmCheckOut);
            }
            if touch_button(ui, RichText::new(m.get(lang, "op-cancel")).size(20.0)).clicked() {
                commands.push(Command::CancelCheckOut);
            }
        });
    }
    if inside.is_empty() {
        ui.label(RichText::new(m.get(lang, "op-inside-none")).size(20.0));
        return commands;
    }
    egui::Grid::new("op-inside")
        .striped(true)
        .num_columns(4)
        .spacing([18.0, 4.0])
        .show(ui, |ui| {
            for key in ["op-col-subject", "op-col-entered", "op-col-gate"] {
                ui.label(RichText::new(m.get(lang, key)).size(20.0).strong());
            }
            ui.label("");
            ui.end_row();
            for v in shown.iter().take(MAX_ROWS) {
                ui.label(RichText::new(&v.subject).size(20.0));
                ui.label(RichText::new(v.entered_at.with_timezone(&tz).format("%m-%d %H:%M").to_string()).size(20.0));
                ui.label(RichText::new(v.gate.as_deref().unwrap_or(m.get(lang, "op-this-gate"))).size(20.0));
                let button = egui::Button::new(RichText::new(m.get(lang, "op-check-out")).size(20.0))
                    .min_size(egui::vec2(TOUCH * 1.25, TOUCH));
                if ui.add_enabled(!state.checking_out, button).clicked() {
                    commands.push(Command::CheckOut(v.subject.clone()));
                }
                ui.end_row();
            }
        });
    if shown.len() > MAX_ROWS {
        ui.label(RichText::new(format!("… +{}", shown.len() - MAX_ROWS)).size(20.0));
    }
    commands
}
