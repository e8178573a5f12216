//! Verdict sounds: a rising two-tone chime for admit, a low double buzz for refuse, so staff
//! hear a refusal even when they are not looking (people pretend to scan).
//!
//! Played through ALSA's `aplay` in a short-lived thread; a kiosk without a sound device or
//! without alsa-utils stays silent and says so once on stderr.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::policy::VerdictKind;
use crate::workers::Shown;

fn wav(tones: &[(f32, f32)]) -> Vec<u8> {
    const RATE: u32 = 22050;
    let mut samples: Vec<i16> = Vec::new();
    for &(freq, secs) in tones {
        let n = (RATE as f32 * secs) as usize;
        for i in 0..n {
            let t = i as f32 / RATE as f32;
            // Short fade in/out: no clicks.
            let env = (i.min(n - i) as f32 / 400.0).min(1.0);
            let v = if freq > 0.0 {
                (t * freq * std::f32::consts::TAU).sin() * 0.5 * env
            } else {
                0.0
            };
            samples.push((v * i16::MAX as f32) as i16);
        }
    }
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// The two sounds as WAV bytes: (admit, refuse).
pub fn sounds() -> (Vec<u8>, Vec<u8>) {
    (
        wav(&[(660.0, 0.15), (880.0, 0.25)]),
        wav(&[(220.0, 0.25), (0.0, 0.08), (220.0, 0.25)]),
    )
}

static SOUNDS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
static WARNED: AtomicBool = AtomicBool::new(false);

/// Plays the verdict's sound without waiting for it. The WAV goes to `aplay` on its standard
/// input: no files written anywhere (a kiosk that runs for months must not leave a folder in
/// /tmp per start, nor depend on a writable /tmp).
pub fn play(shown: Shown) {
    let admit = shown.kind == VerdictKind::Admit;
    let _ = std::thread::Builder::new().name("sound".into()).spawn(move || {
        let (a, r) = SOUNDS.get_or_init(sounds);
        let wav = if admit { a } else { r };
        if !aplay(wav) && !WARNED.swap(true, Ordering::Relaxed) {
            eprintln!("kiosk: cannot play verdict sounds (is alsa-utils installed and a sound device present?)");
        }
    });
}

/// Feeds one WAV to `aplay -q -`; true when it played.
fn aplay(wav: &[u8]) -> bool {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("aplay")
        .args(["-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let wrote = child.stdin.take().is_some_and(|mut stdin| stdin.write_all(wav).is_ok());
    matches!(child.wait(), Ok(s) if s.success()) && wrote
}

#[cfg(test)]
mod tests {
    #[test]
    fn sounds_are_distinct_valid_wavs() {
        let (a, r) = super::sounds();
        assert_eq!(&a[..4], b"RIFF");
        assert_eq!(&r[8..12], b"WAVE");
        assert_ne!(a, r);
        assert!(a.len() > 10_000 && r.len() > 10_000);
    }
}
