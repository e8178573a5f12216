//! The spoken verdict: one prompt per reason in zh-CN and English (the visitor screen's own
//! reason line), synthesized by espeak-ng, played after the verdict's tone on the kiosk's one
//! audio thread so the UI never waits for a speaker.
//!
//! Prompts are rendered at start, once per reason and language, on a thread of their own (the
//! audio thread only plays, so a slow espeak-ng never delays a tone), and kept in memory: the
//! words are the screen's own (assets/i18n, built in), so what is heard always matches what is
//! shown, and no rendered files need shipping or updating.
//! Without espeak-ng the kiosk still plays its tones and says once why it is not speaking.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};

use crate::config::SoundConfig;
use crate::i18n::{Lang, Messages};
use crate::policy::VerdictKind;
use crate::sound::{Pcm, Played, aplay_until, tones};
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

/// The language's espeak-ng voice.
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

/// How long a prompt that could not be rendered stays silent before it is tried again.
const RETRY_SYNTHESIS: std::time::Duration = std::time::Duration::from_secs(60);

/// How long espeak-ng may take for one sentence before it is killed (it takes ~50 ms).
const SYNTHESIS_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Renders `text` in `lang` through `espeak-ng --stdout`, the text on its standard input (never
/// read as an option), killed if it hangs.
pub fn synthesize(lang: Lang, text: &str) -> Result<Pcm, VoiceError> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let voice = espeak_voice(lang);
    let failed = |detail: String| VoiceError::Synthesis {
        lang: lang.tag(),
        voice,
        detail,
    };
    let mut child = Command::new("espeak-ng")
        .args(["-v", voice, "-s", WORDS_PER_MINUTE, "--stdout", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => VoiceError::NoSynthesizer,
            _ => failed(e.to_string()),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A sentence is far below a pipe's buffer: this never waits for the reader.
        if let Err(e) = stdin.write_all(text.as_bytes()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(e.to_string()));
        }
    }
    // The audio is read on its own thread so a hung espeak-ng can be killed from this one.
    // Each pipe on its own thread: neither can fill while the other is read.
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    let audio_reader = std::thread::spawn(move || {
        let mut audio = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut audio);
        }
        audio
    });
    let error_reader = std::thread::spawn(move || {
        let mut errors = String::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_string(&mut errors);
        }
        errors
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > SYNTHESIS_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(failed(format!("no answer within {} s", SYNTHESIS_LIMIT.as_secs())));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => break Err(failed(e.to_string())),
        }
    };
    let audio = audio_reader
        .join()
        .map_err(|_| failed("its output could not be read".into()))?;
    let errors = error_reader.join().unwrap_or_default();
    let status = status?;
    if !status.success() {
        return Err(failed(format!("{status}: {}", errors.trim())));
    }
    match Pcm::from_wav(&audio) {
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
            write(dir.join(lang.tag()).join(format!("{name}.wav")), &pcm)?;
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
        let prompts = Prompts::default();
        if !config.voice.is_empty() {
            let (config, prompts) = (config.clone(), prompts.clone());
            let rendering = std::thread::Builder::new()
                .name("voice-render".into())
                .spawn(move || render_prompts(&config, &messages, &prompts));
            if let Err(e) = rendering {
                eprintln!("kiosk: no spoken verdicts: cannot start the thread that renders them: {e}");
            }
        }
        let config = config.clone();
        let spawned = std::thread::Builder::new()
            .name("voice".into())
            .spawn(move || speak_verdicts(rx, &config, &prompts));
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

/// The audio thread's view of the verdicts: playing stops as soon as a newer one arrives (or
/// the app has gone).
struct Inbox<'a> {
    rx: &'a Receiver<Shown>,
    newer: Option<Shown>,
    closed: bool,
}

impl Inbox<'_> {
    /// Waits up to `d` for a newer verdict; true when playing should stop.
    fn interrupted(&mut self, d: std::time::Duration) -> bool {
        if self.newer.is_some() || self.closed {
            return true;
        }
        match self.rx.recv_timeout(d) {
            Ok(shown) => {
                self.newer = Some(newest(shown, self.rx));
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                true
            }
        }
    }
}

/// A rendered prompt: WAV bytes and seconds.
type Clip = (Vec<u8>, f32);

/// Every prompt rendered so far, by language and message key. Rendering happens on its own
/// thread, ahead of time: the audio thread only plays, so a slow or hung espeak-ng never
/// delays the tone a visitor's verdict needs.
type Prompts = std::sync::Arc<std::sync::Mutex<HashMap<(Lang, String), Clip>>>;

