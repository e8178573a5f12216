//! The harder, varied frames: a code held up to the entrance camera for a few frames, in one of
//! the situations that make real codes hard to read (defocus, a moving hand, glare, a steep
//! angle, dusk, a phone screen's moiré, a visitor standing back, a bent card, dark mode).
//!
//! A [`Presentation`] is one visitor's code over successive frames: the pose drifts a little
//! from frame to frame, focus and motion blur change, sensor noise and JPEG artefacts are fresh
//! each time. That is what a temporal decoder gets from a camera and a still image cannot give.
//! Seeded through [`Rng`], so a benchmark can be repeated exactly; the decoder benchmark tunes
//! on one seed and reports a second, held out, so a rate tuned to these frames is visible.

use image::{GrayImage, Luma};

use super::{Rng, bilinear, homography, jpeg_round_trip, project};
use crate::render::{RenderError, qr_image};

const W: u32 = 1280;
const H: u32 = 720;

/// What makes a presentation hard; each one stresses a different part of a decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// A printed card held steady: the easy case, for reference.
    Paper,
    /// The webcam focused on the background (autofocus hunting).
    Defocus,
    /// The hand still moving: a streak along the motion, settling over the frames.
    MotionBlur,
    /// A specular highlight washing out part of a laminated card or a phone screen.
    Glare,
    /// Held flat or tilted away: strong perspective and rotation.
    SteepAngle,
    /// Dusk at a park gate: a dark, noisy frame, compressed hard.
    LowLight,
    /// A phone screen: a dark bezel, an emissive code, moiré bands from the pixel grid.
    PhoneScreen,
    /// A visitor standing back: a small code, two to three pixels per module.
    Distant,
    /// A card bent around a hand: columns foreshortened toward the edges, rows bowed.
    CurvedPaper,
    /// A phone in dark mode: light modules on a dark screen.
    Inverted,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Scenario::Paper,
        Scenario::Defocus,
        Scenario::MotionBlur,
        Scenario::Glare,
        Scenario::SteepAngle,
        Scenario::LowLight,
        Scenario::PhoneScreen,
        Scenario::Distant,
        Scenario::CurvedPaper,
        Scenario::Inverted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Paper => "paper",
            Scenario::Defocus => "defocus",
            Scenario::MotionBlur => "motion blur",
            Scenario::Glare => "glare",
            Scenario::SteepAngle => "steep angle",
            Scenario::LowLight => "low light",
            Scenario::PhoneScreen => "phone screen",
            Scenario::Distant => "distant",
            Scenario::CurvedPaper => "curved paper",
            Scenario::Inverted => "inverted",
        }
    }

    fn on_screen(self) -> bool {
        matches!(self, Scenario::PhoneScreen | Scenario::Inverted)
    }
}

/// Where the code is in a frame: centre, size of its square side (quiet zone included),
/// rotation, and how much each corner is pulled in (perspective).
#[derive(Debug, Clone, Copy)]
struct Pose {
    cx: f32,
    cy: f32,
    size: f32,
    angle: f32,
    squeeze: [f32; 4],
}

/// The scene around the code, fixed for a presentation.
#[derive(Debug, Clone)]
struct Backdrop {
    base: f32,
    /// Boxes of clothing and bags: x, y, w, h, shade, stripe period (0: plain).
    boxes: Vec<[f32; 6]>,
    light_dir: f32,
    light_strength: f32,
    /// Overall exposure: 1 in daylight, a fraction at dusk.
    gain: f32,
}

