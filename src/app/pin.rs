//! The PIN pad in front of the operator screen.

use egui::RichText;

use super::state::{AppState, Command};
use crate::i18n::Messages;

pub fn pin_ui(ui: &mut egui::Ui, state: &AppState, m: &Messages, now: f64) -> Vec<Command> {
    let mut commands = Vec::new();
    let lang = state.lang;
    ui.vertical_centered(|ui| {
        ui.add_space(24.0);
        ui.heading(RichText::new(m.get(lang, "pin-title")).size(40.0));
        if !state.pin_configured {
            ui.label(RichText::new(m.get(lang, "pin-not-configured")).size(24.0));
        }
        let dots: String = "●".repeat(state.pin.entered.len());
        ui.label(RichText::new(if dots.is_empty() { " ".to_string() } else { dots }).size(48.0));
        if let Some(left) = state.pin.locked_until.map(|t| t - now).filter(|s| *s > 0.0) {
            // Locks grow with each one in a row, so say how long this one still lasts.
            let minutes = (left / 60.0).ceil() as u64;
            ui.label(
                RichText::new(format!("{} {minutes}", m.get(lang, "pin-locked")))
                    .size(26.0)
                    .color(super::visitor::DENY),
            );
        } else if state.pin.checking {
            ui.label(RichText::new(m.get(lang, "pin-checking")).size(26.0));
        } else if state.pin.wrong {
            ui.label(
                RichText::new(m.get(lang, "pin-wrong"))
                    .size(26.0)
                    .color(super::visitor::DENY),
            );
        }
        ui.add_space(12.0);
        let key = egui::vec2(110.0, 90.0);
        egui::Grid::new("pin-pad").spacing([12.0, 12.0]).show(ui, |ui| {
            for row in [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]] {
                for d in row {
                    if ui
                        .add(egui::Button::new(RichText::new(d).size(40.0)).min_size(key))
                        .clicked()
                    {
                        commands.push(Command::PinDigit(d.chars().next().unwrap_or('0')));
                    }
                }
                ui.end_row();
            }
            if ui
                .add(egui::Button::new(RichText::new(m.get(lang, "pin-clear")).size(26.0)).min_size(key))
                .clicked()
            {
                commands.push(Command::PinBackspace);
            }
            if ui
                .add(egui::Button::new(RichText::new("0").size(40.0)).min_size(key))
                .clicked()
            {
                commands.push(Command::PinDigit('0'));
            }
            if ui
                .add(egui::Button::new(RichText::new(m.get(lang, "pin-enter")).size(26.0)).min_size(key))
                .clicked()
            {
                commands.push(Command::PinSubmit);
            }
            ui.end_row();
        });
        ui.add_space(16.0);
        if ui
            .add(
                egui::Button::new(RichText::new(m.get(lang, "back")).size(28.0))
                    .min_size(egui::vec2(200.0, super::fit::TOUCH)),
            )
            .clicked()
        {
            commands.push(Command::Leave);
        }
    });
    commands
}
