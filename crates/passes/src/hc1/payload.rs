//! The DCC payload (the `hcert` claim): CBOR ⇄ JSON, validation against the DCC schema
//! (1.3.x, which also reads the older 1.0–1.2 payloads), and the typed view policy reads.

use chrono::{DateTime, NaiveDate, Utc};
use ciborium::Value as Cbor;
use serde_json::{Map, Number, Value as Json};

use super::dsc::CertType;
use super::valuesets;

/// The payload as JSON; map keys must be text, tags are looked through (dates may come
/// tagged), byte strings are refused (the DCC has none).
pub fn cbor_to_json(v: &Cbor) -> Result<Json, String> {
    Ok(match v {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(*b),
        Cbor::Integer(i) => {
            let i = i128::from(*i);
            match i64::try_from(i) {
                Ok(n) => Json::Number(n.into()),
                Err(_) => return Err(format!("integer {i} out of range")),
            }
        }
        Cbor::Float(f) => Json::Number(Number::from_f64(*f).ok_or("a float that is not finite")?),
        Cbor::Text(s) => Json::String(s.clone()),
        Cbor::Tag(_, inner) => cbor_to_json(inner)?,
        Cbor::Array(items) => Json::Array(items.iter().map(cbor_to_json).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let k = k.as_text().ok_or("a map key that is not text")?;
                if map.insert(k.to_string(), cbor_to_json(v)?).is_some() {
                    return Err(format!("the key {k:?} appears twice"));
                }
            }
            Json::Object(map)
        }
        Cbor::Bytes(_) => return Err("a byte string where the DCC has none".into()),
        _ => return Err("an unsupported CBOR item".into()),
    })
}

/// The payload as CBOR, numbers as integers where they are whole.
pub fn json_to_cbor(v: &Json) -> Cbor {
    match v {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Cbor::Text(s.clone()),
        Json::Array(items) => Cbor::Array(items.iter().map(json_to_cbor).collect()),
        Json::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), json_to_cbor(v)))
                .collect(),
        ),
    }
}

/// Two payloads are the same when they hold the same names and values; order does not
/// matter, and `2` equals `2.0`.
pub fn same_payload(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_payload(x, y)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_payload(v, w)))
        }
        _ => a == b,
    }
}

/// Holder's name as the certificate gives it; `*_t` are the ICAO 9303 transliterations.
/// `Debug` shows only initials: a stray `{:?}` in a log must not name anyone.
#[derive(Clone, PartialEq, Eq)]
pub struct Name {
    pub family: Option<String>,
    pub family_t: String,
    pub given: Option<String>,
    pub given_t: Option<String>,
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let initial = |s: &str| s.chars().next().map(|c| format!("{c}…")).unwrap_or_default();
        write!(
            f,
            "Name({} {})",
            initial(self.given_t.as_deref().unwrap_or_default()),
            initial(&self.family_t)
        )
    }
}

impl Name {
    /// "GIVEN FAMILY" from the transliterations, `<` read as a space.
    pub fn transliterated(&self) -> String {
        let given = self.given_t.as_deref().unwrap_or_default();
        format!("{given} {}", self.family_t)
            .replace('<', " ")
            .trim()
            .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    Vaccination {
        dose: u32,
        doses: u32,
        date: NaiveDate,
        /// Medicinal product (`mp`, e.g. EU/1/20/1528).
        product: String,
        manufacturer: String,
    },
    Test {
        /// `tt`: LP6464-4 (NAAT/PCR) or LP217198-3 (rapid antigen).
        test_type: String,
        sampled_at: DateTime<Utc>,
        /// `tr`: 260415000 not detected, 260373001 detected.
        result: String,
    },
    Recovery {
        valid_from: NaiveDate,
        valid_until: NaiveDate,
    },
}

pub const NAAT: &str = "LP6464-4";
pub const RAPID_ANTIGEN: &str = "LP217198-3";
pub const NOT_DETECTED: &str = "260415000";
pub const COVID_19: &str = "840539006";

impl Statement {
    pub fn cert_type(&self) -> CertType {
        match self {
            Statement::Vaccination { .. } => CertType::Vaccination,
            Statement::Test { .. } => CertType::Test,
            Statement::Recovery { .. } => CertType::Recovery,
        }
    }
}

/// A schema-valid DCC, typed. `Debug` leaves out the date of birth.
#[derive(Clone, PartialEq, Eq)]
pub struct Dcc {
    pub version: String,
    pub name: Name,
    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or empty, as issued.
    pub dob: String,
    /// `tg`: the disease (840539006 = COVID-19).
    pub disease: String,
    /// `co`: where it was vaccinated, tested or recovered.
    pub country: String,
    /// `ci`: the unique certificate identifier (UVCI).
    pub certificate_id: String,
    pub statement: Statement,
}

impl std::fmt::Debug for Dcc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dcc")
            .field("version", &self.version)
            .field("name", &self.name)
            .field("country", &self.country)
            .field("statement", &self.statement)
            .finish_non_exhaustive()
    }
}

