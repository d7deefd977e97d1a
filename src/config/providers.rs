//! The OpenID Connect providers people may sign in with: the TOML file that the
//! `oidc_providers` setting names.
//!
//! ```toml
//! [[provider]]
//! key = "keycloak"                 # in the sign-in URLs: /auth/oidc/keycloak/start
//! name = "Company login"           # the button says "Sign in with Company login"
//! issuer = "https://sso.example.com/realms/staff"
//! client_id = "viva"
//! client_secret = "…"
//! scopes = ["email", "profile"]    # optional; `openid` is always asked for
//!
//! [[provider]]
//! preset = "google"                # key, name and issuer of a known provider
//! client_id = "…"
//! client_secret = "…"
//! ```
//!
//! Errors name the provider and the field, never a value (the file holds client secrets).

use std::path::Path;

use secrecy::SecretString;
use url::Url;

/// Scopes asked for when a provider lists none (`openid` is always added).
const DEFAULT_SCOPES: [&str; 2] = ["email", "profile"];

/// The largest providers file read: it is a few lines per provider.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// One provider people may sign in with.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// Names the provider in URLs and in stored identities: 1–32 of `a-z`, `0-9`, `-`, `_`.
    pub key: String,
    /// What the sign-in button calls it.
    pub name: String,
    /// The issuer exactly as the provider writes it (discovery compares it as text); its
    /// discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
}

/// A known provider: what `preset = "…"` fills in.
struct Preset {
    key: &'static str,
    name: &'static str,
    issuer: &'static str,
}

const PRESETS: [Preset; 3] = [
    Preset {
        key: "google",
        name: "Google",
        issuer: "https://accounts.google.com",
    },
    Preset {
        key: "linkedin",
        name: "LinkedIn",
        issuer: "https://www.linkedin.com/oauth",
    },
    Preset {
        key: "gitlab",
        name: "GitLab",
        issuer: "https://gitlab.com",
    },
];

/// Every configured provider, in the file's order (the order of the buttons).
#[derive(Debug, Clone, Default)]
pub struct OidcProviders(pub Vec<OidcProvider>);

impl OidcProviders {
    /// Reads and checks the providers file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let metadata = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
        if !metadata.is_file() || metadata.len() > MAX_FILE_BYTES {
            return Err("expected a TOML file of at most 1 MiB".into());
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?;
        Self::parse(&text)
    }

    /// Parses the text of a providers file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("not TOML: {}", one_line(e.message())))?;
        if let Some(other) = table.keys().find(|k| *k != "provider") {
            return Err(format!(
                "unknown entry `{other}`; expected [[provider]] tables"
            ));
        }
        let Some(entries) = table.get("provider") else {
            return Ok(Self::default());
        };
        let entries = entries
            .as_array()
            .ok_or("`provider` must be a list of [[provider]] tables")?;
        let mut providers: Vec<OidcProvider> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry
                .as_table()
                .ok_or_else(|| format!("provider {}: expected a table", index + 1))?;
            let provider = provider(entry).map_err(|e| format!("provider {}: {e}", index + 1))?;
            if providers.iter().any(|p| p.key == provider.key) {
                return Err(format!("provider key `{}` is used twice", provider.key));
            }
            providers.push(provider);
        }
        Ok(Self(providers))
    }

    pub fn find(&self, key: &str) -> Option<&OidcProvider> {
        self.0.iter().find(|p| p.key == key)
    }
}