impl Backdrop {
    fn new(rng: &mut Rng, gain: f32) -> Self {
        let boxes = (0..7)
            .map(|_| {
                let striped = rng.range(0.0, 1.0) < 0.35;
                [
                    rng.range(0.0, W as f32),
                    rng.range(0.0, H as f32),
                    rng.range(40.0, 320.0),
                    rng.range(40.0, 320.0),
                    rng.range(20.0, 230.0),
                    if striped { rng.range(5.0, 14.0) } else { 0.0 },
                ]
            })
            .collect();
        Backdrop {
            base: rng.range(90.0, 170.0),
            boxes,
            light_dir: rng.range(0.0, std::f32::consts::TAU),
            light_strength: rng.range(0.15, 0.5),
            gain,
        }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let mut v = self.base;
        for b in &self.boxes {
            if x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3] {
                v = if b[5] > 0.0 && (((y - b[1]) / b[5]) as u32).is_multiple_of(2) {
                    (b[4] + 90.0).min(250.0) // a striped shirt: a field of sharp edges
                } else {
                    b[4]
                };
            }
        }
        v
    }

    /// Light falling unevenly across the frame, times the exposure.
    fn light(&self, x: f32, y: f32) -> f32 {
        let ramp = ((x / W as f32 - 0.5) * self.light_dir.cos() + (y / H as f32 - 0.5) * self.light_dir.sin()) * 2.0;
        (1.0 + self.light_strength * ramp * 0.5) * self.gain
    }
}

/// How the code's surface looks, fixed for a presentation.
#[derive(Debug, Clone, Copy)]
struct Surface {
    /// Grey levels of a dark and a light module before lighting.
    dark: f32,
    light: f32,
    /// Width of the card's margin or the phone's body around the code, in code pixels.
    border: f32,
    /// The card's margin colour, or the phone's body.
    border_level: f32,
    /// Moiré on a screen: period in frame pixels, direction, amplitude (fraction).
    moire: Option<(f32, f32, f32)>,
    /// Glare: centre relative to the code's centre (in code sides), radius (code sides), peak.
    glare: Option<(f32, f32, f32, f32)>,
    /// Bend of a curved card: the arc it spans, in radians (0: flat).
    bend: f32,
}

/// One visitor's code over successive frames.
pub struct Presentation {
    pub text: String,
    pub scenario: Scenario,
    code: GrayImage,
    backdrop: Backdrop,
    surface: Surface,
    pose: Pose,
    /// Pixels and radians per frame the hand drifts by.
    velocity: (f32, f32, f32),
    frames: u32,
}

impl Presentation {
    pub fn new(text: &str, scenario: Scenario, rng: &mut Rng) -> Result<Self, RenderError> {
        let code = qr_image(text, 4)?;
        let modules = code.width() as f32 / 4.0;
        let gain = if scenario == Scenario::LowLight {
            rng.range(0.18, 0.4)
        } else {
            rng.range(0.85, 1.1)
        };
        let backdrop = Backdrop::new(rng, gain);
        let size = match scenario {
            Scenario::Distant => modules * rng.range(1.9, 3.0),
            Scenario::PhoneScreen | Scenario::Inverted => rng.range(170.0, 380.0),
            _ => rng.range(190.0, 460.0),
        };
        let (max_angle, max_squeeze) = if scenario == Scenario::SteepAngle {
            (60f32, 0.5)
        } else {
            (30.0, 0.2)
        };
        let min_squeeze = if scenario == Scenario::SteepAngle { 0.2 } else { 0.0 };
        let mut squeeze = [0.0; 4];
        for s in squeeze.iter_mut() {
            *s = rng.range(0.0, max_squeeze);
        }
        // A steep angle pulls one side in hard, not every corner a little.
        let side = (rng.next_u64() % 4) as usize;
        squeeze[side] = squeeze[side].max(min_squeeze + rng.range(0.0, 0.2));
        squeeze[(side + 1) % 4] = squeeze[(side + 1) % 4].max(min_squeeze);
        let margin = size * 0.75;
        let pose = Pose {
            cx: rng
                .range(margin, W as f32 - margin)
                .clamp(size * 0.6, W as f32 - size * 0.6),
            cy: rng.range(margin.min(H as f32 / 2.0), (H as f32 - margin).max(H as f32 / 2.0)),
            size,
            angle: rng.range(-max_angle, max_angle).to_radians(),
            squeeze,
        };
        let n = code.width() as f32;
        let on_screen = scenario.on_screen();
        let (dark, light) = if on_screen {
            (rng.range(8.0, 40.0), rng.range(170.0, 250.0))
        } else {
            (rng.range(10.0, 45.0), rng.range(185.0, 235.0))
        };
        let (dark, light) = if scenario == Scenario::Inverted {
            (light, dark)
        } else {
            (dark, light)
        };
        let surface = Surface {
            dark,
            light,
            border: if on_screen {
                n * rng.range(0.08, 0.3)
            } else {
                n * rng.range(0.02, 0.15)
            },
            border_level: if on_screen {
                rng.range(10.0, 45.0)
            } else {
                light * rng.range(0.9, 1.0)
            },
            moire: on_screen.then(|| {
                (
                    rng.range(2.5, 7.0),
                    rng.range(0.0, std::f32::consts::PI),
                    rng.range(0.08, 0.28),
                )
            }),
            glare: (scenario == Scenario::Glare).then(|| {
                (
                    rng.range(-0.3, 0.3),
                    rng.range(-0.3, 0.3),
                    rng.range(0.12, 0.35),
                    rng.range(120.0, 260.0),
                )
            }),
            bend: if scenario == Scenario::CurvedPaper {
                rng.range(1.0, 2.0)
            } else {
                0.0
            },
        };
        let velocity = (rng.range(-6.0, 6.0), rng.range(-4.0, 4.0), rng.range(-0.02, 0.02));
        Ok(Presentation {
            text: text.to_string(),
            scenario,
            code,
            backdrop,
            surface,
            pose,
            velocity,
            frames: 0,
        })
    }

