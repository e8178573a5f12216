//! Test support shared by this crate's tests and the kiosk's sync tests: a fresh database on
//! the PostgreSQL that `scripts/test.sh` starts, and a real server on 127.0.0.1 port 0.

use std::net::SocketAddr;

use crate::auth;
use crate::db::Db;

/// `DATABASE_URL`, or a clear failure: these tests need the PostgreSQL from scripts/test.sh.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("DATABASE_URL is not set: run the tests through `bash scripts/test.sh`"))
}

/// A running server on its own runtime thread; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    pub database_url: String,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The default limits without the per-token rate (and, like the default, no per-client
/// rate): tests send thousands of requests with one token from 127.0.0.1 on purpose
/// (`tests/abuse.rs` tests the rate limits themselves).
fn unlimited() -> crate::api::Limits {
    crate::api::Limits {
        per_token_per_minute: 0,
        ..crate::api::Limits::default()
    }
}

/// The runtime a test server runs on: two worker threads.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl TestServer {
    /// A fresh, migrated database and a server on it.
    pub fn start() -> TestServer {
        let runtime = runtime();
        let database_url = runtime.block_on(fresh_database());
        Self::start_on(runtime, database_url, None)
    }

    /// A server on an existing database, optionally on a fixed address (to restart "the same" server).
    pub fn start_on(runtime: tokio::runtime::Runtime, database_url: String, addr: Option<SocketAddr>) -> TestServer {
        Self::start_limited(runtime, database_url, addr, unlimited(), None)
    }

    /// A fresh database and a server that signs with the key in `signing_key_file`.
    pub fn start_with_key(signing_key_file: &std::path::Path) -> TestServer {
        let runtime = runtime();
        let database_url = runtime.block_on(fresh_database());
        Self::start_limited(runtime, database_url, None, unlimited(), Some(signing_key_file))
    }

    /// A fresh database and a server with these limits (for the resource-abuse tests).
    pub fn start_with(limits: crate::api::Limits) -> TestServer {
        let runtime = runtime();
        let database_url = runtime.block_on(fresh_database());
        Self::start_limited(runtime, database_url, None, limits, None)
    }

    fn start_limited(
        runtime: tokio::runtime::Runtime,
        database_url: String,
        addr: Option<SocketAddr>,
        limits: crate::api::Limits,
        signing_key_file: Option<&std::path::Path>,
    ) -> TestServer {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let db = Db::connect(&database_url).unwrap();
        let keys = crate::api::Keys {
            signing: runtime
                .block_on(crate::trust::signing_key(&db, signing_key_file))
                .unwrap(),
            subject: runtime.block_on(crate::trust::subject_key(&db, None)).unwrap(),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(
                addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()),
            ))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let _ = crate::serve(
                db,
                listener,
                4.0 * 3600.0,
                (limits, chrono_tz::Asia::Shanghai),
                keys,
                async {
                    let _ = stopped.await;
                },
            )
            .await;
        });
        TestServer {
            addr,
            url: format!("http://{addr}"),
            database_url,
            runtime: Some(runtime),
            stop: Some(stop),
        }
    }

    /// Stops serving and hands back the runtime and database, for a restart.
    pub fn stop(mut self) -> (tokio::runtime::Runtime, String, SocketAddr) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let runtime = self.runtime.take().unwrap();
        (runtime, std::mem::take(&mut self.database_url), self.addr)
    }

    pub fn add_kiosk(&self, id: &str, venue: &str) -> String {
        let token = auth::new_token("kt_").unwrap();
        let db = Db::connect(&self.database_url).unwrap();
        self.rt()
            .block_on(db.add_kiosk(id, venue, &auth::hash_token(&token)))
            .unwrap();
        token
    }

    pub fn add_tracer(&self, name: &str) -> String {
        let token = auth::new_token("tt_").unwrap();
        let db = Db::connect(&self.database_url).unwrap();
        self.rt()
            .block_on(db.add_tracer(name, &auth::hash_token(&token), None))
            .unwrap();
        token
    }

    /// A venue operator of `venue`, as `trace-server operator add` makes one; their token.
    pub fn add_operator(&self, name: &str, venue: &str) -> String {
        let token = auth::new_token("ot_").unwrap();
        let db = Db::connect(&self.database_url).unwrap();
        self.rt()
            .block_on(db.add_operator(name, venue, &auth::hash_token(&token)))
            .unwrap();
        token
    }

    /// The server's public key (hex), as `trace-server key` prints it.
    pub fn server_key(&self) -> String {
        let db = Db::connect(&self.database_url).unwrap();
        crate::trust::public_hex(&self.rt().block_on(crate::trust::server_key(&db)).unwrap())
    }

    /// Signs `doc` with this server's key, as the server signs its trust lists (for tests of
    /// what a kiosk does with old or expired ones).
    pub fn sign(&self, doc: &wire::PolicyDocument) -> wire::SignedDocument {
        let db = Db::connect(&self.database_url).unwrap();
        let key = self.rt().block_on(crate::trust::server_key(&db)).unwrap();
        let document = serde_json::to_string(doc).unwrap();
        let signature = passes::vp1::sign_document(&key, document.as_bytes());
        wire::SignedDocument { document, signature }
    }

    pub fn trust_issuer(&self, public_file_text: &str) {
        let db = Db::connect(&self.database_url).unwrap();
        self.rt()
            .block_on(crate::trust::add_issuer(&db, public_file_text, None))
            .unwrap();
    }

    /// Trusts an issuer for some kinds of pass only.
    pub fn trust_issuer_for(&self, public_file_text: &str, kinds: &[passes::vp1::PassKind]) {
        let db = Db::connect(&self.database_url).unwrap();
        self.rt()
            .block_on(crate::trust::add_issuer(&db, public_file_text, Some(kinds)))
            .unwrap();
    }

    pub fn remove_issuer(&self, issuer: &str) {
        let db = Db::connect(&self.database_url).unwrap();
        assert!(self.rt().block_on(db.untrust_issuer(issuer)).unwrap());
    }

    /// Opens a case for `subject` as `tracer` (cases serve their opener), for a day; its id.
    pub fn open_case(&self, tracer: &str, subject: &str) -> i64 {
        let db = Db::connect(&self.database_url).unwrap();
        let closes = chrono::Utc::now() + chrono::Duration::days(1);
        self.rt()
            .block_on(db.open_case(subject, "test case", tracer, closes))
            .unwrap()
            .id
    }

    pub fn add_risk_region(&self, region: &str) {
        let db = Db::connect(&self.database_url).unwrap();
        self.rt().block_on(crate::trust::add_risk_region(&db, region)).unwrap();
    }

    /// Runs a query on the server's database (for assertions; a test reads the table
    /// directly, as an auditor would).
    pub fn count(&self, sql: &str) -> i64 {
        let url = self.database_url.clone();
        let sql = sql.to_string();
        self.rt().block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.query_one(&sql, &[]).await.unwrap().get(0)
        })
    }
}

