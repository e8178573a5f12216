//! The visitor screen: live preview with a framing guide, then a large verdict panel.
//! Colour is never the only signal: every verdict has an icon, words in both languages, and
//! a sound (see `sound.rs`).

use egui::{Align, Color32, Layout, RichText, TextureHandle};

use super::state::{AppState, Command};
use crate::i18n::{Lang, Messages};
use crate::policy::{Reason, VerdictKind};

pub const ADMIT: Color32 = Color32::from_rgb(0x1b, 0x7f, 0x3b);
pub const DENY: Color32 = Color32::from_rgb(0xb3, 0x26, 0x1e);
pub const INVALID: Color32 = Color32::from_rgb(0xa8, 0x4b, 0x00);
pub const NEUTRAL: Color32 = Color32::from_rgb(0x44, 0x4a, 0x55);

/// The verdict's icon, drawn as shapes so it never depends on a font having the glyph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Check,
    Cross,
    Warning,
    Question,
}

/// Colour, icon and title key of a verdict as the visitor sees it.
pub fn look(kind: VerdictKind, reason: Reason) -> (Color32, Icon, &'static str) {
    match (kind, reason) {
        (VerdictKind::Admit, r) if r.is_exit() => (ADMIT, Icon::Check, "verdict-exit"),
        (VerdictKind::Admit, _) => (ADMIT, Icon::Check, "verdict-admit"),
        (VerdictKind::Deny, _) => (DENY, Icon::Cross, "verdict-deny"),
        (VerdictKind::Invalid, _) => (INVALID, Icon::Warning, "verdict-invalid"),
        (VerdictKind::Unreadable, _) => (NEUTRAL, Icon::Question, "verdict-unreadable"),
    }
}

fn icon_ui(ui: &mut egui::Ui, icon: Icon, size: f32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    let p = ui.painter_at(rect.expand(4.0));
    let stroke = egui::Stroke::new(size * 0.11, Color32::WHITE);
    let at = |x: f32, y: f32| rect.min + egui::vec2(x * size, y * size);
    match icon {
        Icon::Check => {
            p.line_segment([at(0.12, 0.52), at(0.40, 0.80)], stroke);
            p.line_segment([at(0.40, 0.80), at(0.90, 0.20)], stroke);
        }
        Icon::Cross => {
            p.line_segment([at(0.18, 0.18), at(0.82, 0.82)], stroke);
            p.line_segment([at(0.82, 0.18), at(0.18, 0.82)], stroke);
        }
        Icon::Warning => {
            let tri = vec![at(0.5, 0.08), at(0.95, 0.90), at(0.05, 0.90)];
            p.add(egui::Shape::closed_line(tri, stroke));
            p.line_segment([at(0.5, 0.35), at(0.5, 0.62)], stroke);
            p.circle_filled(at(0.5, 0.76), size * 0.06, Color32::WHITE);
        }
        Icon::Question => {
            p.circle_stroke(rect.center(), size * 0.42, stroke);
            p.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "?",
                egui::FontId::proportional(size * 0.6),
                Color32::WHITE,
            );
        }
    }
}