    /// The next camera frame: the hand has drifted, focus and noise are new.
    pub fn next_frame(&mut self, rng: &mut Rng) -> GrayImage {
        let i = self.frames;
        self.frames += 1;
        if i > 0 {
            let p = &mut self.pose;
            p.cx = (p.cx + self.velocity.0 + rng.range(-2.0, 2.0)).clamp(p.size * 0.5, W as f32 - p.size * 0.5);
            p.cy = (p.cy + self.velocity.1 + rng.range(-2.0, 2.0)).clamp(p.size * 0.5, H as f32 - p.size * 0.5);
            p.angle += self.velocity.2 + rng.range(-0.01, 0.01);
            // Drifting closer, but never past filling the frame's height (the clamps above need
            // room on both sides, and a long sequence compounds the drift).
            p.size = (p.size * (1.0 + rng.range(-0.02, 0.03))).min(H as f32 * 0.8);
        }
        let blur = match self.scenario {
            // The hand arrives fast and settles: the streak shortens frame by frame.
            Scenario::MotionBlur => Blur::Motion(rng.range(5.0, 16.0) * 0.8f32.powi(i as i32), rng.range(0.0, 6.3)),
            Scenario::Defocus => Blur::Defocus(rng.range(1.5, 4.5)),
            _ => Blur::Defocus(rng.range(0.0, 1.3)),
        };
        let noise = if self.scenario == Scenario::LowLight {
            rng.range(8.0, 20.0)
        } else {
            rng.range(1.5, 8.0)
        };
        let quality = if self.scenario == Scenario::LowLight {
            rng.range(30.0, 60.0)
        } else {
            rng.range(40.0, 90.0)
        } as u8;
        let mut frame = self.render(Some(self.pose));
        if let Some(area) = self.area(blur.reach()) {
            blur.apply(&mut frame, area);
        }
        finish(frame, noise, quality, rng)
    }

    /// The same scene with the code gone: the visitor has stepped away.
    pub fn empty_frame(&self, rng: &mut Rng) -> GrayImage {
        let noise = if self.scenario == Scenario::LowLight { 12.0 } else { 4.0 };
        finish(self.render(None), noise, 70, rng)
    }

