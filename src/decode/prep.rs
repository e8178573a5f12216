//! Cheap frame preparations the cascade runs before a backend: shrinking, finding where the
//! code probably is, sharpening. Each is a few milliseconds at most on a 1280×720 frame.

use image::GrayImage;

/// A rectangle of a frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Shrinks by a whole factor, averaging each factor×factor block (cheap, and the averaging
/// suppresses sensor noise rather than aliasing it).
pub fn shrink_box(frame: &GrayImage, factor: u32) -> GrayImage {
    if factor <= 1 {
        return frame.clone();
    }
    let (w, h) = (frame.width() / factor, frame.height() / factor);
    let src = frame.as_raw();
    let stride = frame.width() as usize;
    if factor == 2 {
        // The live path's hot case: two rows at a time, pairs of pixels.
        let mut out = Vec::with_capacity((w * h) as usize);
        for y in 0..h as usize {
            let (top, bottom) = (&src[2 * y * stride..], &src[(2 * y + 1) * stride..]);
            out.extend(
                top.chunks_exact(2)
                    .zip(bottom.chunks_exact(2))
                    .take(w as usize)
                    .map(|(a, b)| ((a[0] as u16 + a[1] as u16 + b[0] as u16 + b[1] as u16) / 4) as u8),
            );
        }
        return GrayImage::from_raw(w, h, out).unwrap_or_else(|| frame.clone());
    }
    let f = factor as usize;
    let area = (f * f) as u32;
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy) * stride + x * f;
                sum += src[row..row + f].iter().map(|&p| p as u32).sum::<u32>();
            }
            out.push((sum / area) as u8);
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| frame.clone())
}

/// Local contrast a pixel step must exceed to count as an edge: well above sensor noise after
/// the 2× averaging, well below the black/white step of a printed or displayed module.
const EDGE_STEP: i16 = 48;

/// The `side`×`side` window (clipped to a frame of `size`) with the most sharp edges: where a
/// QR code, the densest pattern of edges a camera sees at an entrance, most probably is.
/// Counting runs on `half`, the frame shrunk by 2, so it costs well under a millisecond for a
/// 1280×720 frame.
pub fn busiest_window(half: &GrayImage, size: (u32, u32), side: u32) -> Rect {
    let (w, h) = (half.width() as usize, half.height() as usize);
    let full = Rect {
        x: 0,
        y: 0,
        w: size.0,
        h: size.1,
    };
    let s = (side / 2) as usize;
    if w < 2 || h < 2 || s == 0 || (s >= w && s >= h) {
        return full;
    }
    let (sw, sh) = (s.min(w), s.min(h));
    // Summed-area table of edge pixels, one row and column of zeros in front.
    let px = half.as_raw();
    let mut sat = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            let p = px[y * w + x] as i16;
            let right = px[y * w + (x + 1).min(w - 1)] as i16;
            let down = px[(y + 1).min(h - 1) * w + x] as i16;
            row += u32::from((p - right).abs() + (p - down).abs() > EDGE_STEP);
            sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
        }
    }
    let count = |x: usize, y: usize| {
        let at = |xx: usize, yy: usize| sat[yy * (w + 1) + xx];
        at(x + sw, y + sh) + at(x, y) - at(x + sw, y) - at(x, y + sh)
    };
    let step = (s / 16).max(1);
    let mut best = (0u32, 0usize, 0usize);
    for y in (0..=h - sh).step_by(step) {
        for x in (0..=w - sw).step_by(step) {
            let c = count(x, y);
            if c > best.0 {
                best = (c, x, y);
            }
        }
    }
    let (fw, fh) = (side.min(size.0), side.min(size.1));
    Rect {
        x: ((best.1 * 2) as u32).min(size.0 - fw),
        y: ((best.2 * 2) as u32).min(size.1 - fh),
        w: fw,
        h: fh,
    }
}

/// Whether every `tile`×`tile` tile of two same-sized images differs by less than
/// `max_mean` grey levels on average, sampled on every `step`th pixel of every `step`th row.
/// Per tile, so a change in one corner of a still scene counts.
pub fn tiles_alike(a: &GrayImage, b: &GrayImage, tile: u32, step: u32, max_mean: u32) -> bool {
    if a.dimensions() != b.dimensions() {
        return false;
    }
    let (w, h) = a.dimensions();
    let (tile, step) = (tile.max(1), step.max(1) as usize);
    for ty in (0..h).step_by(tile as usize) {
        for tx in (0..w).step_by(tile as usize) {
            let (mut sum, mut n) = (0u32, 0u32);
            for y in (ty..(ty + tile).min(h)).step_by(step) {
                for x in (tx..(tx + tile).min(w)).step_by(step) {
                    sum += a.get_pixel(x, y).0[0].abs_diff(b.get_pixel(x, y).0[0]) as u32;
                    n += 1;
                }
            }
            if sum >= max_mean * n.max(1) {
                return false;
            }
        }
    }
    true
}