/// Why a payload does not fit the schema: the JSON path and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct SchemaError {
    pub path: String,
    pub rule: String,
}

fn err(path: impl Into<String>, rule: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.into(),
        rule: rule.into(),
    }
}

/// Validates the payload and returns its typed view. Codes are held to the value sets that
/// are small and stable; [`validate_strict`] also to the snapshot of growing ones.
pub fn validate(json: &Json) -> Result<Dcc, SchemaError> {
    validate_with(json, false)
}

/// [`validate`], plus the vaccine manufacturer against this crate's snapshot of its value
/// set, as the EU conformance vectors expect. Not for admission: a genuine certificate from
/// a manufacturer added after the snapshot must not be refused at the door.
pub fn validate_strict(json: &Json) -> Result<Dcc, SchemaError> {
    validate_with(json, true)
}

fn validate_with(json: &Json, strict: bool) -> Result<Dcc, SchemaError> {
    let root = json.as_object().ok_or_else(|| err("$", "not an object"))?;
    let version = string(root, "$", "ver")?;
    if !is_semver(&version) {
        return Err(err("$.ver", "not a version like 1.3.0"));
    }
    let nam = root
        .get("nam")
        .and_then(Json::as_object)
        .ok_or_else(|| err("$.nam", "missing or not an object"))?;
    let name = Name {
        family: optional_string(nam, "$.nam", "fn", 80)?,
        family_t: transliterated(nam, "fnt")?.ok_or_else(|| err("$.nam.fnt", "missing"))?,
        given: optional_string(nam, "$.nam", "gn", 80)?,
        given_t: transliterated(nam, "gnt")?,
    };
    let dob = string(root, "$", "dob")?;
    if !is_dob(&dob) {
        return Err(err("$.dob", "not YYYY, YYYY-MM or YYYY-MM-DD (1900-2099)"));
    }
    let groups: Vec<&str> = ["v", "t", "r"].into_iter().filter(|k| root.contains_key(*k)).collect();
    let [group] = groups.as_slice() else {
        return Err(err(
            "$",
            "exactly one of v (vaccination), t (test) or r (recovery) is required",
        ));
    };
    let entries = root[*group]
        .as_array()
        .ok_or_else(|| err(format!("$.{group}"), "not an array"))?;
    if entries.is_empty() {
        return Err(err(format!("$.{group}"), "holds no entry"));
    }
    // Each entry must be valid; a certificate with several (older issuers listed each dose)
    // is read by its last.
    let mut statement = None;
    for (i, entry) in entries.iter().enumerate() {
        statement = Some(entry_statement(group, entry, &format!("$.{group}[{i}]"), strict)?);
    }
    let (disease, country, certificate_id, statement) = statement.ok_or_else(|| err("$", "no entry"))?;
    Ok(Dcc {
        version,
        name,
        dob,
        disease,
        country,
        certificate_id,
        statement,
    })
}

type Entry = (String, String, String, Statement);