impl TestServer {
    /// Runs `f` on the server's database handle (administration as the CLI does it).
    pub fn with_db<T, F: std::future::Future<Output = T>>(&self, f: impl FnOnce(Db) -> F) -> T {
        let db = Db::connect(&self.database_url).unwrap();
        self.rt().block_on(f(db))
    }

    /// Makes the node holding `venue`'s passages unreachable for this test's database: on Citus
    /// the worker with the venue's shard (the coordinator keeps answering, so tokens are still
    /// checked), on one PostgreSQL the database itself. Its connections are cut and new ones
    /// refused until [`Outage::end`]; other tests' databases on the same node are untouched.
    pub fn take_down_node_of(&self, venue: &str) -> Outage {
        let rt = self.rt();
        let config: tokio_postgres::Config = self.database_url.parse().unwrap();
        let name = config.get_dbname().unwrap().to_string();
        let user = config.get_user().unwrap_or("postgres").to_string();
        let node = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .query_opt(
                    "SELECT nodename, nodeport FROM citus_shards
                     WHERE table_name = 'passages'::regclass
                       AND shardid = get_shard_id_for_distribution_column('passages', $1::text)",
                    &[&venue],
                )
                .await
                .ok()
                .flatten()
                .map(|r| (r.get::<_, String>(0), r.get::<_, i32>(1) as u16))
        });
        let admin = match node {
            Some((ref host, port)) => format!("postgres://{user}@{host}:{port}/postgres"),
            None => admin_url(),
        };
        let outage = Outage {
            admin,
            database: name,
            on_worker: node.is_some(),
        };
        rt.block_on(outage.set(false));
        outage
    }

    /// On Citus, a venue whose passages live on another node than `venue`'s (None on one
    /// PostgreSQL): what must keep working while that node is away.
    pub fn venue_elsewhere(&self, venue: &str) -> Option<String> {
        let url = self.database_url.clone();
        let venue = venue.to_string();
        self.rt().block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let node = |v: String| {
                let client = &client;
                async move {
                    client
                        .query_opt(
                            "SELECT nodename || ':' || nodeport FROM citus_shards WHERE table_name = 'passages'::regclass
                               AND shardid = get_shard_id_for_distribution_column('passages', $1::text)",
                            &[&v],
                        )
                        .await
                        .ok()
                        .flatten()
                        .map(|r| r.get::<_, String>(0))
                }
            };
            let home = node(venue).await?;
            for i in 0..100 {
                let other = format!("elsewhere-{i}");
                if node(other.clone()).await.is_some_and(|p| p != home) {
                    return Some(other);
                }
            }
            None
        })
    }

    /// Ends an outage started by [`TestServer::take_down_node_of`].
    pub fn end_outage(&self, outage: &Outage) {
        self.rt().block_on(outage.set(true));
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A node made unreachable for one test database (see [`TestServer::take_down_node_of`]).
pub struct Outage {
    admin: String,
    database: String,
    /// A Citus worker (true) or the only PostgreSQL (false).
    pub on_worker: bool,
}

impl Outage {
    async fn set(&self, allow: bool) {
        let name = &self.database;
        let mut sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow};");
        if !allow {
            sql.push_str(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
            ));
        }
        run_sql(&self.admin, &sql).await;
    }
}

