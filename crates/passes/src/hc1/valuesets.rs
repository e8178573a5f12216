//! The value sets the schema check holds codes to. Small, stable sets (disease, test type and
//! result, country) are checked always; the vaccine manufacturers' set grows, so it is a
//! snapshot checked only by the conformance runner (`validate_strict`): a kiosk must not
//! refuse a genuine certificate because its snapshot is old. Medicinal products and
//! rapid-test devices are not checked at all; which products count is the venue's policy
//! (`[policy.dcc] vaccines`).

/// `tg`: COVID-19 (SNOMED CT 840539006).
pub const DISEASES: &[&str] = &["840539006"];

/// `tt`: NAAT (PCR) and rapid antigen tests (LOINC).
pub const TEST_TYPES: &[&str] = &["LP6464-4", "LP217198-3"];

/// `tr`: not detected, detected (SNOMED CT).
pub const TEST_RESULTS: &[&str] = &["260415000", "260373001"];

/// `ma` of a vaccination: marketing authorisation holders and manufacturers (EMA
/// organisation ids where they have one).
pub const VACCINE_MANUFACTURERS: &[&str] = &[
    "ORG-100001699", // AstraZeneca AB
    "ORG-100030215", // Biontech Manufacturing GmbH
    "ORG-100001417", // Janssen-Cilag International
    "ORG-100031184", // Moderna Biotech Spain S.L.
    "ORG-100006270", // Curevac AG
    "ORG-100013793", // CanSino Biologics
    "ORG-100020693", // China Sinopharm International Corp. (Beijing)
    "ORG-100010771", // Sinopharm Weiqida Europe Pharmaceutical
    "ORG-100024420", // Sinopharm Zhijun (Shenzhen) Pharmaceutical
    "ORG-100032020", // Novavax CZ
    "ORG-100001981", // Serum Institute of India
    "ORG-100007893", // R-Pharm CJSC
    "ORG-100023050", // Gulf Pharmaceutical Industries
    "ORG-100033914", // Medigen Vaccine Biologics
    "ORG-100000788", // Sanofi Pasteur
    "ORG-100036422", // Valneva France
    "ORG-100026614", // Sinocelltech
    "ORG-100008549", // Medicago
    "Gamaleya-Research-Institute",
    "Vector-Institute",
    "Sinovac-Biotech",
    "Bharat-Biotech",
    "Chumakov-Federal-Scientific-Center",
    "Fiocruz",
    "Instituto-Butantan",
    "Sinopharm-WIBP",
    "CIGB",
    "NVSI",
    "Yisheng-Biopharma",
    "Finlay-Institute",
];

/// `co`: ISO 3166-1 alpha-2, and XK (Kosovo), which the EU's set adds.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK", "YE", "YT",
    "ZA", "ZM", "ZW",
];
