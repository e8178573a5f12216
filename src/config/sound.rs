//! `[sound]`: how loud the verdict tones and the spoken prompts are, and in which languages
//! the kiosk speaks.

use serde::Deserialize;

use super::ConfigError;
use super::sections::Ctx;
use crate::i18n::Lang;

/// The verdict's sound, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundConfig {
    /// 0–100 percent of full level; 0 is silent (no tones, no voice).
    pub volume: u8,
    /// The languages each verdict is spoken in, in order; empty: tones only.
    pub voice: Vec<Lang>,
}

impl Default for SoundConfig {
    fn default() -> Self {
        SoundConfig {
            volume: 80,
            voice: vec![Lang::ZhCn, Lang::En],
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSound {
    volume: Option<u32>,
    voice: Option<bool>,
    voice_languages: Option<Vec<String>>,
}

impl RawSound {
    pub(super) fn build(self, cx: &Ctx) -> Result<SoundConfig, ConfigError> {
        let default = SoundConfig::default();
        let volume = match self.volume {
            None => default.volume,
            Some(v @ 0..=100) => v as u8,
            Some(v) => return Err(cx.invalid("sound", format!("volume = {v}: use 0 (silent) to 100"))),
        };
        let mut voice = Vec::new();
        for tag in self
            .voice_languages
            .unwrap_or_else(|| vec!["zh-CN".into(), "en".into()])
        {
            let Some(lang) = Lang::from_tag(&tag) else {
                return Err(cx.invalid(
                    "sound",
                    format!(
                        "voice_languages: \"{tag}\" is not a language the kiosk speaks; use \"zh-CN\" and/or \"en\""
                    ),
                ));
            };
            if !voice.contains(&lang) {
                voice.push(lang);
            }
        }
        if !self.voice.unwrap_or(true) {
            voice.clear();
        }
        Ok(SoundConfig { volume, voice })
    }
}
