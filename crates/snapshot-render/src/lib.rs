//! A software renderer for egui_kittest snapshots (test support, never in the kiosk): egui's own tessellated meshes rasterised on
//! the CPU. No GPU, no Vulkan or GL driver, and the same pixels on every machine that runs the
//! same build — which is what a snapshot test needs to compare against a committed image.
//!
//! Faithful to what the kiosk draws where it matters for a snapshot (shapes, anti-aliased
//! edges from the tessellator's feathering, text from the font atlas, clip rectangles); it
//! blends premultiplied colours in gamma space, as egui's glow painter does.

use std::collections::HashMap;

use egui::epaint::{ClippedPrimitive, Primitive};
use egui::{Color32, TextureId, TexturesDelta};
use egui_kittest::TestRenderer;

#[derive(Default)]
pub struct CpuRenderer {
    textures: HashMap<TextureId, Texture>,
}

struct Texture {
    size: [usize; 2],
    pixels: Vec<Color32>,
}

impl Texture {
    /// The texel under `uv` (0..1), clamped to the edge.
    fn sample(&self, u: f32, v: f32) -> Color32 {
        let [w, h] = self.size;
        let x = ((u * w as f32) as isize).clamp(0, w as isize - 1) as usize;
        let y = ((v * h as f32) as isize).clamp(0, h as isize - 1) as usize;
        self.pixels[y * w + x]
    }
}

impl TestRenderer for CpuRenderer {
    fn handle_delta(&mut self, delta: &mut TexturesDelta) {
        for (id, d) in delta.set.iter().flat_map(|(id, ds)| ds.iter().map(move |d| (id, d))) {
            let egui::ImageData::Color(image) = &d.image;
            match d.pos {
                None => {
                    self.textures.insert(
                        *id,
                        Texture {
                            size: image.size,
                            pixels: image.pixels.clone(),
                        },
                    );
                }
                Some([x0, y0]) => {
                    if let Some(t) = self.textures.get_mut(id) {
                        let [w, h] = image.size;
                        for y in 0..h {
                            for x in 0..w {
                                if x0 + x < t.size[0] && y0 + y < t.size[1] {
                                    t.pixels[(y0 + y) * t.size[0] + x0 + x] = image.pixels[y * w + x];
                                }
                            }
                        }
                    }
                }
            }
        }
        for id in &delta.free {
            self.textures.remove(id);
        }
        delta.clear();
    }

    fn render(&mut self, ctx: &egui::Context, output: &egui::FullOutput) -> Result<image::RgbaImage, String> {
        let ppp = output.pixels_per_point;
        let size = ctx.viewport_rect().size() * ppp;
        let (w, h) = (size.x.round() as usize, size.y.round() as usize);
        // Cleared to the panel colour the window would show under the UI.
        let clear = ctx.global_style().visuals.panel_fill;
        let mut frame = vec![clear; w * h];
        for ClippedPrimitive { clip_rect, primitive } in ctx.tessellate(output.shapes.clone(), ppp) {
            let Primitive::Mesh(mesh) = primitive else { continue };
            let Some(texture) = self.textures.get(&mesh.texture_id) else {
                return Err(format!("mesh uses unknown texture {:?}", mesh.texture_id));
            };
            let clip = [
                (clip_rect.min.x * ppp).round().max(0.0) as usize,
                (clip_rect.min.y * ppp).round().max(0.0) as usize,
                ((clip_rect.max.x * ppp).round().max(0.0) as usize).min(w),
                ((clip_rect.max.y * ppp).round().max(0.0) as usize).min(h),
            ];
            for tri in mesh.indices.chunks_exact(3) {
                let v = [
                    &mesh.vertices[tri[0] as usize],
                    &mesh.vertices[tri[1] as usize],
                    &mesh.vertices[tri[2] as usize],
                ];
                fill_triangle(&mut frame, w, clip, ppp, v, texture);
            }
        }
        let mut out = image::RgbaImage::new(w as u32, h as u32);
        for (p, c) in out.pixels_mut().zip(&frame) {
            *p = image::Rgba(c.to_array());
        }
        Ok(out)
    }
}

fn fill_triangle(
    frame: &mut [Color32],
    w: usize,
    clip: [usize; 4],
    ppp: f32,
    v: [&egui::epaint::Vertex; 3],
    texture: &Texture,
) {
    let p: Vec<(f32, f32)> = v.iter().map(|v| (v.pos.x * ppp, v.pos.y * ppp)).collect();
    let area = (p[1].0 - p[0].0) * (p[2].1 - p[0].1) - (p[2].0 - p[0].0) * (p[1].1 - p[0].1);
    if area.abs() < 1e-6 {
        return;
    }
    let min_x = (p.iter().map(|q| q.0).fold(f32::MAX, f32::min).floor().max(0.0) as usize).max(clip[0]);
    let max_x = (p.iter().map(|q| q.0).fold(f32::MIN, f32::max).ceil().max(0.0) as usize).min(clip[2]);
    let min_y = (p.iter().map(|q| q.1).fold(f32::MAX, f32::min).floor().max(0.0) as usize).max(clip[1]);
    let max_y = (p.iter().map(|q| q.1).fold(f32::MIN, f32::max).ceil().max(0.0) as usize).min(clip[3]);
    let colours: Vec<[f32; 4]> = v.iter().map(|v| v.color.to_array().map(|c| c as f32 / 255.0)).collect();
    for y in min_y..max_y {
        let py = y as f32 + 0.5;
        for x in min_x..max_x {
            let px = x as f32 + 0.5;
            // Barycentric weights by edge functions; a pixel centre on any side is outside.
            let w0 = ((p[1].0 - px) * (p[2].1 - py) - (p[2].0 - px) * (p[1].1 - py)) / area;
            let w1 = ((p[2].0 - px) * (p[0].1 - py) - (p[0].0 - px) * (p[2].1 - py)) / area;
            let w2 = 1.0 - w0 - w1;
            if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                continue;
            }
            let u = w0 * v[0].uv.x + w1 * v[1].uv.x + w2 * v[2].uv.x;
            let t = w0 * v[0].uv.y + w1 * v[1].uv.y + w2 * v[2].uv.y;
            let texel = texture.sample(u, t).to_array().map(|c| c as f32 / 255.0);
            let src: [f32; 4] =
                std::array::from_fn(|i| (w0 * colours[0][i] + w1 * colours[1][i] + w2 * colours[2][i]) * texel[i]);
            let dst = frame[y * w + x].to_array().map(|c| c as f32 / 255.0);
            // Premultiplied "over": src + dst × (1 − src alpha).
            let out: [u8; 4] =
                std::array::from_fn(|i| ((src[i] + dst[i] * (1.0 - src[3])) * 255.0).round().clamp(0.0, 255.0) as u8);
            frame[y * w + x] = Color32::from_rgba_premultiplied(out[0], out[1], out[2], out[3]);
        }
    }
}