    /// Where the corners of the code's border lie in the frame.
    fn corners(&self, p: &Pose) -> [(f32, f32); 4] {
        let n = self.code.width() as f32;
        let half = p.size / 2.0 * (1.0 + 2.0 * self.surface.border / n);
        let mut corners = [(-half, -half), (half, -half), (half, half), (-half, half)];
        let (sin, cos) = p.angle.sin_cos();
        for (c, q) in corners.iter_mut().zip(p.squeeze) {
            let (x, y) = (c.0 * (1.0 - q), c.1 * (1.0 - q));
            *c = (p.cx + x * cos - y * sin, p.cy + x * sin + y * cos);
        }
        corners
    }

    /// The bounding box of the code and its border, grown by `grow` pixels, within the frame.
    fn area(&self, grow: f32) -> Option<(u32, u32, u32, u32)> {
        let c = self.corners(&self.pose);
        let (lo_x, hi_x) = c
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
        let (lo_y, hi_y) = c
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let x0 = (lo_x - grow).max(0.0) as u32;
        let y0 = (lo_y - grow).max(0.0) as u32;
        let x1 = ((hi_x + grow + 1.0).max(0.0) as u32).min(W);
        let y1 = ((hi_y + grow + 1.0).max(0.0) as u32).min(H);
        (x1 > x0 && y1 > y0).then_some((x0, y0, x1, y1))
    }

    fn render(&self, pose: Option<Pose>) -> GrayImage {
        let n = self.code.width() as f32;
        let s = &self.surface;
        let outer = n + 2.0 * s.border;
        let inverse = pose.map(|p| {
            homography(
                &self.corners(&p),
                &[(0.0, 0.0), (outer, 0.0), (outer, outer), (0.0, outer)],
            )
        });
        let area = pose.and_then(|_| self.area(0.0));
        let mut frame = GrayImage::new(W, H);
        for y in 0..H {
            for x in 0..W {
                let (xf, yf) = (x as f32, y as f32);
                let mut v = self.backdrop.at(xf, yf);
                let inside = area.is_some_and(|(x0, y0, x1, y1)| x >= x0 && x < x1 && y >= y0 && y < y1);
                if let (Some(h), true) = (&inverse, inside) {
                    let (u, w) = project(h, xf, yf);
                    if u >= 0.0 && w >= 0.0 && u < outer && w < outer {
                        v = self.surface_at(u - s.border, w - s.border, n, xf, yf, pose);
                    }
                }
                v *= self.backdrop.light(xf, yf);
                frame.put_pixel(x, y, Luma([v.clamp(0.0, 255.0) as u8]));
            }
        }
        frame
    }

    /// The surface's grey level at code coordinates (u, w) (0..n inside the code).
    fn surface_at(&self, u: f32, w: f32, n: f32, x: f32, y: f32, pose: Option<Pose>) -> f32 {
        let s = &self.surface;
        let (mut u, mut w) = (u, w);
        if s.bend > 0.0 {
            // A cylinder seen from the front: a column at arc angle φ shows at sin(φ), and
            // the edges, further from the camera, look shorter.
            let t = (u / n - 0.5) * 2.0 * (s.bend / 2.0).sin();
            if t.abs() < 1.0 {
                let phi = t.asin();
                u = n * (0.5 + phi / s.bend);
                w = n / 2.0 + (w - n / 2.0) * (1.0 + 0.45 * (1.0 - phi.cos()));
            }
        }
        let mut v = if u >= 0.0 && w >= 0.0 && u < n - 1.0 && w < n - 1.0 {
            let ink = 1.0 - bilinear(&self.code, u, w) / 255.0;
            s.light + (s.dark - s.light) * ink
        } else {
            s.border_level
        };
        if let Some((period, dir, amp)) = s.moire {
            let phase = (x * dir.cos() + y * dir.sin()) / period * std::f32::consts::TAU;
            v *= 1.0 + amp * phase.sin();
        }
        if let (Some((gx, gy, radius, peak)), Some(p)) = (s.glare, pose) {
            let (dx, dy) = (x - (p.cx + gx * p.size), y - (p.cy + gy * p.size));
            let r = radius * p.size;
            v += peak * (-(dx * dx + dy * dy) / (2.0 * r * r)).exp();
        }
        v
    }
}