pub fn top_bar_ui(ui: &mut egui::Ui, state: &AppState, m: &Messages, commands: &mut Vec<Command>) {
    let names = |ui: &mut egui::Ui| {
        ui.label(RichText::new(&state.venue_name).size(28.0).strong());
        ui.label(RichText::new(&state.gate_name).size(22.0));
    };
    // A portrait totem (800 points across) has no room for the names beside the controls:
    // they take a row of their own above them.
    let narrow = ui.available_width() < 1000.0;
    if narrow {
        ui.horizontal(names);
    }
    ui.horizontal(|ui| {
        if !narrow {
            names(ui);
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            // The switch names the language it switches to, in that language.
            let other = match state.lang {
                Lang::ZhCn => "English",
                Lang::En => "中文",
            };
            if ui
                .add(egui::Button::new(RichText::new(other).size(26.0)).min_size(egui::vec2(140.0, super::fit::TOUCH)))
                .clicked()
            {
                commands.push(Command::ToggleLang);
            }
            // Large type, high contrast: for a visitor who cannot read the normal screen.
            let large = if state.large { "large-off" } else { "large-on" };
            if ui
                .add(
                    egui::Button::new(RichText::new(m.get(state.lang, large)).size(24.0))
                        .min_size(egui::vec2(140.0, super::fit::TOUCH)),
                )
                .clicked()
            {
                commands.push(Command::ToggleLarge);
            }
            if ui
                .add(
                    egui::Button::new(RichText::new(m.get(state.lang, "operator-open")).size(18.0))
                        .min_size(egui::vec2(super::fit::TOUCH, super::fit::TOUCH)),
                )
                .clicked()
            {
                commands.push(Command::OpenPin);
            }
            let occ = match state.capacity {
                Some(cap) => format!("{} {} / {}", m.get(state.lang, "occupancy"), state.occupancy, cap),
                None => format!("{} {}", m.get(state.lang, "occupancy"), state.occupancy),
            };
            ui.label(RichText::new(occ).size(24.0));
        });
    });
}

/// How much larger the visitor's main lines are in large-type mode.
pub const LARGE_SCALE: f32 = 1.35;

/// A verdict colour darkened for large-type mode: white text on it reaches 7:1 (WCAG AAA).
pub fn high_contrast(colour: Color32) -> Color32 {
    match colour {
        ADMIT => Color32::from_rgb(0x0b, 0x5a, 0x22),
        DENY => Color32::from_rgb(0x8a, 0x16, 0x10),
        INVALID => Color32::from_rgb(0x70, 0x33, 0x00),
        _ => Color32::from_rgb(0x2a, 0x2e, 0x35),
    }
}

pub fn visitor_ui(ui: &mut egui::Ui, state: &AppState, m: &Messages, preview: Option<&TextureHandle>) -> Vec<Command> {
    let mut commands = Vec::new();
    if state.large {
        // White on black, controls outlined in yellow: the panel's fill is set by root_ui.
        let v = ui.visuals_mut();
        v.override_text_color = Some(Color32::WHITE);
        for w in [&mut v.widgets.inactive, &mut v.widgets.hovered, &mut v.widgets.active] {
            w.weak_bg_fill = Color32::BLACK;
            w.bg_stroke = egui::Stroke::new(3.0, Color32::from_rgb(0xff, 0xd5, 0x4f));
        }
    }
    top_bar_ui(ui, state, m, &mut commands);
    ui.separator();
    if state.working_alone() {
        ui.label(
            RichText::new(m.get(state.lang, "alone"))
                .size(22.0)
                .color(Color32::from_rgb(0xff, 0xa0, 0x00)),
        );
    }
    if let Some(err) = &state.camera_error {
        ui.label(
            RichText::new(format!("{} — {err}", m.get(state.lang, "camera-problem")))
                .size(22.0)
                .color(DENY),
        );
    }
    match &state.panel {
        Some(panel) => verdict_panel_ui(ui, state, m, panel),
        None => idle_ui(ui, state, m, preview),
    }
    commands
}

