//! Verdict tones and the WAV plumbing the voice shares: a rising two-tone chime for admit, a
//! low double buzz for refuse, so staff hear a refusal even when they are not looking (people
//! pretend to scan) and a visitor understands it in any language.
//!
//! Audio goes to ALSA's `aplay` on its standard input, cut short when a newer verdict comes;
//! a kiosk without a sound device or without alsa-utils stays silent and says so once on
//! stderr (`voice.rs` owns the thread that plays).

/// Mono 16-bit PCM: what the tones are made of and what espeak-ng gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub rate: u32,
    pub samples: Vec<i16>,
}

impl Pcm {
    /// A sequence of (frequency, seconds) sine tones; frequency 0 is a pause.
    pub fn tones(tones: &[(f32, f32)]) -> Pcm {
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
        Pcm { rate: RATE, samples }
    }

    /// Reads a mono 16-bit PCM WAV. The data chunk may claim more bytes than there are:
    /// espeak-ng writing to a pipe cannot seek back, so it leaves a "streaming" length.
    pub fn from_wav(bytes: &[u8]) -> Option<Pcm> {
        if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return None;
        }
        let (mut at, mut rate, mut format_ok) = (12usize, None, false);
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
            let body = &bytes[at + 8..(at + 8).saturating_add(len).min(bytes.len())];
            if id == b"fmt " && body.len() >= 16 {
                let word = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                format_ok = word(0) == 1 && word(2) == 1 && word(14) == 16;
                rate = Some(u32::from_le_bytes(body[4..8].try_into().ok()?));
            } else if id == b"data" {
                let samples = body.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
                return match (format_ok, rate) {
                    (true, Some(rate)) if rate > 0 => Some(Pcm { rate, samples }),
                    _ => None,
                };
            }
            at = at.saturating_add(8).saturating_add(len).saturating_add(len % 2);
        }
        None
    }

    /// The same sound at `volume` percent (0–100) of its level.
    pub fn at_volume(&self, volume: u8) -> Pcm {
        let gain = f32::from(volume.min(100)) / 100.0;
        Pcm {
            rate: self.rate,
            samples: self
                .samples
                .iter()
                .map(|&s| (f32::from(s) * gain).round() as i16)
                .collect(),
        }
    }

    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / self.rate as f32
    }

    /// The loudest sample's magnitude.
    pub fn peak(&self) -> u16 {
        self.samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0)
    }

    /// A canonical WAV file (true lengths in the header).
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + data_len as usize);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&self.rate.to_le_bytes());
        out.extend_from_slice(&self.rate.saturating_mul(2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }
}

/// The two tones: (admit, refuse).
pub fn tones() -> (Pcm, Pcm) {
    (
        Pcm::tones(&[(660.0, 0.15), (880.0, 0.25)]),
        Pcm::tones(&[(220.0, 0.25), (0.0, 0.08), (220.0, 0.25)]),
    )
}

/// How a clip ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Played {
    Done,
    /// No `aplay`, no sound device, or a device that never took the clip.
    Failed,
    /// `stop` asked for it: a newer verdict is waiting.
    Interrupted,
}

/// Plays one WAV through `aplay -q -`, asking `stop` every 50 ms (it may wait that long)
/// whether to cut it short; a clip still playing 5 s after its length is killed (a device that
/// never opens must not hold the audio thread). No files are written anywhere: a kiosk that
/// runs for months must not leave a folder in /tmp per start, nor depend on a writable /tmp.
pub fn aplay_until(pcm_wav: &[u8], seconds: f32, stop: &mut dyn FnMut(std::time::Duration) -> bool) -> Played {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let Ok(mut child) = Command::new("aplay")
        .args(["-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Played::Failed;
    };
    // aplay reads at the speed it plays: the writing waits as long as the clip, so not here.
    let writer = child.stdin.take().map(|mut stdin| {
        let wav = pcm_wav.to_vec();
        std::thread::spawn(move || stdin.write_all(&wav).is_ok())
    });
    let deadline = Instant::now() + Duration::from_secs_f32(seconds.max(0.0) + 5.0);
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break Played::Done,
            Ok(Some(_)) | Err(_) => break Played::Failed,
            Ok(None) if Instant::now() > deadline => break Played::Failed,
            Ok(None) if stop(Duration::from_millis(50)) => break Played::Interrupted,
            Ok(None) => {}
        }
    };
    if ended != Played::Done {
        let _ = child.kill();
        let _ = child.wait();
    }
    let wrote = writer.is_some_and(|w| w.join().unwrap_or(false));
    match ended {
        Played::Done if !wrote => Played::Failed,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::Pcm;

    #[test]
    fn tones_are_distinct_and_survive_a_wav_round_trip() {
        let (a, r) = super::tones();
        assert_ne!(a, r);
        assert!(a.seconds() > 0.3 && r.seconds() > 0.5);
        for pcm in [&a, &r] {
            let wav = pcm.to_wav();
            assert_eq!(&wav[..4], b"RIFF");
            assert_eq!(Pcm::from_wav(&wav).as_ref(), Some(pcm));
        }
    }

    #[test]
    fn a_streaming_length_is_read_as_far_as_the_bytes_go_and_volume_scales() {
        let pcm = Pcm::tones(&[(440.0, 0.1)]);
        let mut wav = pcm.to_wav();
        // What espeak-ng writes to a pipe: lengths it could not know.
        wav[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        wav[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        assert_eq!(Pcm::from_wav(&wav), Some(pcm.clone()));
        assert_eq!(Pcm::from_wav(b"RIFF\0\0\0\0WAVEdata"), None);
        assert_eq!(Pcm::from_wav(b"not a wav at all"), None);
        let half = pcm.at_volume(50);
        assert!((f32::from(half.peak()) / f32::from(pcm.peak()) - 0.5).abs() < 0.01);
        assert_eq!(pcm.at_volume(0).peak(), 0);
    }
}
