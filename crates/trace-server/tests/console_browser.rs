//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver from Rust (fantoccini): a tracer signs in, looks a subject up, is
//! asked for a case, opens one and sees the contact; an operator signs in, sees their venue
//! and is refused another; both sign out. With `CONSOLE_SCREENSHOTS=DIR` every page visited
//! is saved there as a PNG (`scripts/console-screenshots.sh`).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use trace_server::testkit::{TestServer, passage_json as passage};

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver: apt-get install chromium chromium-driver (scripts/test.sh does)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver, lang: &str) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,900", format!("--lang={lang}"),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": lang },
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Saves the page as `DIR/NAME.png` when `CONSOLE_SCREENSHOTS=DIR`.
async fn shot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("CONSOLE_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// Clicks `css` and waits until the page it leads to has loaded (a new document).
async fn click_and_wait(c: &Client, css: &str) {
    c.execute("document.documentElement.dataset.old = '1'", vec![])
        .await
        .unwrap();
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = c
            .execute(
                "return document.readyState === 'complete' && !document.documentElement.dataset.old",
                vec![],
            )
            .await
            .map(|v| v == json!(true))
            .unwrap_or(false);
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "clicking {css} led nowhere");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/ui/login")).await.unwrap();
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    click_and_wait(c, "form button[type=submit]").await;
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
}

fn post(s: &TestServer, token: &str, passages: serde_json::Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(token)
        .json(&passages)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn a_tracer_and_an_operator_click_through_the_console_in_chromium() {
    let s = TestServer::start();
    let mall = s.add_kiosk("mall-north", "mall");
    let park = s.add_kiosk("park-gate", "park");
    let t0 = trace_server::testkit::quiet_start(chrono::Duration::hours(3));
    let m = |n| t0 + chrono::Duration::minutes(n);
    post(
        &s,
        &mall,
        json!([
            passage("mall-north", "mall", 1, "case-1", "entry", m(0)),
            passage("mall-north", "mall", 2, "p-2", "entry", m(20)),
            passage("mall-north", "mall", 3, "case-1", "exit", m(60)),
            passage("mall-north", "mall", 4, "visitor-in-mall", "entry", m(70)),
        ]),
    );
    post(
        &s,
        &park,
        json!([passage("park-gate", "park", 1, "visitor-in-park", "entry", m(0))]),
    );
    let tracer = s.add_tracer("alice");
    let operator = s.add_operator("olga", "mall");
    let base = s.url.clone();
    let day = t0
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let driver = chromedriver();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The tracer, in English.
        let c = browser(&driver, "en").await;
        c.goto(&format!("{base}/ui/contacts")).await.unwrap();
        assert!(
            c.current_url().await.unwrap().path().ends_with("/ui/login"),
            "sent to sign in"
        );
        shot(&c, "login").await;
        sign_in(&c, &base, "tt_wrong").await;
        assert!(text(&c).await.contains("unknown, revoked or expired"));
        sign_in(&c, &base, &tracer).await;
        assert!(c.current_url().await.unwrap().path().ends_with("/ui/contacts"));
        let subject = c.find(Locator::Css("input[name=subject]")).await.unwrap();
        subject.send_keys("case-1").await.unwrap();
        c.find(Locator::Css("input[name=from]"))
            .await
            .unwrap()
            .clear()
            .await
            .unwrap();
        c.execute(
            "document.querySelector('input[name=from]').value = arguments[0]; \
             document.querySelector('input[name=to]').value = arguments[0];",
            vec![json!(day)],
        )
        .await
        .unwrap();
        click_and_wait(&c, "form.inline button").await;
        assert!(
            text(&c).await.contains("recorded under an open case"),
            "a case is asked for"
        );
        shot(&c, "contacts-needs-case").await;
        c.find(Locator::Css("input[name=reason]"))
            .await
            .unwrap()
            .send_keys("lab report 42")
            .await
            .unwrap();
        click_and_wait(&c, "form[action='/ui/cases'] button").await;
        let page = text(&c).await;
        assert!(page.contains("p-2") && page.contains("mall"), "{page}");
        assert!(!page.contains("visitor-in-park"));
        shot(&c, "contacts").await;
        let csv = c
            .find(Locator::Css("a[download]"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        assert!(csv.starts_with("/ui/contacts.csv?") && csv.contains("case="), "{csv}");
        for (path, name, expect) in [
            (format!("/ui/hotspots?day={day}"), "hotspots", "mall"),
            (format!("/ui/peaks?venue=mall&day={day}"), "peaks", "mall"),
            ("/ui/kiosks".to_string(), "kiosks", "park-gate"),
            ("/ui/audit".to_string(), "audit", "contacts"),
        ] {
            c.goto(&format!("{base}{path}")).await.unwrap();
            assert!(text(&c).await.contains(expect), "{path}");
            shot(&c, name).await;
        }
        click_and_wait(&c, "form[action='/ui/logout'] button").await;
        c.goto(&format!("{base}/ui/kiosks")).await.unwrap();
        assert!(
            c.current_url().await.unwrap().path().ends_with("/ui/login"),
            "signed out"
        );
        c.close().await.unwrap();

        // The operator, in Chinese, on a phone-sized window.
        let c = browser(&driver, "zh-CN").await;
        c.set_window_size(390, 844).await.unwrap();
        sign_in(&c, &base, &operator).await;
        assert!(c.current_url().await.unwrap().path().ends_with("/ui/venues/mall"));
        // The passages' day, named: in the hours after midnight in Shanghai they fall on the
        // day before the one the page opens on.
        c.goto(&format!("{base}/ui/venues/mall?day={day}")).await.unwrap();
        let page = text(&c).await;
        assert!(page.contains("场内人数") && page.contains("v-"), "{page}");
        assert!(!page.contains("visitor-in-mall"), "an alias, not the id");
        assert!(!page.contains("visitor-in-park") && !page.contains("park-gate"));
        let inside = c
            .find(Locator::Css("[data-testid=inside]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(inside.trim(), "2", "p-2 and visitor-in-mall are inside");
        shot(&c, "operator-venue").await;
        c.goto(&format!("{base}/ui/venues/park")).await.unwrap();
        let refused = text(&c).await;
        assert!(
            refused.contains("无权访问") && !refused.contains("visitor-in-park"),
            "{refused}"
        );
        shot(&c, "operator-refused").await;
        c.goto(&format!("{base}/ui/contacts?subject=case-1")).await.unwrap();
        assert!(text(&c).await.contains("无权访问"));
        c.close().await.unwrap();
    });
}
