//! The venue check-in kiosk: pass decoding, verification, policy, the passage log and the UI.

pub mod app;
pub mod check;
pub mod clock;
pub mod commands;
pub mod config;
pub mod decode;
pub mod demo;
pub mod framegen;
pub mod frames;
pub mod gate;
pub mod i18n;
pub mod memory;
pub mod pass;
pub mod policy;
pub mod render;
pub mod sound;
pub mod store;
pub mod sync;
pub mod usb;
pub mod venue;
pub mod voice;
pub mod watchdog;
pub mod workers;