fn provider(entry: &toml::Table) -> Result<OidcProvider, String> {
    const FIELDS: [&str; 7] = [
        "preset",
        "key",
        "name",
        "issuer",
        "client_id",
        "client_secret",
        "scopes",
    ];
    if let Some(other) = entry.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{other}`; expected {}",
            FIELDS.join(", ")
        ));
    }
    let preset = match text(entry, "preset")? {
        None => None,
        Some("github") => {
            return Err(
                "GitHub signs in with plain OAuth2 and issues no OpenID Connect ID \
                        token, so it cannot be a provider here; put it behind a broker that \
                        speaks OpenID Connect (Keycloak, Dex) and configure that"
                    .into(),
            )
        }
        Some(name) => Some(PRESETS.iter().find(|p| p.key == name).ok_or_else(|| {
            let known: Vec<&str> = PRESETS.iter().map(|p| p.key).collect();
            format!("unknown preset; known: {}", known.join(", "))
        })?),
    };
    let key = match (text(entry, "key")?, preset) {
        (Some(key), _) => key.to_owned(),
        (None, Some(preset)) => preset.key.to_owned(),
        (None, None) => return Err("`key` is required".into()),
    };
    if key.is_empty()
        || key.len() > 32
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err("`key` must be 1 to 32 of a-z, 0-9, - and _".into());
    }
    let name = text(entry, "name")?
        .or(preset.map(|p| p.name))
        .ok_or("`name` is required")?;
    if name.trim().is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err("`name` must be 1 to 60 characters, without control characters".into());
    }
    let issuer = text(entry, "issuer")?
        .or(preset.map(|p| p.issuer))
        .ok_or("`issuer` is required")?;
    parse_issuer(issuer)?;
    let client_id = text(entry, "client_id")?
        .filter(|id| !id.is_empty())
        .ok_or("`client_id` is required")?;
    let client_secret = text(entry, "client_secret")?
        .filter(|secret| !secret.is_empty())
        .ok_or("`client_secret` is required")?;
    let scopes = match entry.get("scopes") {
        None => DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
        Some(value) => scopes(value)?,
    };
    Ok(OidcProvider {
        key,
        name: name.trim().to_owned(),
        issuer: issuer.to_owned(),
        client_id: client_id.to_owned(),
        client_secret: SecretString::from(client_secret.to_owned()),
        scopes,
    })
}

/// A string field, `None` when absent.
fn text<'a>(entry: &'a toml::Table, field: &str) -> Result<Option<&'a str>, String> {
    match entry.get(field) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .map(|s| Some(s.trim()))
            .ok_or_else(|| format!("`{field}` must be a string")),
    }
}

fn scopes(value: &toml::Value) -> Result<Vec<String>, String> {
    let list = value
        .as_array()
        .ok_or("`scopes` must be a list of strings")?;
    let mut scopes = Vec::new();
    for scope in list {
        let scope = scope.as_str().ok_or("`scopes` must be a list of strings")?;
        if scope.is_empty()
            || !scope
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err("a scope must be printable ASCII without spaces".into());
        }
        // `openid` is always asked for.
        if scope != "openid" && !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// An issuer URL: https, or http on a loopback host (a provider on this machine, in tests and
/// development).
fn parse_issuer(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("`issuer` is not a URL: {e}"))?;
    let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
        || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("`issuer` must be an https:// URL".into()),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("`issuer` must have no query or fragment".into());
    }
    Ok(url)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn reads_providers_in_order_with_presets_and_default_scopes() {
        let providers = OidcProviders::parse(
            r#"
            [[provider]]
            key = "keycloak"
            name = "Company login"
            issuer = "https://sso.example.com/realms/staff"
            client_id = "viva"
            client_secret = "s3cret"
            scopes = ["openid", "email", "email", "groups"]

            [[provider]]
            preset = "google"
            client_id = "g-id"
            client_secret = "g-secret"
            "#,
        )
        .unwrap();
        let [keycloak, google] = providers.0.as_slice() else {
            panic!("{providers:?}");
        };
        assert_eq!(keycloak.key, "keycloak");
        assert_eq!(keycloak.name, "Company login");
        assert_eq!(keycloak.issuer, "https://sso.example.com/realms/staff");
        assert_eq!(keycloak.scopes, ["email", "groups"]);
        assert_eq!(keycloak.client_secret.expose_secret(), "s3cret");
        assert_eq!(
            (google.key.as_str(), google.name.as_str()),
            ("google", "Google")
        );
        assert_eq!(google.issuer, "https://accounts.google.com");
        assert_eq!(google.scopes, ["email", "profile"]);
        assert!(providers.find("google").is_some() && providers.find("nope").is_none());
    }

    #[test]
    fn the_secret_is_not_in_debug_output_or_errors() {
        let providers = OidcProviders::parse(
            "[[provider]]\npreset = \"gitlab\"\nclient_id = \"x\"\nclient_secret = \"hunter2\"\n",
        )
        .unwrap();
        assert!(!format!("{providers:?}").contains("hunter2"));
        let err = OidcProviders::parse(
            "[[provider]]\npreset = \"gitlab\"\nclient_id = \"hunter2\"\nclient_secret = 5\n",
        )
        .unwrap_err();
        assert!(
            err.contains("client_secret") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn refuses_what_cannot_work() {
        let cases = [
            ("[[provider]]\nkey = \"x\"\nname = \"X\"\nclient_id = \"a\"\nclient_secret = \"b\"", "issuer"),
            ("[[provider]]\nkey = \"x\"\nname = \"X\"\nissuer = \"http://sso.example.com\"\nclient_id = \"a\"\nclient_secret = \"b\"", "https"),
            ("[[provider]]\nkey = \"Bad Key\"\nname = \"X\"\nissuer = \"https://a.example\"\nclient_id = \"a\"\nclient_secret = \"b\"", "key"),
            ("[[provider]]\npreset = \"github\"\nclient_id = \"a\"\nclient_secret = \"b\"", "OAuth2"),
            ("[[provider]]\npreset = \"myspace\"\nclient_id = \"a\"\nclient_secret = \"b\"", "preset"),
            ("[[provider]]\npreset = \"google\"\nclient_secret = \"b\"", "client_id"),
            ("[[provider]]\npreset = \"google\"\nclient_id = \"a\"\nclient_secret = \"b\"\nsecret = \"c\"", "unknown field"),
            ("[[provider]]\npreset = \"google\"\nclient_id = \"a\"\nclient_secret = \"b\"\n[[provider]]\npreset = \"google\"\nclient_id = \"a\"\nclient_secret = \"b\"", "twice"),
            ("providers = 1", "unknown entry"),
            ("[[provider", "not TOML"),
        ];
        for (text, expected) in cases {
            let err = OidcProviders::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn http_is_accepted_for_a_provider_on_this_machine_only() {
        for issuer in [
            "http://127.0.0.1:4000",
            "http://localhost:4000/realms/x",
            "http://[::1]:80",
        ] {
            assert!(parse_issuer(issuer).is_ok(), "{issuer}");
        }
        assert!(parse_issuer("http://10.0.0.1").is_err());
    }

    #[test]
    fn an_empty_file_has_no_providers() {
        assert!(OidcProviders::parse("").unwrap().0.is_empty());
    }
}
