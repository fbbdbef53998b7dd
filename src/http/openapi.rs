//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the admin API, kept beside the
//! handlers and checked against the router by a test.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

/// The document, served as written.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::OPENAPI_JSON;
    use crate::domain::rules::{Kind, Rules};

    const HTTP_METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// The sources that register routes, with the prefix each router is served under.
    const ROUTERS: [(&str, &str, &str); 22] = [
        ("api/mod.rs", "/api/v1", include_str!("api/mod.rs")),
        (
            "api/programs.rs",
            "/api/v1",
            include_str!("api/programs.rs"),
        ),
        (
            "api/accounts.rs",
            "/api/v1",
            include_str!("api/accounts.rs"),
        ),
        ("api/cards.rs", "/api/v1", include_str!("api/cards.rs")),
        ("api/orders.rs", "/api/v1", include_str!("api/orders.rs")),
        (
            "api/device_logs.rs",
            "/api/v1",
            include_str!("api/device_logs.rs"),
        ),
        ("passkit/mod.rs", "/passes", include_str!("passkit/mod.rs")),
        ("webhook.rs", "", include_str!("webhook.rs")),
        ("openapi.rs", "/api/v1", include_str!("openapi.rs")),
        ("health.rs", "", include_str!("health.rs")),
        ("metrics.rs", "", include_str!("metrics.rs")),
        ("images.rs", "", include_str!("images.rs")),
        ("google.rs", "", include_str!("google.rs")),
        ("api/outbox.rs", "/api/v1", include_str!("api/outbox.rs")),
        ("api/invites.rs", "/api/v1", include_str!("api/invites.rs")),
        ("api/keys.rs", "/api/v1", include_str!("api/keys.rs")),
        (
            "api/analytics.rs",
            "/api/v1",
            include_str!("api/analytics.rs"),
        ),
        ("api/privacy.rs", "/api/v1", include_str!("api/privacy.rs")),
        ("api/designs.rs", "/api/v1", include_str!("api/designs.rs")),
        ("api/staff.rs", "/api/v1", include_str!("api/staff.rs")),
        ("api/audit.rs", "/api/v1", include_str!("api/audit.rs")),
        (
            "api/design_preview.rs",
            "/api/v1",
            include_str!("api/design_preview.rs"),
        ),
    ];

    fn document() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json is valid JSON")
    }

    /// `(METHOD, path)` of every route call in `source`: its path literal, and the method
    /// routers (`get(`, `post(`, `patch(`, …) up to the parenthesis that closes the call. The
    /// needle is built with `concat!` so that this file's own tests do not count as a route.
    fn routes_in(source: &str, prefix: &str) -> Vec<(String, String)> {
        const CALL: &str = concat!(".rou", "te(");
        let mut found = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find(CALL) {
            rest = rest[start + CALL.len()..].trim_start();
            rest = rest
                .strip_prefix('"')
                .expect("a route path is a string literal");
            let end = rest.find('"').expect("a route path ends with a quote");
            let path = format!("{prefix}{}", &rest[..end]);
            rest = &rest[end + 1..];
            // The rest of the call, up to the parenthesis that closes it.
            let mut depth = 1;
            let close = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a route call is closed");
            let call = &rest[..close];
            let methods: Vec<&str> = HTTP_METHODS
                .into_iter()
                .filter(|m| {
                    call.match_indices(&format!("{m}(")).any(|(i, _)| {
                        !call[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                })
                .collect();
            assert!(
                !methods.is_empty(),
                "no method in the route call for {path}"
            );
            for m in methods {
                found.push((m.to_uppercase(), path.clone()));
            }
            rest = &rest[close..];
        }
        found
    }

    #[test]
    fn the_document_parses_as_json_with_openapi_3_1_0() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string());
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }

    #[test]
    fn every_route_in_the_routers_is_documented_and_nothing_else() {
        let app = include_str!("mod.rs");
        assert!(
            app.contains(r#".nest("/api/v1", api)"#),
            "the API is no longer nested at /api/v1; update ROUTERS"
        );
        let mut registered = BTreeSet::new();
        for (file, prefix, source) in ROUTERS {
            for route in routes_in(source, prefix) {
                assert!(registered.insert(route.clone()), "{route:?} twice ({file})");
            }
        }
        assert!(
            registered.len() > 10,
            "the scan found too few routes: {registered:?}"
        );

        let doc = document();
        let paths = doc["paths"].as_object().expect("paths is an object");
        let documented: BTreeSet<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_object().expect("a path item is an object");
                item.keys()
                    .filter(|k| HTTP_METHODS.contains(&k.as_str()))
                    .map(|m| (m.to_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();

        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&registered).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routed but not in openapi.json: {undocumented:?}; in openapi.json but not routed: {unrouted:?}"
        );
    }

    #[test]
    fn every_reference_points_at_a_defined_component() {
        fn walk(v: &Value, doc: &Value, refs: &mut usize) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        let pointer = r.strip_prefix('#').expect("only local references");
                        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
                        *refs += 1;
                    }
                    map.values().for_each(|v| walk(v, doc, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc, refs)),
                _ => {}
            }
        }
        let doc = document();
        let mut refs = 0;
        walk(&doc, &doc, &mut refs);
        assert!(refs > 0);
    }

    #[test]
    fn the_documented_program_examples_pass_the_rules_validation() {
        let doc = document();
        let examples =
            doc["paths"]["/api/v1/programs"]["post"]["requestBody"]["content"]["application/json"]
                ["examples"]
                .as_object()
                .expect("createProgram has examples");
        let mut kinds = BTreeSet::new();
        for (name, example) in examples {
            let body = &example["value"];
            let kind: Kind = serde_json::from_value(body["kind"].clone()).expect("a kind");
            if let Err(e) = Rules::parse(kind, &body["rules"]) {
                panic!("example {name}: {e}");
            }
            kinds.insert(kind.as_str());
        }
        assert_eq!(kinds.len(), 4, "one example per kind: {kinds:?}");
    }
}