enum Blur {
    /// A disk of this radius: a lens out of focus.
    Defocus(f32),
    /// A streak of this length along this direction (radians).
    Motion(f32, f32),
}

impl Blur {
    fn reach(&self) -> f32 {
        match *self {
            Blur::Defocus(r) => r + 2.0,
            Blur::Motion(len, _) => len / 2.0 + 2.0,
        }
    }

    /// Blurs the area (x0, y0, x1, y1) only: the code and what is around it.
    fn apply(&self, frame: &mut GrayImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) {
        let taps: Vec<(i32, i32)> = match *self {
            Blur::Defocus(r) if r >= 0.5 => {
                let ri = r.ceil() as i32;
                (-ri..=ri)
                    .flat_map(|dy| (-ri..=ri).map(move |dx| (dx, dy)))
                    .filter(|&(dx, dy)| ((dx * dx + dy * dy) as f32) <= r * r)
                    .collect()
            }
            Blur::Motion(len, dir) if len >= 1.0 => {
                let steps = len.round() as i32;
                (0..=steps)
                    .map(|i| {
                        let t = i as f32 - steps as f32 / 2.0;
                        ((t * dir.cos()).round() as i32, (t * dir.sin()).round() as i32)
                    })
                    .collect()
            }
            _ => return,
        };
        let src = frame.clone();
        let (w, h) = (W as i32, H as i32);
        for y in y0..y1 {
            for x in x0..x1 {
                let sum: u32 = taps
                    .iter()
                    .map(|&(dx, dy)| {
                        let (sx, sy) = ((x as i32 + dx).clamp(0, w - 1), (y as i32 + dy).clamp(0, h - 1));
                        src.get_pixel(sx as u32, sy as u32).0[0] as u32
                    })
                    .sum();
                frame.put_pixel(x, y, Luma([(sum / taps.len() as u32) as u8]));
            }
        }
    }
}

/// Sensor noise, then the camera's JPEG compression.
fn finish(mut frame: GrayImage, noise: f32, quality: u8, rng: &mut Rng) -> GrayImage {
    for p in frame.pixels_mut() {
        let r = (rng.range(-1.0, 1.0) + rng.range(-1.0, 1.0) + rng.range(-1.0, 1.0)) * noise * 0.6;
        p.0[0] = (p.0[0] as f32 + r).clamp(0.0, 255.0) as u8;
    }
    jpeg_round_trip(&frame, quality).unwrap_or(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presentations_are_deterministic_and_move() {
        for scenario in Scenario::ALL {
            let mut a = Presentation::new("HELLO", scenario, &mut Rng::new(3)).unwrap();
            let mut b = Presentation::new("HELLO", scenario, &mut Rng::new(3)).unwrap();
            let (mut ra, mut rb) = (Rng::new(4), Rng::new(4));
            let (a0, b0) = (a.next_frame(&mut ra), b.next_frame(&mut rb));
            assert_eq!((a0.width(), a0.height()), (1280, 720));
            assert_eq!(a0, b0, "{}", scenario.name());
            assert_ne!(
                a.next_frame(&mut ra),
                a0,
                "{}: the second frame differs",
                scenario.name()
            );
        }
    }

    #[test]
    fn an_inverted_code_is_light_on_dark() {
        let mut rng = Rng::new(11);
        let p = Presentation::new("HELLO", Scenario::Inverted, &mut rng).unwrap();
        assert!(p.surface.dark > p.surface.light);
        let p = Presentation::new("HELLO", Scenario::Paper, &mut rng).unwrap();
        assert!(p.surface.dark < p.surface.light);
    }

    #[test]
    fn a_distant_code_is_small() {
        let p = Presentation::new("HELLO", Scenario::Distant, &mut Rng::new(2)).unwrap();
        let modules = p.code.width() as f32 / 4.0;
        assert!(p.pose.size <= modules * 3.0, "{} px for {modules} modules", p.pose.size);
    }
}
