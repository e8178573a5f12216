//! The spoken verdict: one prompt per reason in zh-CN and English (the visitor screen's own
//! reason line), synthesized by espeak-ng, played after the verdict's tone on the kiosk's one
//! audio thread so the UI never waits for a speaker.
//!
//! Prompts are rendered at run time, once per reason and language, and kept in memory: the
//! words come from assets/i18n, so a changed sentence is spoken as shown without a rebuild.
//! Without espeak-ng the kiosk still plays its tones and says once why it is not speaking.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::config::SoundConfig;
use crate::i18n::{Lang, Messages};
use crate::policy::VerdictKind;
use crate::sound::{Pcm, aplay, tones};
use crate::workers::Shown;

/// Words per minute: slower than espeak-ng's 175, for visitors who hear less well.
const WORDS_PER_MINUTE: &str = "140";

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error(
        "espeak-ng is not installed, so the kiosk cannot speak its verdicts: install it (`apt-get install espeak-ng`), or set [sound] voice = false in kiosk.toml for tones only"
    )]
    NoSynthesizer,
    #[error("espeak-ng could not speak {lang} ({detail}); check that espeak-ng-data has the `{voice}` voice")]
    Synthesis {
        lang: &'static str,
        voice: &'static str,
        detail: String,
    },
    #[error("cannot write {path}: {source}; check the folder is writable and the disk has space")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The language's tag (folder names, kiosk.toml) and its espeak-ng voice.
pub fn tag(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "zh-CN",
        Lang::En => "en",
    }
}

fn espeak_voice(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "cmn",
        Lang::En => "en",
    }
}

/// The message a verdict speaks: the staff-and-visitor note of an admitted pass when there is
/// one (it says why staff will look), else the reason.
pub fn prompt_key(shown: &Shown) -> String {
    match shown.warning {
        Some(w) => format!("reason-{w}_warn"),
        None => format!("reason-{}", shown.reason),
    }
}

/// Every reason message the kiosk can show: each reason code and each admitted-with-a-note
/// variant (the i18n tests hold both files to the same keys).
pub fn prompt_keys(messages: &Messages) -> Vec<String> {
    messages
        .keys(Lang::En)
        .into_iter()
        .filter(|k| k.starts_with("reason-"))
        .map(str::to_string)
        .collect()
}

/// Renders `text` in `lang` through `espeak-ng --stdout`.
pub fn synthesize(lang: Lang, text: &str) -> Result<Pcm, VoiceError> {
    let voice = espeak_voice(lang);
    let failed = |detail: String| VoiceError::Synthesis {
        lang: tag(lang),
        voice,
        detail,
    };
    let out = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", WORDS_PER_MINUTE, "--stdout", text])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => VoiceError::NoSynthesizer,
            _ => failed(e.to_string()),
        })?;
    if !out.status.success() {
        return Err(failed(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    match Pcm::from_wav(&out.stdout) {
        Some(pcm) if pcm.peak() > 0 => Ok(pcm),
        _ => Err(failed("no audio came out".into())),
    }
}

/// Writes `DIR/<lang>/<reason>.wav` for every prompt in zh-CN and en at `volume`, and the two
/// tones as `DIR/tones/admit.wav` and `DIR/tones/refuse.wav`; returns the files written.
pub fn export(dir: &Path, volume: u8, messages: &Messages) -> Result<usize, VoiceError> {
    let write = |path: PathBuf, pcm: &Pcm| -> Result<(), VoiceError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| VoiceError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, pcm.at_volume(volume).to_wav()).map_err(|source| VoiceError::Write { path, source })
    };
    let mut written = 0;
    for lang in [Lang::ZhCn, Lang::En] {
        for key in prompt_keys(messages) {
            let pcm = synthesize(lang, messages.get(lang, &key))?;
            let name = key.trim_start_matches("reason-");
            write(dir.join(tag(lang)).join(format!("{name}.wav")), &pcm)?;
            written += 1;
        }
    }
    let (admit, refuse) = tones();
    write(dir.join("tones").join("admit.wav"), &admit)?;
    write(dir.join("tones").join("refuse.wav"), &refuse)?;
    Ok(written + 2)
}

/// The kiosk's audio: verdicts go in, the thread plays the tone and then the prompt.
pub struct Speaker {
    verdicts: Option<Sender<Shown>>,
}