/// Creates `test_<random>` on the admin server, migrates it, and returns its URL.
pub async fn fresh_database() -> String {
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    let url = create_database(&format!("test_{}", hex::encode(r))).await;
    Db::connect(&url).unwrap().migrate().await.unwrap();
    url
}

/// Creates database `name` on the admin server (on a Citus coordinator: a cluster of its own)
/// and returns its URL; not migrated.
pub async fn create_database(name: &str) -> String {
    let admin = admin_url();
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let config: tokio_postgres::Config = admin.parse().unwrap();
    let user = config.get_user().unwrap_or("postgres").to_string();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let url_at = |port: u16, db: &str| format!("postgres://{user}@{host}:{port}/{db}");
    let url = url_at(config.get_ports().first().copied().unwrap_or(5432), name);
    // On a Citus coordinator (scripts/citus.sh), the new database is a cluster of its own: the
    // same database on every worker, Citus in each, the workers added (node lists are kept
    // per database). The migrations then distribute the tables as in production.
    let workers = client
        .query(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary'
             AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')",
            &[],
        )
        .await
        .unwrap_or_default();
    let coordinator_port = config.get_ports().first().copied().unwrap_or(5432);
    if !workers.is_empty() {
        // One database's cluster at a time: adding nodes copies roles to the workers, and two
        // databases doing it at once collide ("tuple concurrently updated").
        client.batch_execute("SELECT pg_advisory_lock(7217)").await.unwrap();
        for w in &workers {
            let port: i32 = w.get(1);
            run_sql(&url_at(port as u16, "postgres"), &format!("CREATE DATABASE {name}")).await;
            run_sql(&url_at(port as u16, name), "CREATE EXTENSION citus").await;
        }
        let mut setup =
            format!("CREATE EXTENSION citus; SELECT citus_set_coordinator_host('{host}', {coordinator_port});");
        for w in &workers {
            let (node, port): (String, i32) = (w.get(0), w.get(1));
            setup.push_str(&format!("SELECT citus_add_node('{node}', {port});"));
        }
        run_sql(&url, &setup).await;
        client.batch_execute("SELECT pg_advisory_unlock(7217)").await.unwrap();
    }
    url
}

