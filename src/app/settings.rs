//! The operator's view of how this kiosk is set up: what `kiosk.toml` says, read once at start
//! (changes are made in the file, which the kiosk validates; see kiosk.toml's comments). No
//! secret is listed: not the sync token, not the PIN hash.

use egui::RichText;

use crate::config::Config;
use crate::i18n::{Lang, Messages};

/// One line of the settings: a message key for its label, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub label: &'static str,
    pub value: SettingValue,
}

/// Values as the screen shows them: words in the screen's language, or text as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// Ids, numbers, addresses: the same in every language.
    Text(String),
    /// A message key (on, off, a gate mode).
    Word(&'static str),
    /// A number and the message key of its unit.
    Amount(String, &'static str),
}

/// A URL as the screen may show it: without a `user:password@` part.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// What the operator sees of `config`.
pub fn settings_of(config: &Config) -> Vec<Setting> {
    use SettingValue::{Amount, Text, Word};
    let on_off = |b: bool| Word(if b { "set-on" } else { "set-off" });
    let line = |label, value| Setting { label, value };
    vec![
        line("set-kiosk", Text(config.kiosk_id.clone())),
        line(
            "set-venue",
            Text(format!("{} ({})", config.venue_name, config.venue_id)),
        ),
        line("set-gate", Text(config.gate_name.clone())),
        line(
            "set-mode",
            Word(match config.gate_mode {
                crate::gate::GateMode::Entry => "set-mode-entry",
                crate::gate::GateMode::Exit => "set-mode-exit",
                crate::gate::GateMode::Auto => "set-mode-auto",
            }),
        ),
        line(
            "set-capacity",
            match config.capacity {
                Some(c) => Text(c.to_string()),
                None => Word("set-none"),
            },
        ),
        line(
            "set-sync",
            match &config.sync {
                Some(s) => Text(without_credentials(&s.url)),
                None => Word("set-off"),
            },
        ),
        line("set-volume", Text(format!("{} %", config.sound.volume))),
        line(
            "set-voice",
            if config.sound.voice.is_empty() {
                Word("set-off")
            } else {
                Text(
                    config
                        .sound
                        .voice
                        .iter()
                        .map(|l| l.tag())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            },
        ),
        line("set-large", on_off(config.large_text)),
        line("set-verdict", Amount(config.verdict_seconds.to_string(), "unit-s")),
        line(
            "set-visit",
            Amount(
                ((config.visit_max.as_secs_f64() / 360.0).round() / 10.0).to_string(),
                "unit-h",
            ),
        ),
        line("set-retention", Amount(config.retention_days.to_string(), "unit-d")),
        line("set-version", Text(env!("CARGO_PKG_VERSION").to_string())),
    ]
}

pub fn settings_ui(ui: &mut egui::Ui, lang: Lang, m: &Messages, settings: &[Setting]) {
    ui.label(RichText::new(m.get(lang, "set-title")).size(22.0).strong());
    egui::Grid::new("op-settings")
        .num_columns(2)
        .spacing([24.0, 6.0])
        .show(ui, |ui| {
            for s in settings {
                ui.label(RichText::new(m.get(lang, s.label)).size(20.0));
                let value = match &s.value {
                    SettingValue::Text(t) => t.clone(),
                    SettingValue::Word(k) => m.get(lang, k).to_string(),
                    SettingValue::Amount(n, unit) => format!("{n} {}", m.get(lang, unit)),
                };
                ui.label(RichText::new(value).size(20.0).strong());
                ui.end_row();
            }
        });
    ui.label(RichText::new(m.get(lang, "set-where")).size(18.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_name_no_secret_and_every_label_and_word_is_translated() {
        let mut config = Config::defaults().unwrap();
        config.operator_pin_hash = crate::config::Secret("$argon2id$secret-hash".into());
        config.sync = Some(crate::config::SyncConfig {
            url: "https://ops:pa55@trace.example.org/v1".into(),
            token: crate::config::Secret("kt_very_secret_token".into()),
            server_key: None,
            interval: std::time::Duration::from_secs(60),
            venue_interval: std::time::Duration::from_secs(5),
            batch_size: 500,
            timeout: std::time::Duration::from_secs(10),
        });
        let settings = settings_of(&config);
        let shown = format!("{settings:?}");
        assert!(shown.contains("\"https://trace.example.org/v1\""), "{shown}");
        assert!(!shown.contains("secret") && !shown.contains("pa55"), "{shown}");
        assert_eq!(
            without_credentials("http://127.0.0.1:8080/x@y"),
            "http://127.0.0.1:8080/x@y"
        );
        let m = Messages::default();
        for lang in [Lang::ZhCn, Lang::En] {
            for key in settings
                .iter()
                .flat_map(|s| {
                    [
                        Some(s.label),
                        if let SettingValue::Word(w) = s.value {
                            Some(w)
                        } else {
                            None
                        },
                    ]
                })
                .flatten()
                .chain([
                    "set-title",
                    "set-where",
                    "set-on",
                    "set-mode-entry",
                    "set-mode-exit",
                    "set-none",
                ])
            {
                assert_ne!(m.get(lang, key), key, "{key} has no {lang:?} text");
            }
        }
    }
}