fn idle_ui(ui: &mut egui::Ui, state: &AppState, m: &Messages, preview: Option<&TextureHandle>) {
    let k = if state.large { LARGE_SCALE } else { 1.0 };
    ui.vertical_centered(|ui| {
        ui.add_space(12.0);
        ui.label(RichText::new(m.get(state.lang, "prompt")).size(56.0 * k).strong());
        ui.label(RichText::new(m.get(state.lang.other(), "prompt")).size(30.0));
        // The way in without a phone, where a visitor who has none looks first.
        ui.label(
            RichText::new(m.get(state.lang, "no-phone"))
                .size(26.0 * k)
                .color(Color32::from_rgb(0xff, 0xd5, 0x4f)),
        );
        if state.code_unreadable {
            // Seen but not read, for a while: most often a dim phone screen.
            ui.label(
                RichText::new(m.get(state.lang, "hint-brightness"))
                    .size(34.0 * k)
                    .strong()
                    .color(Color32::from_rgb(0xff, 0xd5, 0x4f)),
            );
        }
        ui.add_space(12.0);
        let avail = ui.available_size();
        let size = egui::vec2((avail.y - 20.0).max(100.0) * 16.0 / 9.0, (avail.y - 20.0).max(100.0));
        let size = if size.x > avail.x {
            egui::vec2(avail.x, avail.x * 9.0 / 16.0)
        } else {
            size
        };
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        let painter = ui.painter_at(rect);
        match preview {
            Some(tex) => {
                painter.image(
                    tex.id(),
                    rect,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
            None => {
                painter.rect_filled(rect, 8.0, Color32::from_gray(40));
            }
        }
        // Framing guide: a square in the middle, where the code should be held.
        let side = rect.height() * 0.7;
        let guide = egui::Rect::from_center_size(rect.center(), egui::vec2(side, side));
        painter.rect_stroke(
            guide,
            12.0,
            egui::Stroke::new(6.0, Color32::from_rgb(0xff, 0xd5, 0x4f)),
            egui::StrokeKind::Middle,
        );
    });
}

fn verdict_panel_ui(ui: &mut egui::Ui, state: &AppState, m: &Messages, panel: &super::state::Panel) {
    let outcome = &panel.outcome;
    let shown = outcome.shown();
    let (colour, icon, title_key) = look(shown.kind, shown.reason);
    let (colour, k) = if state.large {
        (high_contrast(colour), LARGE_SCALE)
    } else {
        (colour, 1.0)
    };
    let reason = shown.reason;
    let (lang, other) = (state.lang, state.lang.other());
    let reason_key = format!("reason-{reason}");
    egui::Frame::new()
        .fill(colour)
        .corner_radius(16.0)
        .inner_margin(24.0)
        .show(ui, |ui| {
            ui.set_min_size(ui.available_size());
            ui.vertical_centered(|ui| {
                icon_ui(ui, icon, 130.0);
                ui.label(
                    RichText::new(m.get(lang, title_key))
                        .size(84.0 * k)
                        .strong()
                        .color(Color32::WHITE),
                );
                ui.label(RichText::new(m.get(other, title_key)).size(40.0).color(Color32::WHITE));
                ui.add_space(16.0);
                ui.label(
                    RichText::new(m.get(lang, &reason_key))
                        .size(38.0 * k)
                        .color(Color32::WHITE),
                );
                ui.label(
                    RichText::new(m.get(other, &reason_key))
                        .size(26.0)
                        .color(Color32::WHITE),
                );
                if let Some(w) = shown.warning {
                    ui.label(
                        RichText::new(m.get(lang, &format!("reason-{w}_warn")))
                            .size(28.0)
                            .color(Color32::YELLOW),
                    );
                }
                ui.add_space(16.0);
                let name = outcome
                    .verdict
                    .credential
                    .as_ref()
                    .map(|c| c.display_name.as_str())
                    .unwrap_or("");
                match &outcome.recorded {
                    Ok(r) => {
                        let dir = m.get(lang, crate::i18n::direction_key(r.direction));
                        ui.label(
                            RichText::new(format!("{name}  ·  {dir}"))
                                .size(34.0 * k)
                                .color(Color32::WHITE),
                        );
                        ui.label(
                            RichText::new(format!("{} / {}", m.get(lang, "recorded"), m.get(other, "recorded")))
                                .size(26.0)
                                .color(Color32::WHITE),
                        );
                    }
                    Err(e) => {
                        ui.label(
                            RichText::new(format!(
                                "{} / {}",
                                m.get(lang, "not-recorded"),
                                m.get(other, "not-recorded")
                            ))
                            .size(30.0)
                            .strong()
                            .color(Color32::YELLOW),
                        );
                        ui.label(RichText::new(e).size(18.0).color(Color32::WHITE));
                    }
                }
            });
        });
}
