//! Camera-like frames for measuring decoders: a QR code seen by a webcam at an entrance.
//!
//! Each frame places a code on a cluttered 1280×720 background with rotation, perspective,
//! blur, uneven light, sensor noise and JPEG compression. Seeded, so a benchmark run can be
//! repeated exactly.

use image::{GrayImage, Luma};

use crate::render::{RenderError, qr_image};

mod scenes;

pub use scenes::{Presentation, Scenario};

/// splitmix64: tiny, seedable, good enough for picking distortions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * (hi - lo)
    }
}

/// How hard a frame is; the generator draws each distortion from these ranges.
#[derive(Debug, Clone, Copy)]
pub struct Difficulty {
    pub min_code_px: f32,
    pub max_code_px: f32,
    pub max_rotation_deg: f32,
    /// Largest perspective squeeze of one edge, as a fraction of the code size.
    pub max_perspective: f32,
    pub max_blur_sigma: f32,
    pub max_noise: f32,
    pub jpeg_quality: (u8, u8),
}

impl Default for Difficulty {
    fn default() -> Self {
        Difficulty {
            min_code_px: 150.0,
            max_code_px: 420.0,
            max_rotation_deg: 35.0,
            max_perspective: 0.25,
            max_blur_sigma: 2.2,
            max_noise: 18.0,
            jpeg_quality: (45, 90),
        }
    }
}

/// One 1280×720 frame showing `text` as a QR code, JPEG-compressed and decoded again.
pub fn camera_frame(text: &str, rng: &mut Rng, d: &Difficulty) -> Result<GrayImage, RenderError> {
    const W: u32 = 1280;
    const H: u32 = 720;
    let code = qr_image(text, 4)?;
    let size = rng.range(d.min_code_px, d.max_code_px);
    let angle = rng.range(-d.max_rotation_deg, d.max_rotation_deg).to_radians();
    let (cx, cy) = (
        rng.range(size * 0.7, W as f32 - size * 0.7),
        rng.range(size * 0.7, H as f32 - size * 0.7),
    );
    // Corners of the code in the frame: a rotated square whose corners are pulled in unevenly.
    let half = size / 2.0;
    let mut corners = [(-half, -half), (half, -half), (half, half), (-half, half)];
    for c in corners.iter_mut() {
        let squeeze = 1.0 - rng.range(0.0, d.max_perspective);
        *c = (c.0 * squeeze, c.1 * squeeze);
    }
    let (s, c) = angle.sin_cos();
    let dst: Vec<(f32, f32)> = corners
        .iter()
        .map(|&(x, y)| (cx + x * c - y * s, cy + x * s + y * c))
        .collect();
    let n = code.width() as f32;
    let src = [(0.0, 0.0), (n, 0.0), (n, n), (0.0, n)];
    let inverse = homography(&dst, &src);

    // Background: a smooth gradient with a few boxes (clothing, a bag, the phone bezel).
    let light_dir = rng.range(0.0, std::f32::consts::TAU);
    let light_strength = rng.range(0.15, 0.5);
    let base = rng.range(90.0, 170.0);
    let boxes: Vec<(f32, f32, f32, f32, f32)> = (0..6)
        .map(|_| {
            (
                rng.range(0.0, W as f32),
                rng.range(0.0, H as f32),
                rng.range(40.0, 300.0),
                rng.range(40.0, 300.0),
                rng.range(20.0, 230.0),
            )
        })
        .collect();
    let mut frame = GrayImage::new(W, H);
    for y in 0..H {
        for x in 0..W {
            let (xf, yf) = (x as f32, y as f32);
            let mut v = base;
            for &(bx, by, bw, bh, shade) in &boxes {
                if xf >= bx && xf < bx + bw && yf >= by && yf < by + bh {
                    v = shade;
                }
            }
            let (u, w) = project(&inverse, xf, yf);
            if u >= 0.0 && w >= 0.0 && u < n - 1.0 && w < n - 1.0 {
                v = bilinear(&code, u, w) * 0.85 + 15.0; // paper is never pure white
            }
            // Uneven light: a linear ramp across the frame.
            let ramp = ((xf / W as f32 - 0.5) * light_dir.cos() + (yf / H as f32 - 0.5) * light_dir.sin()) * 2.0;
            v *= 1.0 + light_strength * ramp * 0.5;
            frame.put_pixel(x, y, Luma([v.clamp(0.0, 255.0) as u8]));
        }
    }
    let sigma = rng.range(0.0, d.max_blur_sigma);
    if sigma > 0.3 {
        frame = image::imageops::blur(&frame, sigma);
    }
    let noise = rng.range(0.0, d.max_noise);
    for p in frame.pixels_mut() {
        let r = (rng.range(-1.0, 1.0) + rng.range(-1.0, 1.0)) * noise;
        p.0[0] = (p.0[0] as f32 + r).clamp(0.0, 255.0) as u8;
    }
    let quality = rng.range(d.jpeg_quality.0 as f32, d.jpeg_quality.1 as f32) as u8;
    Ok(jpeg_round_trip(&frame, quality).unwrap_or(frame))
}