/// Runs `sql` on the database at `url`, in a connection of its own.
async fn run_sql(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

/// A recent start for `span` of test visits that stays inside one UTC day and one Shanghai
/// day, whenever the tests run: pages and queries ask for whole days (UTC over the API, the
/// console's zone in the browser), and visits placed "three hours ago" cross midnight in one
/// of them for hours of every day. Day starts are 8 and 16 hours apart, so this is at most
/// about `span` + 8 hours before now: well inside "who is inside" (72 hours).
pub fn quiet_start(span: chrono::Duration) -> chrono::DateTime<chrono::Utc> {
    quiet_start_before(chrono::Utc::now(), span)
}

fn quiet_start_before(now: chrono::DateTime<chrono::Utc>, span: chrono::Duration) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    // UTC and Shanghai days overlap 16 hours at most: a longer span has no quiet start.
    assert!(
        span <= chrono::Duration::hours(15),
        "quiet_start: {span} is longer than any quiet span"
    );
    let same_days = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
        let sh = chrono_tz::Asia::Shanghai;
        a.date_naive() == b.date_naive()
            && sh.from_utc_datetime(&a.naive_utc()).date_naive() == sh.from_utc_datetime(&b.naive_utc()).date_naive()
    };
    let margin = chrono::Duration::minutes(10);
    let mut start = now - span - margin;
    while !same_days(start - margin, start + span + margin) {
        start -= chrono::Duration::minutes(15);
    }
    start
}

/// One admitted passage as a kiosk sends it (log `ab`, gate "Main", a green health pass), for
/// tests and benchmarks that feed the real ingest route.
pub fn passage_json(
    kiosk: &str,
    venue: &str,
    seq: i64,
    subject: &str,
    direction: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "event_id": uuid::Uuid::new_v4(), "log_id": "ab", "seq": seq, "kiosk_id": kiosk, "venue_id": venue,
        "gate": "Main", "direction": direction, "subject": subject, "kind": "health", "issuer": "iss",
        "health": "green", "verdict": "admit", "reason": if direction == "entry" { "ok" } else { "ok_exit" },
        "at": at.to_rfc3339()
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn a_quiet_start_keeps_its_span_inside_one_utc_and_one_shanghai_day_at_every_time() {
        let sh = chrono_tz::Asia::Shanghai;
        let midnight = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        for quarter in 0..96 {
            let now = midnight + Duration::minutes(15 * quarter);
            for span in [Duration::minutes(10), Duration::hours(1), Duration::hours(3)] {
                let start = super::quiet_start_before(now, span);
                let end = start + span;
                assert!(end < now, "{now}: the span is in the past");
                assert!(
                    now - start <= span + Duration::hours(8) + Duration::minutes(30),
                    "{now}: recent"
                );
                assert_eq!(start.date_naive(), end.date_naive(), "{now} {span}: one UTC day");
                assert_eq!(
                    start.with_timezone(&sh).date_naive(),
                    end.with_timezone(&sh).date_naive(),
                    "{now} {span}: one Shanghai day"
                );
            }
        }
    }
}
