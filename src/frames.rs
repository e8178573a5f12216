//! Where frames come from: the camera (nokhwa/V4L2), a replayed folder, or the demo playlist.
//!
//! Every source sits behind [`FrameSource`], so the scanner and the tests never care which.
//! Sources pace themselves like a camera (they block until the next frame is due).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::GrayImage;

use crate::config::CameraConfig;

/// Why no frame came.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("no camera: {0}. Check the USB cable and [camera] device in kiosk.toml; retrying")]
    NoCamera(String),
    #[error("the camera stopped sending pictures ({0}); retrying")]
    Lost(String),
    #[error("no images to replay in {0}")]
    Empty(String),
}

/// Not `Send`: a camera handle must stay on the thread that opened it, so sources are built
/// inside the camera thread (see `workers::spawn_camera`).
pub trait FrameSource {
    /// Blocks until the next frame is due, then returns it.
    fn next_frame(&mut self) -> Result<GrayImage, FrameError>;
    fn describe(&self) -> String;
}

/// A V4L2 (Linux) / native camera through nokhwa. Opened lazily and reopened after errors, so
/// a camera plugged in (or back in) mid-day starts working without a restart.
pub struct CameraSource {
    config: CameraConfig,
    camera: Option<nokhwa::Camera>,
}

impl CameraSource {
    pub fn new(config: CameraConfig) -> Self {
        CameraSource { config, camera: None }
    }

    fn open(&mut self) -> Result<&mut nokhwa::Camera, FrameError> {
        use nokhwa::pixel_format::LumaFormat;
        use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};
        if self.camera.is_none() {
            let c = &self.config;
            let wanted = CameraFormat::new(Resolution::new(c.width, c.height), FrameFormat::MJPEG, c.fps);
            let format = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
            let mut cam = nokhwa::Camera::new(CameraIndex::Index(c.device), format)
                .map_err(|e| FrameError::NoCamera(e.to_string()))?;
            cam.open_stream().map_err(|e| FrameError::NoCamera(e.to_string()))?;
            self.camera = Some(cam);
        }
        self.camera
            .as_mut()
            .ok_or_else(|| FrameError::NoCamera("not open".into()))
    }
}

impl FrameSource for CameraSource {
    fn next_frame(&mut self) -> Result<GrayImage, FrameError> {
        use nokhwa::pixel_format::LumaFormat;
        let cam = self.open()?;
        let result = cam.frame().and_then(|buf| buf.decode_image::<LumaFormat>());
        match result {
            Ok(img) => Ok(img),
            Err(e) => {
                // Drop the handle: the next call reopens the device (it may have been replugged).
                self.camera = None;
                Err(FrameError::Lost(e.to_string()))
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "camera {} ({}x{} @ {} fps)",
            self.config.device, self.config.width, self.config.height, self.config.fps
        )
    }
}

/// Makes the replay's image `i` (of `count`) when its turn comes.
pub type MakeImage = Box<dyn FnMut(usize) -> Option<GrayImage> + Send>;

/// Shows each image for `hold`, then an empty frame for `gap`, like visitors stepping up one
/// after another; loops forever. Only the image on show is held: a demo playlist or a folder
/// of frames is not kept decoded in memory (eight 720p frames are 7 MB of the kiosk's budget).
pub struct ReplaySource {
    make: MakeImage,
    count: usize,
    current: Option<GrayImage>,
    label: String,
    hold: Duration,
    gap: Duration,
    interval: Duration,
    index: usize,
    shown_since: Option<Instant>,
    next_due: Instant,
}

impl ReplaySource {
    /// Replays images already in memory.
    pub fn new(frames: Vec<GrayImage>, label: String, hold: Duration, gap: Duration) -> Self {
        let count = frames.len();
        Self::made(count, Box::new(move |i| frames.get(i).cloned()), label, hold, gap)
    }

    /// Replays `count` images made (or loaded) by `make` when each is due.
    pub fn made(count: usize, make: MakeImage, label: String, hold: Duration, gap: Duration) -> Self {
        ReplaySource {
            make,
            count,
            current: None,
            label,
            hold,
            gap,
            interval: Duration::from_millis(100),
            index: 0,
            shown_since: None,
            next_due: Instant::now(),
        }
    }

    /// An image file, or every image in a folder (sorted by name), each read from disk when
    /// its turn comes. The files are checked once here, so a folder with nothing readable is an
    /// error at start and not a blank camera.
    pub fn from_path(path: &Path, hold: Duration, gap: Duration) -> Result<Self, FrameError> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| FrameError::Empty(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref(),
                        Some("png" | "jpg" | "jpeg" | "webp")
                    )
                })
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        let files: Vec<PathBuf> = files
            .into_iter()
            .filter(|f| crate::decode::load_frame(f).is_ok())
            .collect();
        if files.is_empty() {
            return Err(FrameError::Empty(path.display().to_string()));
        }
        let count = files.len();
        let make: MakeImage = Box::new(move |i| files.get(i).and_then(|f| crate::decode::load_frame(f).ok()));
        Ok(Self::made(count, make, path.display().to_string(), hold, gap))
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self) -> Result<GrayImage, FrameError> {
        let now = Instant::now();
        if self.next_due > now {
            std::thread::sleep(self.next_due - now);
        }
        self.next_due = Instant::now() + self.interval;
        if self.current.is_none() {
            // A file gone since start, or a frame the generator could not make: the next one.
            self.current = (0..self.count).find_map(|_| {
                let image = (self.make)(self.index);
                if image.is_none() {
                    self.index = (self.index + 1) % self.count.max(1);
                }
                image
            });
            self.shown_since = None;
        }
        let Some(current) = &self.current else {
            return Err(FrameError::Empty(self.label.clone()));
        };
        let since = *self.shown_since.get_or_insert_with(Instant::now);
        let elapsed = since.elapsed();
        if elapsed < self.hold {
            return Ok(current.clone());
        }
        // Between visitors: an empty grey scene of the same size.
        let empty = GrayImage::from_pixel(current.width(), current.height(), image::Luma([128]));
        if elapsed >= self.hold + self.gap {
            self.index = (self.index + 1) % self.count.max(1);
            self.current = None;
        }
        Ok(empty)
    }

    fn describe(&self) -> String {
        format!("replay of {} ({} images)", self.label, self.count)
    }
}