pub(crate) fn jpeg_round_trip(frame: &GrayImage, quality: u8) -> Option<GrayImage> {
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    frame.write_with_encoder(enc).ok()?;
    Some(image::load_from_memory(&bytes).ok()?.to_luma8())
}

pub(crate) fn bilinear(img: &GrayImage, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |dx, dy| img.get_pixel(x0 + dx, y0 + dy).0[0] as f32;
    (p(0, 0) * (1.0 - fx) + p(1, 0) * fx) * (1.0 - fy) + (p(0, 1) * (1.0 - fx) + p(1, 1) * fx) * fy
}

pub(crate) fn project(h: &[f32; 9], x: f32, y: f32) -> (f32, f32) {
    let w = h[6] * x + h[7] * y + h[8];
    ((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w)
}

/// The homography mapping four `from` points onto four `to` points (direct linear solve).
#[allow(clippy::needless_range_loop)] // index form mirrors the textbook elimination
pub(crate) fn homography(from: &[(f32, f32)], to: &[(f32, f32)]) -> [f32; 9] {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (from[i].0 as f64, from[i].1 as f64);
        let (u, v) = (to[i].0 as f64, to[i].1 as f64);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    // Gaussian elimination with partial pivoting on the 8×8 system.
    for col in 0..8 {
        let pivot = (col..8)
            .max_by(|&r1, &r2| a[r1][col].abs().total_cmp(&a[r2][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let p = a[col][col];
        if p.abs() < 1e-12 {
            continue;
        }
        for k in col..9 {
            a[col][k] /= p;
        }
        for r in 0..8 {
            if r != col {
                let f = a[r][col];
                for k in col..9 {
                    a[r][k] -= f * a[col][k];
                }
            }
        }
    }
    let mut h = [0f32; 9];
    for i in 0..8 {
        h[i] = a[i][8] as f32;
    }
    h[8] = 1.0;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_corners() {
        let from = [(10.0, 10.0), (200.0, 30.0), (210.0, 220.0), (5.0, 190.0)];
        let to = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)];
        let h = homography(&from, &to);
        for (f, t) in from.iter().zip(to.iter()) {
            let (u, v) = project(&h, f.0, f.1);
            assert!((u - t.0).abs() < 0.01 && (v - t.1).abs() < 0.01, "{u},{v} vs {t:?}");
        }
    }

    #[test]
    fn frames_are_deterministic_per_seed() {
        let d = Difficulty::default();
        let a = camera_frame("HELLO", &mut Rng::new(5), &d).unwrap();
        let b = camera_frame("HELLO", &mut Rng::new(5), &d).unwrap();
        assert_eq!((a.width(), a.height()), (1280, 720));
        assert_eq!(a, b);
    }
}
