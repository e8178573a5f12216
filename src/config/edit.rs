//! Writes into kiosk.toml what pairing learnt (ids, `[sync]`, the deployment's DCC subject key), keeping the file's comments and layout: the
//! file is the operator's documentation as much as the kiosk's settings.

use std::path::Path;

use toml_edit::{DocumentMut, Item, value};

use super::{Config, ConfigError};

/// What pairing sets: `[kiosk] id`, `[venue] id` and `[sync]` url, token and server key.
#[derive(Debug, Clone)]
pub struct Pairing<'a> {
    pub kiosk_id: &'a str,
    pub venue_id: &'a str,
    pub url: &'a str,
    pub token: &'a str,
    pub server_key: &'a str,
    /// `[trust.hc1] subject_key`, when the server sends one.
    pub subject_key: Option<&'a str>,
}

/// One key pairing changed, for the installer to read (the token is never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    /// As shown (a secret as `<secret>`).
    pub before: Option<String>,
    pub after: String,
    /// Whether the value differs (a new token shows the same `<secret>` but changed).
    pub changed: bool,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.before {
            Some(_) if !self.changed => write!(f, "{} = {} (unchanged)", self.key, self.after),
            Some(b) => write!(f, "{} = {} (was {b})", self.key, self.after),
            None => write!(f, "{} = {} (new)", self.key, self.after),
        }
    }
}

/// The text of `path` with the pairing written in, checked by the same validation as start-up
/// (so a pairing that would make the kiosk refuse to start is never written), and the changes.
pub fn with_pairing(text: &str, path: &Path, p: &Pairing) -> Result<(String, Config, Vec<Change>), ConfigError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut changes = Vec::new();
    for (table, key, new, secret) in [
        ("kiosk", "id", p.kiosk_id, false),
        ("venue", "id", p.venue_id, false),
        ("sync", "url", p.url, false),
        ("sync", "token", p.token, true),
        ("sync", "server_key", p.server_key, false),
    ] {
        if !doc.contains_key(table) {
            doc[table] = toml_edit::table();
        }
        let item: &mut Item = &mut doc[table][key];
        let shown = |s: &str| {
            if secret {
                "<secret>".to_string()
            } else {
                format!("{s:?}")
            }
        };
        changes.push(Change {
            key: format!("[{table}] {key}"),
            before: item.as_str().map(shown),
            after: shown(new),
            changed: item.as_str() != Some(new),
        });
        *item = value(new);
    }
    if let Some(new) = p.subject_key {
        if !doc.contains_key("trust") {
            doc["trust"] = toml_edit::table();
        }
        if doc["trust"].get("hc1").is_none() {
            doc["trust"]["hc1"] = toml_edit::table();
        }
        let item: &mut Item = &mut doc["trust"]["hc1"]["subject_key"];
        match item.as_str() {
            // A key set by hand before pairing is this kiosk's history: replacing it would
            // split every holder in two. Kept, and said (the tracer's ids will not match).
            Some(old) if !old.trim().is_empty() && old != new => changes.push(Change {
                key: "[trust.hc1] subject_key".into(),
                before: Some("<secret>".into()),
                after: "<secret> KEPT: it differs from the server's, so `trace-server dcc-subject` ids will not match this kiosk's; remove the line and pair again with a fresh token (`trace-server kiosk rotate`) to take the server's".into(),
                changed: false,
            }),
            before => {
                changes.push(Change {
                    key: "[trust.hc1] subject_key".into(),
                    before: before.map(|_| "<secret>".to_string()),
                    after: "<secret>".into(),
                    changed: before != Some(new),
                });
                *item = value(new);
            }
        }
    }
    let text = doc.to_string();
    let config = Config::from_toml(&text, path)?;
    Ok((text, config, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_keeps_comments_and_says_what_changed() {
        let text = "# my kiosk\n[kiosk]\n# the name\nid = \"kiosk-1\"\n\n[venue]\nid = \"demo-venue\" # shipped\n";
        let pairing = Pairing {
            kiosk_id: "gate-01",
            venue_id: "mall",
            url: "http://127.0.0.1:8080",
            token: "kt_secret",
            server_key: "ab",
            subject_key: Some("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"),
        };
        let (out, config, changes) = with_pairing(text, Path::new("kiosk.toml"), &pairing).unwrap();
        assert!(out.contains("# my kiosk") && out.contains("# the name"), "{out}");
        assert!(out.contains("id = \"gate-01\"") && out.contains("[sync]"), "{out}");
        assert_eq!(config.kiosk_id, "gate-01");
        assert_eq!(config.sync.unwrap().token.0, "kt_secret");
        let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(shown[0], "[kiosk] id = \"gate-01\" (was \"kiosk-1\")");
        assert_eq!(shown[3], "[sync] token = <secret> (new)");
        assert!(!shown.join("\n").contains("kt_secret"));
        assert_eq!(shown[5], "[trust.hc1] subject_key = <secret> (new)");
        assert!(!shown.join("\n").contains("5a5a"), "the key is never shown");
        assert!(config.hc1.subject_key.is_some(), "{out}");
        // Paired with a server whose key differs from the one now in the file: kept, and said.
        let other = Pairing {
            subject_key: Some("6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"),
            ..pairing.clone()
        };
        let (kept, _, said) = with_pairing(&out, Path::new("kiosk.toml"), &other).unwrap();
        assert!(kept.contains("5a5a5a5a") && !kept.contains("6b6b"), "{kept}");
        assert!(said[5].to_string().contains("KEPT"), "{}", said[5]);
        // Paired again with a new token: the same `<secret>` on screen, but said to change.
        let rotated = Pairing {
            token: "kt_other",
            ..pairing.clone()
        };
        let (_, _, again) = with_pairing(&out, Path::new("kiosk.toml"), &rotated).unwrap();
        assert_eq!(again[3].to_string(), "[sync] token = <secret> (was <secret>)");
        assert_eq!(again[0].to_string(), "[kiosk] id = \"gate-01\" (unchanged)");
        // A remote plain-http URL fails the start-up check and is not written.
        let bad = Pairing {
            url: "http://trace.example.org",
            ..pairing
        };
        assert!(with_pairing(text, Path::new("kiosk.toml"), &bad).is_err());
    }
}
