//! The venue's rules for EU Digital COVID Certificates (`[policy.dcc]`): which types count,
//! when a vaccination is complete and recent enough, how old a negative test may be, and a
//! recovery's valid window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use wire::{Reason, VerdictKind};

use crate::pass::DccStatement;

/// `[policy.dcc]` in kiosk.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct DccPolicy {
    /// Certificate types that count: vaccination, test, recovery.
    pub accept: Vec<String>,
    /// Medicinal products (`mp`) that count; empty: every product.
    pub vaccines: Vec<String>,
    /// Days after the completing dose before it counts.
    pub vaccination_min_days: u32,
    /// Days after the last dose it stops counting; 0: never.
    pub vaccination_max_days: u32,
    /// Hours a negative NAAT (PCR) test counts from its sample time.
    pub naat_max_hours: u32,
    /// Hours a negative rapid antigen test counts.
    pub rapid_max_hours: u32,
    /// The venue's time zone: "today" for a recovery's last day and a dose's day count is the
    /// venue's day, not UTC's.
    pub timezone: chrono_tz::Tz,
}

impl Default for DccPolicy {
    fn default() -> Self {
        DccPolicy {
            accept: vec!["vaccination".into(), "test".into(), "recovery".into()],
            vaccines: Vec::new(),
            vaccination_min_days: 14,
            vaccination_max_days: 270,
            naat_max_hours: 72,
            rapid_max_hours: 48,
            timezone: chrono_tz::UTC,
        }
    }
}

impl DccPolicy {
    /// The verdict on a verified DCC's content at `now` (its own expiry is checked before).
    pub fn judge(
        &self,
        disease: &str,
        statement: &DccStatement,
        now: DateTime<Utc>,
        skew: Duration,
    ) -> (VerdictKind, Reason) {
        use VerdictKind::{Admit, Deny, Invalid};
        if disease != passes::hc1::COVID_19 {
            return (Deny, Reason::DccWrongDisease);
        }
        if !self.accept.iter().any(|t| t == statement.type_name()) {
            return (Deny, Reason::DccTypeNotAccepted);
        }
        let today = now.with_timezone(&self.timezone).date_naive();
        match statement {
            DccStatement::Vaccination {
                dose,
                doses,
                date,
                product,
            } => {
                if !self.vaccines.is_empty() && !self.vaccines.contains(product) {
                    return (Deny, Reason::DccVaccineNotAccepted);
                }
                if dose < doses {
                    return (Deny, Reason::DccSeriesIncomplete);
                }
                let days = (today - *date).num_days();
                if days < i64::from(self.vaccination_min_days) {
                    return (Deny, Reason::DccVaccinationTooRecent);
                }
                if self.vaccination_max_days > 0 && days > i64::from(self.vaccination_max_days) {
                    return (Deny, Reason::DccVaccinationTooOld);
                }
                (Admit, Reason::Ok)
            }
            DccStatement::Test {
                test_type,
                sampled_at,
                negative,
            } => {
                let skew = chrono::Duration::from_std(skew).unwrap_or_default();
                if *sampled_at > now + skew {
                    return (Invalid, Reason::NotYetValid);
                }
                if !negative {
                    return (Deny, Reason::DccTestPositive);
                }
                let hours = if test_type == passes::hc1::RAPID_ANTIGEN {
                    self.rapid_max_hours
                } else {
                    self.naat_max_hours
                };
                if now - *sampled_at > chrono::Duration::hours(i64::from(hours)) {
                    return (Deny, Reason::DccTestTooOld);
                }
                (Admit, Reason::Ok)
            }
            DccStatement::Recovery {
                valid_from,
                valid_until,
            } => {
                if today < *valid_from || today > *valid_until {
                    return (Deny, Reason::DccRecoveryNotValid);
                }
                (Admit, Reason::Ok)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn vacc(dose: u32, doses: u32, date: (i32, u32, u32)) -> DccStatement {
        DccStatement::Vaccination {
            dose,
            doses,
            date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
            product: "EU/1/20/1528".into(),
        }
    }

    #[test]
    fn each_rule_gives_its_own_reason() {
        let p = DccPolicy::default();
        let now = at(2021, 6, 1);
        let skew = Duration::from_secs(300);
        let covid = passes::hc1::COVID_19;
        let judge = |s: &DccStatement| p.judge(covid, s, now, skew).1;
        assert_eq!(judge(&vacc(2, 2, (2021, 5, 1))), Reason::Ok);
        assert_eq!(judge(&vacc(1, 2, (2021, 5, 1))), Reason::DccSeriesIncomplete);
        assert_eq!(judge(&vacc(2, 2, (2021, 5, 25))), Reason::DccVaccinationTooRecent);
        assert_eq!(judge(&vacc(2, 2, (2020, 6, 1))), Reason::DccVaccinationTooOld);
        let test = |hours: i64, negative: bool, kind: &str| DccStatement::Test {
            test_type: kind.into(),
            sampled_at: now - chrono::Duration::hours(hours),
            negative,
        };
        assert_eq!(judge(&test(47, true, passes::hc1::RAPID_ANTIGEN)), Reason::Ok);
        assert_eq!(
            judge(&test(49, true, passes::hc1::RAPID_ANTIGEN)),
            Reason::DccTestTooOld
        );
        assert_eq!(judge(&test(49, true, passes::hc1::NAAT)), Reason::Ok);
        assert_eq!(judge(&test(2, false, passes::hc1::NAAT)), Reason::DccTestPositive);
        assert_eq!(judge(&test(-2, true, passes::hc1::NAAT)), Reason::NotYetValid);
        let recovery = |from: u32, until: u32| DccStatement::Recovery {
            valid_from: NaiveDate::from_ymd_opt(2021, from, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2021, until, 1).unwrap(),
        };
        assert_eq!(judge(&recovery(5, 9)), Reason::Ok);
        assert_eq!(judge(&recovery(7, 9)), Reason::DccRecoveryNotValid);
        assert_eq!(p.judge("1234", &recovery(5, 9), now, skew).1, Reason::DccWrongDisease);
        let only_vacc = DccPolicy {
            accept: vec!["vaccination".into()],
            vaccines: vec!["EU/1/20/1507".into()],
            ..DccPolicy::default()
        };
        assert_eq!(
            only_vacc.judge(covid, &recovery(5, 9), now, skew).1,
            Reason::DccTypeNotAccepted
        );
        assert_eq!(
            only_vacc.judge(covid, &vacc(2, 2, (2021, 5, 1)), now, skew).1,
            Reason::DccVaccineNotAccepted
        );
    }

    #[test]
    fn the_last_valid_day_is_the_venues_day() {
        // 2021-09-01 16:30 UTC is already 2021-09-02 in Shanghai.
        let late = Utc.with_ymd_and_hms(2021, 9, 1, 16, 30, 0).unwrap();
        let until_sept_1 = DccStatement::Recovery {
            valid_from: NaiveDate::from_ymd_opt(2021, 5, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2021, 9, 1).unwrap(),
        };
        let skew = Duration::from_secs(300);
        let utc = DccPolicy::default();
        assert_eq!(
            utc.judge(passes::hc1::COVID_19, &until_sept_1, late, skew).1,
            Reason::Ok
        );
        let shanghai = DccPolicy {
            timezone: chrono_tz::Asia::Shanghai,
            ..DccPolicy::default()
        };
        assert_eq!(
            shanghai.judge(passes::hc1::COVID_19, &until_sept_1, late, skew).1,
            Reason::DccRecoveryNotValid
        );
    }
}
