//! Screen text in zh-CN and English, read from the Fluent files under assets/i18n.
//!
//! The files use only Fluent's simple `key = value` messages, so this small reader is enough;
//! the files are embedded at build time, so a kiosk never shows a missing-file error.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// The tag kiosk.toml, folder names and the .ftl files use.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Lang> {
        [Lang::ZhCn, Lang::En].into_iter().find(|l| l.tag() == tag)
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }
}

/// The message key naming a direction (entry, exit), on every screen.
pub fn direction_key(d: wire::Direction) -> &'static str {
    match d {
        wire::Direction::Entry => "direction-entry",
        wire::Direction::Exit => "direction-exit",
    }
}

const EN: &str = include_str!("../assets/i18n/en.ftl");
const ZH: &str = include_str!("../assets/i18n/zh-CN.ftl");

/// Both languages' messages by key.
#[derive(Debug, Clone)]
pub struct Messages {
    en: HashMap<String, String>,
    zh: HashMap<String, String>,
}

fn parse(ftl: &str) -> HashMap<String, String> {
    ftl.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            en: parse(EN),
            zh: parse(ZH),
        }
    }
}

impl Messages {
    /// The message for `key`; the key itself if a translation is missing, so a gap shows up
    /// as odd text rather than as a blank panel.
    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        let map = match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        };
        map.get(key).map(String::as_str).unwrap_or(key)
    }

    pub fn keys(&self, lang: Lang) -> Vec<&str> {
        let map = match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        };
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let m = Messages::default();
        assert_eq!(m.keys(Lang::En), m.keys(Lang::ZhCn));
        assert!(m.keys(Lang::En).len() > 15);
        assert_eq!(m.get(Lang::ZhCn, "verdict-admit"), "绿码 请进");
        assert_eq!(m.get(Lang::En, "verdict-admit"), "Welcome");
    }

    /// Every reason code the kiosk can show has words in every language (the voice prompts
    /// will be held to the same rule), and so has every warning a policy can attach.
    #[test]
    fn every_reason_has_a_message_in_every_language() {
        let m = Messages::default();
        for lang in [Lang::ZhCn, Lang::En] {
            let keys = m.keys(lang);
            for reason in wire::Reason::ALL {
                // The visitor's sentence and the operator's short word.
                for key in [format!("reason-{reason}"), format!("short-{reason}")] {
                    assert!(keys.contains(&key.as_str()), "{lang:?} has no {key}");
                }
            }
            assert!(
                keys.contains(&"reason-travel_risk_warn"),
                "{lang:?} has no travel_risk_warn"
            );
        }
    }
}
