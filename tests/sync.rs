//! Kiosk sync against the real trace server (real HTTP on 127.0.0.1, real PostgreSQL):
//! exactly once through outages, lost acknowledgements and restarts; refused credentials.

mod common;

use common::{record, store_settings as settings, sync_client as client};
use kiosk::policy::Policy;
use kiosk::store::Store;
use kiosk::sync::SyncError;
use trace_server::testkit::TestServer;

#[test]
fn every_passage_arrives_exactly_once_through_outages_and_lost_acks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let mut store = Store::open(&db, settings()).unwrap();
    record(&mut store, 0, 150);

    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let (runtime, database_url, addr) = server.stop();
    // Server down: nothing is marked, nothing lost.
    let c = client(&format!("http://{addr}"), &token);
    assert!(matches!(c.sync_once(&mut store), Err(SyncError::Unreachable(_))));
    assert_eq!(store.pending_sync().unwrap(), 150);

    // Back up on the same address: the whole backlog arrives in batches.
    let server = TestServer::start_on(runtime, database_url, Some(addr));
    assert_eq!(c.sync_once(&mut store).unwrap(), 150);
    assert_eq!(store.pending_sync().unwrap(), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 150);
    assert_eq!(c.sync_once(&mut store).unwrap(), 0, "nothing pending, nothing sent");

    // The acknowledgement of the last 50 was lost (say the kiosk died before marking them):
    // they are sent again and the server keeps one copy.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE passages SET synced = 0 WHERE seq > 100", [])
        .unwrap();
    drop(conn);
    assert_eq!(c.sync_once(&mut store).unwrap(), 50);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 150);

    // More scans, then the server goes away mid-day and comes back.
    record(&mut store, 150, 30);
    let (runtime, database_url, addr) = server.stop();
    assert!(c.sync_once(&mut store).is_err());
    let server = TestServer::start_on(runtime, database_url, Some(addr));
    assert_eq!(c.sync_once(&mut store).unwrap(), 30);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 180);
    assert_eq!(
        server.count("SELECT COUNT(DISTINCT seq) FROM passages WHERE kiosk_id = 'k1'"),
        180
    );
    assert_eq!(server.count("SELECT MAX(seq) FROM passages"), 180);
    assert_eq!(c.missing_on_server("k1").unwrap(), vec![], "nothing lost");

    // Passages lost on the server's side (a restored backup, say) are reported to the kiosk.
    server.count("WITH gone AS (DELETE FROM passages WHERE seq IN (7, 8, 100) RETURNING 1) SELECT COUNT(*) FROM gone");
    assert_eq!(c.missing_on_server("k1").unwrap(), vec![(7, 8), (100, 100)]);
}

#[test]
fn wrong_credentials_are_refused_and_nothing_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.db"), settings()).unwrap();
    record(&mut store, 0, 5);
    let server = TestServer::start();
    let _ = server.add_kiosk("k1", "v1");
    let other_venue = server.add_kiosk("k2", "v2");
    match client(&server.url, "kt_nonsense").sync_once(&mut store) {
        // The server's own words reach the operator: what header, which command.
        Err(SyncError::Unauthorized(why)) => assert!(why.contains("Authorization: Bearer"), "{why}"),
        other => panic!("{other:?}"),
    }
    let err = client(&server.url, &other_venue).sync_once(&mut store).unwrap_err();
    assert!(matches!(err, SyncError::Refused { status: 403, .. }), "{err}");
    assert_eq!(store.pending_sync().unwrap(), 5);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 0);
}

#[test]
fn sync_once_command_exits_zero_when_nothing_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!("[kiosk]\nid = \"k1\"\n[venue]\nid = \"v1\"\n[storage]\npath = \"k.db\"\n[sync]\nurl = \"{}\"\ntoken = \"{token}\"\n", server.url),
    )
    .unwrap();
    {
        let mut store = Store::open(&dir.path().join("k.db"), settings()).unwrap();
        record(&mut store, 0, 7);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--config")
        .arg(&cfg)
        .args(["sync", "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent 7 passages; 0 pending"));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&token),
        "the token never appears in output"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 7);
}

#[test]
fn the_signed_trust_list_is_verified_cached_and_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let regional = passes::vp1::IssuerKey::from_seed("hk-health", [8; 32]);
    server.trust_issuer(&regional.to_public_file());
    server.add_risk_region("R-North");
    let cache = kiosk::sync::policy_cache_path(&dir.path().join("kiosk.db"));
    let c = client(&server.url, &token);

    // A kiosk pinned to another key refuses the list and keeps nothing.
    let wrong_key = kiosk::demo::demo_key()
        .to_public_file()
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert!(matches!(
        c.refresh_policy(&wrong_key, &cache, chrono::Utc::now()),
        Err(SyncError::BadPolicy(_))
    ));
    assert!(!cache.exists());

    let key = server.server_key();
    let policy = c.refresh_policy(&key, &cache, chrono::Utc::now()).unwrap();
    assert_eq!(policy.risk_regions, vec!["R-North".to_string()]);
    assert_eq!(policy.issuer_count("vp1"), 1);
    // Offline restart: the cached list verifies and is applied on top of the configuration.
    let cached = kiosk::sync::load_cached_policy(&key, &cache, chrono::Utc::now())
        .unwrap()
        .unwrap();
    assert_eq!(cached, policy);
    let base = kiosk::check::Rules::vp1(passes::vp1::TrustStore::new(), Policy::default());
    let (merged, refused) = kiosk::check::Rules::merged(&base, &cached);
    assert!(refused.is_empty(), "{refused:?}");
    assert!(
        merged.trusts(kiosk::pass::Format::Vp1, "hk-health"),
        "passes from the other region are now recognised"
    );
    assert_eq!(merged.policy.risk_regions, vec!["R-North".to_string()]);

    // Someone edits the cached file on the kiosk to add a region's issuer: refused.
    let text = std::fs::read_to_string(&cache).unwrap();
    std::fs::write(&cache, text.replace("R-North", "R-Nowhere")).unwrap();
    assert!(matches!(
        kiosk::sync::load_cached_policy(&key, &cache, chrono::Utc::now()),
        Err(SyncError::BadPolicy(_))
    ));
}

