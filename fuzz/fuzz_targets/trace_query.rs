//! Fuzz the tracing routes' query strings: parsed as axum parses them, then the dates, the
//! window and the page checked as the handlers do. Bad input is a 400, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trace_server::trace::{Page, Window};
use wire::when::{Edge, parse_instant};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let Ok(p) = serde_urlencoded::from_str::<trace_server::api::tracer::Params>(query) else { return };
    let from = p.from.as_deref().and_then(|v| parse_instant(v, Edge::Start).ok());
    let to = p.to.as_deref().and_then(|v| parse_instant(v, Edge::End).ok());
    if let (Some(from), Some(to)) = (from, to) {
        let _ = Window { from, to }.check();
    }
    let _ = Page {
        limit: p.limit,
        offset: p.offset,
    }
    .check();
});
