//! The OpenAPI document at /api-docs, served by a real server: every route of the API is in
//! it with its method, nothing else is, and the kiosk contract's types are described.

use trace_server::api::ROUTES;
use trace_server::testkit::TestServer;

#[test]
fn the_api_document_describes_every_route_and_the_wire_types() {
    let s = TestServer::start();
    let doc: serde_json::Value = reqwest::blocking::get(format!("{}/api-docs", s.url))
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not in /api-docs"
        );
    }
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "/api-docs names {method} {path}, which the server does not serve"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "PassageRecord",
        "IngestReport",
        "VenueRequest",
        "VenueState",
        "Contact",
        "Case",
        "Reason",
    ] {
        assert!(schemas.contains_key(name), "no schema for {name}");
    }
    let reasons = schemas["Reason"]["enum"].as_array().unwrap();
    assert_eq!(
        reasons.len(),
        wire::Reason::ALL.len(),
        "every reason the kiosk may send"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
