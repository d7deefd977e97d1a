//! The API description and the README's example client, against a real server: the served
//! OpenAPI document passes a standard validator (openapi-spec-validator, installed with pip
//! into target/ once), and the README's Python client runs as written with a real API key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use awc::http::StatusCode;

use crate::helpers::{spawn_app, Backend};

/// Pinned: the validator's rules are part of what the test checks.
const VALIDATOR: &str = "openapi-spec-validator==0.7.2";

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// The validator's packages, installed with pip into target/ the first time.
fn validator_path() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("test-python/openapi-spec-validator-0.7.2");
        if let Err(e) = crate::support::pip_install(VALIDATOR, &dir, "openapi_spec_validator") {
            panic!("pip install {VALIDATOR} failed: {e}");
        }
        dir
    })
}

#[actix_web::test]
async fn the_served_description_passes_a_standard_validator() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1")));
    assert!(r.body["paths"]["/api/v1/jobs"]["post"]["requestBody"].is_object());
    let file = app.data_dir.path().join("openapi.json");
    std::fs::write(&file, &r.raw).expect("write the document");
    let output = Command::new("python3")
        .env("PYTHONPATH", validator_path())
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation.exceptions import OpenAPIValidationError\n\
             doc = json.load(open(sys.argv[1]))\n\
             try:\n    validate(doc)\nexcept OpenAPIValidationError as e:\n    sys.exit(f'invalid: {e}')\n\
             print('valid', doc['openapi'])",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("valid 3.1"),
        "the validator refused the document:\n{stdout}\n{stderr}"
    );
}

/// The README's example client, as written there.
fn readme_client() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let after = readme
        .split("**An example client**")
        .nth(1)
        .expect("the README has its example client");
    let start = after.find("```python\n").expect("a python block") + "```python\n".len();
    let end = after[start..].find("```").expect("the block ends") + start;
    after[start..end].to_owned()
}

#[actix_web::test]
async fn the_readme_example_client_runs_with_a_real_key() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let created = app
        .new_api_key(
            &cookie,
            &[
                "jobs:write",
                "candidates:write",
                "candidates:read",
                "reports:read",
            ],
        )
        .await;
    let script = app.data_dir.path().join("client.py");
    std::fs::write(&script, readme_client()).expect("write the client");
    let output = Command::new("python3")
        .arg(&script)
        .env("VIVA_URL", &app.address)
        .env("VIVA_API_KEY", created["key"].as_str().expect("key"))
        .env("VIVA_WAIT", "0")
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("invite link: http"), "{stdout}");
    assert!(stdout.contains("status: pending overall:"), "{stdout}");

    // What it made is there for the recruiter's session too.
    let jobs = app.get("/api/v1/jobs", Some(&cookie)).await;
    assert!(String::from_utf8_lossy(&jobs.raw).contains("Backend engineer"));
}