/// Renders every prompt in every configured language once at start; what failed is tried again
/// after `RETRY_SYNTHESIS` until all are there.
fn render_prompts(config: &SoundConfig, messages: &Messages, prompts: &Prompts) {
    let mut told = false;
    loop {
        let mut missing = 0;
        for &lang in &config.voice {
            for key in prompt_keys(messages) {
                let slot = (lang, key);
                if prompts.lock().map(|p| p.contains_key(&slot)).unwrap_or(true) {
                    continue;
                }
                match synthesize(lang, messages.get(lang, &slot.1)) {
                    Ok(pcm) => {
                        let pcm = pcm.at_volume(config.volume);
                        if let Ok(mut p) = prompts.lock() {
                            p.insert(slot, (pcm.to_wav(), pcm.seconds()));
                        }
                    }
                    Err(e) => {
                        missing += 1;
                        if !std::mem::replace(&mut told, true) {
                            eprintln!("kiosk: {e}");
                        }
                    }
                }
            }
        }
        if missing == 0 {
            return;
        }
        std::thread::sleep(RETRY_SYNTHESIS);
    }
}

fn speak_verdicts(rx: Receiver<Shown>, config: &SoundConfig, prompts: &Prompts) {
    let (admit, refuse) = tones();
    let (admit, refuse) = (admit.at_volume(config.volume), refuse.at_volume(config.volume));
    let (admit, refuse) = ((admit.to_wav(), admit.seconds()), (refuse.to_wav(), refuse.seconds()));
    let mut told_no_device = false;
    let mut inbox = Inbox {
        rx: &rx,
        newer: rx.recv().ok(),
        closed: false,
    };
    while let Some(first) = inbox.newer.take() {
        let shown = newest(first, &rx);
        let (tone, secs) = if shown.kind == VerdictKind::Admit {
            &admit
        } else {
            &refuse
        };
        match aplay_until(tone, *secs, &mut |d| inbox.interrupted(d)) {
            Played::Done => {}
            Played::Interrupted => continue,
            Played::Failed => {
                if !std::mem::replace(&mut told_no_device, true) {
                    eprintln!(
                        "kiosk: cannot play verdict sounds (is alsa-utils installed and a sound device present?)"
                    );
                }
            }
        }
        let key = prompt_key(&shown);
        for &lang in &config.voice {
            if inbox.interrupted(std::time::Duration::ZERO) {
                break;
            }
            // Not rendered yet (the first seconds after start) or not renderable: tone only.
            let clip = prompts.lock().ok().and_then(|p| p.get(&(lang, key.clone())).cloned());
            if let Some((wav, secs)) = clip
                && aplay_until(&wav, secs, &mut |d| inbox.interrupted(d)) == Played::Interrupted
            {
                break;
            }
        }
        if inbox.newer.is_none() && !inbox.closed {
            inbox.newer = rx.recv().ok();
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
    fn playing_stops_for_a_newer_verdict_and_keeps_only_the_newest() {
        let (tx, rx) = channel();
        let mut inbox = Inbox {
            rx: &rx,
            newer: None,
            closed: false,
        };
        let short = std::time::Duration::from_millis(5);
        assert!(!inbox.interrupted(short), "nothing new: keep playing");
        tx.send(shown(VerdictKind::Deny, Reason::RedCode)).unwrap();
        tx.send(shown(VerdictKind::Admit, Reason::Ok)).unwrap();
        assert!(inbox.interrupted(short));
        assert_eq!(inbox.newer.map(|s| s.reason), Some(Reason::Ok), "the newest of the two");
        assert!(inbox.interrupted(short), "still pending until taken");
        inbox.newer = None;
        drop(tx);
        assert!(inbox.interrupted(short) && inbox.closed, "the app has gone: stop");
    }

    #[test]
    fn every_prompt_is_rendered_ahead_for_the_configured_language_only() {
        // Through the real espeak-ng (scripts/lib.sh installs it); render_prompts would wait a
        // minute and retry without it, so say so at once instead.
        synthesize(Lang::En, "ok").expect("espeak-ng is needed for this test: apt-get install espeak-ng");
        let config = SoundConfig {
            volume: 50,
            voice: vec![Lang::En],
        };
        let m = Messages::default();
        let prompts = Prompts::default();
        render_prompts(&config, &m, &prompts);
        let rendered = prompts.lock().unwrap();
        let keys = prompt_keys(&m);
        assert_eq!(rendered.len(), keys.len());
        for key in &keys {
            let (wav, secs) = &rendered[&(Lang::En, key.clone())];
            assert!(*secs > 0.5, "{key}: {secs} s");
            assert_eq!(Pcm::from_wav(wav).map(|p| p.seconds()), Some(*secs));
        }
        assert!(
            !rendered.keys().any(|(lang, _)| *lang == Lang::ZhCn),
            "zh-CN was not asked for"
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