pub fn crop(frame: &GrayImage, r: Rect) -> GrayImage {
    image::imageops::crop_imm(frame, r.x, r.y, r.w, r.h).to_image()
}

/// Unsharp mask with a box blur (separable running sums, row by row so memory is read in
/// order): close to a Gaussian unsharp mask for the blur a defocused webcam gives, at a small
/// fraction of its cost.
pub fn sharpen(img: &GrayImage, radius: usize) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 || radius == 0 {
        return img.clone();
    }
    let src = img.as_raw();
    let span = (2 * radius + 1) as u32;
    let r = radius as isize;
    // Horizontal box sums of every row (not yet divided).
    let mut rows = vec![0u32; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let at = |x: isize| row[x.clamp(0, w as isize - 1) as usize] as u32;
        let mut sum: u32 = (-r..=r).map(at).sum();
        let out = &mut rows[y * w..(y + 1) * w];
        for (x, o) in out.iter_mut().enumerate() {
            *o = sum;
            let x = x as isize;
            sum = sum + at(x + r + 1) - at(x - r);
        }
    }
    // Vertical: a running sum of whole rows, then original + (original − blurred).
    let clamp_row = |y: isize| y.clamp(0, h as isize - 1) as usize * w;
    let mut col = vec![0u32; w];
    for dy in -r..=r {
        let base = clamp_row(dy);
        for (c, v) in col.iter_mut().zip(&rows[base..base + w]) {
            *c += v;
        }
    }
    let area = span * span;
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let line = &src[y * w..(y + 1) * w];
        for ((o, &p), &c) in out[y * w..(y + 1) * w].iter_mut().zip(line).zip(&col) {
            let blurred = (c / area) as i32;
            *o = (2 * p as i32 - blurred).clamp(0, 255) as u8;
        }
        let (add, sub) = (clamp_row(y as isize + r + 1), clamp_row(y as isize - r));
        for (x, c) in col.iter_mut().enumerate() {
            *c = *c + rows[add + x] - rows[sub + x];
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| img.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_averages_blocks() {
        let img = GrayImage::from_raw(4, 2, vec![0, 100, 200, 200, 100, 200, 0, 0]).unwrap();
        let half = shrink_box(&img, 2);
        assert_eq!((half.width(), half.height()), (2, 1));
        assert_eq!(half.as_raw(), &vec![100, 100]);
    }

    #[test]
    fn the_busiest_window_is_the_checkerboard() {
        let mut img = GrayImage::from_pixel(1280, 720, image::Luma([120]));
        // A 200×200 checkerboard of 8 px squares at (900, 400).
        for y in 400..600 {
            for x in 900..1100 {
                let v = if ((x / 8) + (y / 8)) % 2 == 0 { 20 } else { 230 };
                img.put_pixel(x, y, image::Luma([v]));
            }
        }
        let r = busiest_window(&shrink_box(&img, 2), img.dimensions(), 320);
        assert_eq!((r.w, r.h), (320, 320));
        assert!(r.x <= 900 && r.x + r.w >= 1100, "{r:?}");
        assert!(r.y <= 400 && r.y + r.h >= 600, "{r:?}");
    }

    #[test]
    fn windows_never_leave_small_frames() {
        let img = GrayImage::new(100, 50);
        let r = busiest_window(&shrink_box(&img, 2), img.dimensions(), 320);
        assert!(r.x + r.w <= 100 && r.y + r.h <= 50, "{r:?}");
    }

    #[test]
    fn sharpening_steepens_a_blurred_edge_and_keeps_flat_areas() {
        let mut img = GrayImage::from_pixel(40, 10, image::Luma([200]));
        for y in 0..10 {
            for x in 0..20 {
                img.put_pixel(x, y, image::Luma([40]));
            }
        }
        let blurred = image::imageops::blur(&img, 1.5);
        let sharp = sharpen(&blurred, 2);
        let step = |i: &GrayImage| i.get_pixel(20, 5).0[0] as i32 - i.get_pixel(19, 5).0[0] as i32;
        assert!(step(&sharp) > step(&blurred), "{} vs {}", step(&sharp), step(&blurred));
        assert_eq!(sharp.get_pixel(2, 5).0[0], blurred.get_pixel(2, 5).0[0]);
    }
}