impl Speaker {
    /// Starts the audio thread (nothing when the volume is 0).
    pub fn start(config: &SoundConfig, messages: Messages) -> Speaker {
        if config.volume == 0 {
            return Speaker::silent();
        }
        let (tx, rx) = channel();
        let config = config.clone();
        let spawned = std::thread::Builder::new()
            .name("voice".into())
            .spawn(move || speak_verdicts(rx, &config, &messages));
        match spawned {
            Ok(_) => Speaker { verdicts: Some(tx) },
            Err(e) => {
                eprintln!("kiosk: no verdict sounds: cannot start the audio thread: {e}");
                Speaker::silent()
            }
        }
    }

    pub fn silent() -> Speaker {
        Speaker { verdicts: None }
    }

    /// Hands the verdict to the audio thread; never waits.
    pub fn say(&self, shown: Shown) {
        if let Some(tx) = &self.verdicts {
            let _ = tx.send(shown);
        }
    }
}

/// The newest of the verdicts waiting: a visitor must hear their own verdict, not the queue's.
fn newest(first: Shown, rx: &Receiver<Shown>) -> Shown {
    rx.try_iter().last().unwrap_or(first)
}

fn speak_verdicts(rx: Receiver<Shown>, config: &SoundConfig, messages: &Messages) {
    let (admit, refuse) = tones();
    let (admit, refuse) = (
        admit.at_volume(config.volume).to_wav(),
        refuse.at_volume(config.volume).to_wav(),
    );
    let mut prompts: HashMap<(Lang, String), Option<Vec<u8>>> = HashMap::new();
    let (mut told_no_device, mut told_no_voice) = (false, false);
    let mut next = rx.recv().ok();
    while let Some(first) = next.take() {
        let shown = newest(first, &rx);
        let tone = if shown.kind == VerdictKind::Admit {
            &admit
        } else {
            &refuse
        };
        if !aplay(tone) && !std::mem::replace(&mut told_no_device, true) {
            eprintln!("kiosk: cannot play verdict sounds (is alsa-utils installed and a sound device present?)");
        }
        for &lang in &config.voice {
            // A newer verdict cuts the older one's remaining languages short.
            if let Ok(newer) = rx.try_recv() {
                next = Some(newer);
                break;
            }
            let key = prompt_key(&shown);
            let wav = prompts.entry((lang, key.clone())).or_insert_with(|| {
                match synthesize(lang, messages.get(lang, &key)) {
                    Ok(pcm) => Some(pcm.at_volume(config.volume).to_wav()),
                    Err(e) => {
                        if !std::mem::replace(&mut told_no_voice, true) {
                            eprintln!("kiosk: {e}");
                        }
                        None
                    }
                }
            });
            if let Some(wav) = wav {
                aplay(wav);
            }
        }
        if next.is_none() {
            next = rx.recv().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Reason;

    fn shown(kind: VerdictKind, reason: Reason) -> Shown {
        Shown {
            kind,
            reason,
            warning: None,
            direction: None,
            recorded: true,
        }
    }

    #[test]
    fn only_the_newest_waiting_verdict_is_spoken() {
        let (tx, rx) = channel();
        for reason in [Reason::RedCode, Reason::Expired, Reason::Ok] {
            tx.send(shown(VerdictKind::Deny, reason)).unwrap();
        }
        let first = rx.recv().unwrap();
        assert_eq!(newest(first, &rx).reason, Reason::Ok);
        assert_eq!(
            newest(shown(VerdictKind::Admit, Reason::Ok), &rx).reason,
            Reason::Ok,
            "nothing waiting"
        );
    }

    #[test]
    fn every_reason_and_note_has_a_prompt_in_both_languages() {
        let m = Messages::default();
        let keys = prompt_keys(&m);
        for reason in wire::Reason::ALL {
            assert!(keys.contains(&format!("reason-{reason}")), "{reason}");
        }
        let mut warned = shown(VerdictKind::Admit, Reason::Ok);
        warned.warning = Some(Reason::TravelRisk);
        assert!(keys.contains(&prompt_key(&warned)), "{}", prompt_key(&warned));
        for key in &keys {
            assert_ne!(m.get(Lang::ZhCn, key), m.get(Lang::En, key), "{key} is translated");
        }
    }
}
