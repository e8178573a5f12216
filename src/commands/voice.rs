//! `kiosk voice export DIR`: every spoken prompt and both tones as WAV files, for staff to
//! listen to (and to check a new translation) without standing at the gate.

use std::path::Path;

use super::CommandError;
use crate::config::Config;

pub fn export(config: Option<&Path>, dir: &Path) -> Result<(), CommandError> {
    let config = Config::discover(config)?;
    let written = crate::voice::export(dir, config.sound.volume, &crate::i18n::Messages::default())?;
    println!("wrote {written} files under {}", dir.display());
    Ok(())
}