fn entry_statement(group: &str, entry: &Json, path: &str, strict: bool) -> Result<Entry, SchemaError> {
    let path = path.to_string();
    let e = entry.as_object().ok_or_else(|| err(&path, "not an object"))?;
    let disease = string(e, &path, "tg")?;
    if !valuesets::DISEASES.contains(&disease.as_str()) {
        return Err(err(format!("{path}.tg"), "not in the disease value set"));
    }
    let country = string(e, &path, "co")?;
    if !valuesets::COUNTRIES.contains(&country.as_str()) {
        return Err(err(format!("{path}.co"), "not an ISO 3166-1 alpha-2 country"));
    }
    bounded(e, &path, "is", 80)?;
    let certificate_id = bounded(e, &path, "ci", 80)?;
    let statement = match group {
        "v" => {
            for k in ["vp", "mp"] {
                string(e, &path, k)?;
            }
            let manufacturer = string(e, &path, "ma")?;
            if strict && !valuesets::VACCINE_MANUFACTURERS.contains(&manufacturer.as_str()) {
                return Err(err(format!("{path}.ma"), "not in the vaccine manufacturer value set"));
            }
            Statement::Vaccination {
                dose: dose(e, &path, "dn")?,
                doses: dose(e, &path, "sd")?,
                date: date(e, &path, "dt")?,
                product: string(e, &path, "mp")?,
                manufacturer,
            }
        }
        "t" => {
            let test_type = string(e, &path, "tt")?;
            if !valuesets::TEST_TYPES.contains(&test_type.as_str()) {
                return Err(err(format!("{path}.tt"), "not in the test type value set"));
            }
            let result = string(e, &path, "tr")?;
            if !valuesets::TEST_RESULTS.contains(&result.as_str()) {
                return Err(err(format!("{path}.tr"), "not in the test result value set"));
            }
            for k in ["nm", "ma", "tc"] {
                optional_string(e, &path, k, 80)?;
            }
            let sc = string(e, &path, "sc")?;
            let sampled_at = DateTime::parse_from_rfc3339(&sc)
                .map_err(|_| err(format!("{path}.sc"), "not a date-time (RFC 3339)"))?
                .with_timezone(&Utc);
            Statement::Test {
                test_type,
                sampled_at,
                result,
            }
        }
        _ => {
            date(e, &path, "fr")?;
            Statement::Recovery {
                valid_from: date(e, &path, "df")?,
                valid_until: date(e, &path, "du")?,
            }
        }
    };
    Ok((disease, country, certificate_id, statement))
}

type Obj = Map<String, Json>;

fn string(o: &Obj, path: &str, key: &str) -> Result<String, SchemaError> {
    match o.get(key) {
        Some(Json::String(s)) => Ok(s.clone()),
        Some(_) => Err(err(format!("{path}.{key}"), "not a string")),
        None => Err(err(format!("{path}.{key}"), "missing")),
    }
}

fn bounded(o: &Obj, path: &str, key: &str, max: usize) -> Result<String, SchemaError> {
    let s = string(o, path, key)?;
    if s.chars().count() > max {
        return Err(err(format!("{path}.{key}"), format!("longer than {max} characters")));
    }
    Ok(s)
}

fn optional_string(o: &Obj, path: &str, key: &str, max: usize) -> Result<Option<String>, SchemaError> {
    if !o.contains_key(key) {
        return Ok(None);
    }
    bounded(o, path, key, max).map(Some)
}

fn transliterated(nam: &Obj, key: &str) -> Result<Option<String>, SchemaError> {
    let Some(s) = optional_string(nam, "$.nam", key, 80)? else {
        return Ok(None);
    };
    if !is_transliteration(&s) {
        return Err(err(format!("$.nam.{key}"), "may hold only A-Z and <"));
    }
    Ok(Some(s))
}

/// A name in the certificate's transliterated form (`fnt`, `gnt`): A-Z and `<` only.
pub fn is_transliteration(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_uppercase() || c == '<')
}

fn dose(o: &Obj, path: &str, key: &str) -> Result<u32, SchemaError> {
    let n = o
        .get(key)
        .and_then(Json::as_u64)
        .ok_or_else(|| err(format!("{path}.{key}"), "missing or not a whole number"))?;
    if !(1..=9).contains(&n) {
        return Err(err(format!("{path}.{key}"), "not between 1 and 9"));
    }
    Ok(n as u32)
}

fn date(o: &Obj, path: &str, key: &str) -> Result<NaiveDate, SchemaError> {
    // Some issuers write a date-time where the schema says date; its day is the date.
    let s = string(o, path, key)?;
    let day = match s.split_once('T') {
        Some((day, time)) if !time.is_empty() => day,
        _ => s.as_str(),
    };
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| err(format!("{path}.{key}"), "not a date YYYY-MM-DD"))
}

fn is_semver(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A date of birth as the schema allows it: `^((19|20)\d\d(-\d\d){0,2}){0,1}$`, with real
/// months and days.
pub fn is_dob(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let parts: Vec<&str> = s.split('-').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let year_ok = parts
        .first()
        .is_some_and(|y| digits(y, 4) && (y.starts_with("19") || y.starts_with("20")));
    match parts.len() {
        1 => year_ok,
        2 => year_ok && digits(parts[1], 2) && (1..=12).contains(&parts[1].parse::<u32>().unwrap_or(0)),
        3 => year_ok && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        _ => false,
    }
}
