//! The panels a kiosk ships with, and sizing a test harness to one of them.

use egui_kittest::Harness;
use kiosk::app::KioskApp;

pub struct Panel {
    pub name: &'static str,
    pub px: egui::Vec2,
    pub diagonal_inches: f32,
}

pub const PANELS: [Panel; 4] = [
    Panel {
        name: "7in 800x480",
        px: egui::vec2(800.0, 480.0),
        diagonal_inches: 7.0,
    },
    Panel {
        name: "10in 1280x800",
        px: egui::vec2(1280.0, 800.0),
        diagonal_inches: 10.1,
    },
    Panel {
        name: "21in 1920x1080",
        px: egui::vec2(1920.0, 1080.0),
        diagonal_inches: 21.5,
    },
    Panel {
        name: "43in totem 1080x1920",
        px: egui::vec2(1080.0, 1920.0),
        diagonal_inches: 43.0,
    },
];

impl Panel {
    pub fn px_per_mm(&self) -> f32 {
        self.px.length() / (self.diagonal_inches * 25.4)
    }
}

/// Gives the harness the panel's size the way a window gives egui its size.
pub fn show_on(h: &mut Harness<'_, KioskApp>, panel: &Panel) {
    // A window tells egui its size in points at the current zoom (egui-winit divides the
    // panel's pixels by the zoomed pixels-per-point); the harness takes points, so give it
    // the panel's pixels the same way until the app's zoom settles.
    for _ in 0..3 {
        h.set_size(panel.px / h.ctx.zoom_factor());
        h.step();
    }
    let shown = h.ctx.viewport_rect().size() * h.ctx.pixels_per_point();
    assert!(
        (shown - panel.px).length() < 1.0,
        "{}: the app sees {shown:?}",
        panel.name
    );
}