#[test]
fn an_old_list_replayed_or_an_expired_one_is_refused() {
    let server = TestServer::start();
    let key = server.server_key();
    let now = chrono::Utc::now();
    let list = |issued: chrono::DateTime<chrono::Utc>, expires: chrono::DateTime<chrono::Utc>| {
        server.sign(&wire::PolicyDocument {
            version: wire::POLICY_VERSION,
            issued_at: issued,
            expires_at: Some(expires),
            issuers: Vec::new(),
            formats: Default::default(),
            risk_regions: vec!["R-North".into()],
        })
    };
    let day = chrono::Duration::days(1);
    let current = kiosk::sync::check_policy(&key, &list(now - day, now + day * 29), now, None).unwrap();
    // Signed by the real key, but older than the list in use: a replay that would, say, drop a
    // risk region added since.
    let old = list(now - day * 3, now + day * 27);
    let err = kiosk::sync::check_policy(&key, &old, now, Some(&current)).unwrap_err();
    assert!(err.to_string().contains("replayed"), "{err}");
    // Expired: refused, even with nothing kept.
    let expired = list(now - day * 40, now - day * 10);
    let err = kiosk::sync::check_policy(&key, &expired, now, None).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    // A newer one replaces the current one.
    assert!(kiosk::sync::check_policy(&key, &list(now, now + day * 30), now, Some(&current)).is_ok());
}

#[test]
fn the_server_list_scopes_an_issuer_to_some_kinds_unless_the_kiosk_scopes_it_itself() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let site = passes::vp1::IssuerKey::from_seed("site-badges", [9; 32]);
    server.trust_issuer_for(&site.to_public_file(), &[passes::vp1::PassKind::Badge]);
    // Re-added without --kinds (a routine re-key): the scope stays, it does not widen.
    server.trust_issuer(&site.to_public_file());
    let cache = kiosk::sync::policy_cache_path(&dir.path().join("kiosk.db"));
    let list = client(&server.url, &token)
        .refresh_policy(&server.server_key(), &cache, chrono::Utc::now())
        .unwrap();
    let now = chrono::Utc::now();
    let health = passes::vp1::issue(
        &site,
        &passes::vp1::Claims::health(
            "site-badges",
            "w-1",
            "A*",
            passes::vp1::HealthColour::Green,
            now,
            now + chrono::Duration::hours(1),
        ),
    )
    .unwrap();
    let mut claims = passes::vp1::Claims::health(
        "site-badges",
        "w-1",
        "A*",
        passes::vp1::HealthColour::Green,
        now,
        now + chrono::Duration::days(30),
    );
    claims.kind = passes::vp1::PassKind::Badge;
    claims.health = None;
    claims.badge_role = Some("staff".into());
    let badge = passes::vp1::issue(&site, &claims).unwrap();

    // The server's scope holds: the badge key cannot mint a green health code.
    let base = kiosk::check::Rules::vp1(passes::vp1::TrustStore::new(), Policy::default());
    let (merged, refused) = kiosk::check::Rules::merged(&base, &list);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(merged.judge(&badge, now).reason, wire::Reason::Ok);
    assert_eq!(merged.judge(&health, now).reason, wire::Reason::IssuerNotForKind);

    // A kiosk too old to read scopes reads `issuers` only: the scoped key is not there, so it
    // refuses the issuer's passes (fails closed) instead of trusting it for every kind.
    let vp1 = list.trust_for("vp1");
    assert_eq!((vp1.issuers.len(), vp1.scoped.len(), vp1.kinds.len()), (0, 1, 0));
    let mut old_view = list.clone();
    if let Some(section) = old_view.formats.get_mut("vp1") {
        section.scoped.clear();
    }
    let (old_kiosk, _) = kiosk::check::Rules::merged(&base, &old_view);
    assert_eq!(old_kiosk.judge(&health, now).reason, wire::Reason::UnknownIssuer);
    assert_eq!(old_kiosk.judge(&badge, now).reason, wire::Reason::UnknownIssuer);

    // A kiosk that scopes the issuer itself keeps its own scope.
    let own = [(
        "site-badges".to_string(),
        vec![passes::vp1::PassKind::Health, passes::vp1::PassKind::Badge],
    )]
    .into();
    let local = kiosk::check::Rules::vp1_scoped(passes::vp1::TrustStore::new(), own, Policy::default());
    let (merged, _) = kiosk::check::Rules::merged(&local, &list);
    assert_eq!(merged.judge(&health, now).reason, wire::Reason::Ok);
}
