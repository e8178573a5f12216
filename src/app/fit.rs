//! Fitting every screen to the panel it runs on: screens are laid out for a 1280×800 box (800×1280
//! on a portrait panel) and zoomed so that box fills the panel, from a 7-inch 800×480 panel to a
//! 1080×1920 totem; and touch targets big enough for a finger at the smallest zoom.

use egui::{Vec2, vec2};

/// The box every screen is laid out in, in points; a portrait panel (a totem) turns it.
pub const DESIGN: Vec2 = vec2(1280.0, 800.0);

/// The design box for a panel of this shape: a totem gets a tall box, so its text is as large
/// as on a landscape panel of the same width instead of shrunk to fit 1280 points across.
pub fn design_for(pixels: Vec2) -> Vec2 {
    if pixels.y > pixels.x {
        vec2(DESIGN.y, DESIGN.x)
    } else {
        DESIGN
    }
}

/// The smallest touch target, in points: 80 points are 48 px on an 800×480 panel (zoom 0.6),
/// over 9 mm on a 7-inch one (133 px per inch), and more on every larger panel.
pub const TOUCH: f32 = 80.0;

/// The zoom that fits the design box into `pixels` (physical) on a display of
/// `native_ppp` pixels per point.
pub fn zoom_for(pixels: Vec2, native_ppp: f32) -> f32 {
    let design = design_for(pixels);
    let fit = (pixels.x / design.x).min(pixels.y / design.y);
    (fit / native_ppp.max(0.1)).clamp(0.5, 3.0)
}

/// Sets the zoom for the window's current size (it takes effect from the next frame). Cheap:
/// called every frame. (Not a bigger `interact_size` for all: it also makes every grid row of
/// the operator's numbers a finger high; controls ask for `TOUCH` themselves.)
pub fn fit_ui(ctx: &egui::Context) {
    let pixels = ctx.viewport_rect().size() * ctx.pixels_per_point();
    let zoom = zoom_for(pixels, ctx.native_pixels_per_point().unwrap_or(1.0));
    if (ctx.zoom_factor() - zoom).abs() > 0.005 {
        ctx.set_zoom_factor(zoom);
    }
}

/// A button a finger can hit: at least `TOUCH` high and a little wider, whatever its text.
pub fn touch_button(ui: &mut egui::Ui, text: egui::RichText) -> egui::Response {
    ui.add(egui::Button::new(text).min_size(vec2(TOUCH * 1.25, TOUCH)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_box_fills_each_panel_within_its_smaller_side() {
        for (w, h) in [(800.0, 480.0), (1280.0, 800.0), (1920.0, 1080.0), (1080.0, 1920.0)] {
            let z = zoom_for(vec2(w, h), 1.0);
            let shown = design_for(vec2(w, h)) * z;
            assert!(shown.x <= w + 0.5 && shown.y <= h + 0.5, "{w}x{h}: {shown:?}");
            assert!(shown.x >= w - 0.5 || shown.y >= h - 0.5, "{w}x{h}: one side filled");
        }
        assert_eq!(
            zoom_for(vec2(2560.0, 1600.0), 2.0),
            1.0,
            "a HiDPI panel already doubles"
        );
    }
}
