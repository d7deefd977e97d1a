use secrecy::{ExposeSecret, SecretString};
use zxcvbn::feedback::Warning;

use super::Invalid;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A password that passed the policy: 10–128 characters, not on the common-password list
/// (zxcvbn's ranked list, also matched reversed, in l33t-speak and in any case), and not
/// guessable within about a million tries (zxcvbn score ≥ 2, counting the user's own email
/// and name as known words). Never printed: it lives in a [`SecretString`].
pub struct Password(SecretString);

impl Password {
    /// Checks a new password. `user_inputs` are words the attacker knows (email, name).
    pub fn parse_new(raw: &str, user_inputs: &[&str]) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(Invalid(format!(
                "password: must be at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(Invalid(format!(
                "password: must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        let entropy = zxcvbn::zxcvbn(raw, user_inputs);
        let warning = entropy.feedback().and_then(|f| f.warning());
        if matches!(
            warning,
            Some(
                Warning::ThisIsATop10Password
                    | Warning::ThisIsATop100Password
                    | Warning::ThisIsACommonPassword
                    | Warning::ThisIsSimilarToACommonlyUsedPassword
            )
        ) {
            return Err(Invalid(
                "password: is on a list of common passwords; choose another".into(),
            ));
        }
        if u8::from(entropy.score()) < 2 {
            let why = warning.map(|w| format!(" ({w})")).unwrap_or_default();
            return Err(Invalid(format!(
                "password: is too easy to guess{why}; try a few unrelated words together"
            )));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// A password as typed at login: no policy, only the length cap (hashing is costly).
    pub fn for_login(raw: &str) -> Result<Self, Invalid> {
        if raw.chars().count() > MAX_PASSWORD_CHARS {
            return Err(Invalid(format!(
                "password: must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_count_characters() {
        assert!(Password::parse_new("short", &[]).is_err());
        assert!(Password::parse_new(&"é".repeat(129), &[]).is_err());
        let err = Password::parse_new("abc", &[]).unwrap_err().0;
        assert!(err.contains("at least 10"), "{err}");
    }

    #[test]
    fn common_passwords_are_rejected_with_a_reason() {
        for common in [
            "password123",
            "1234567890",
            "qwertyuiop",
            "iloveyou12",
            "PASSWORD1234",
        ] {
            let err = Password::parse_new(common, &[]).unwrap_err().0;
            assert!(
                err.contains("common") || err.contains("guess"),
                "{common}: {err}"
            );
        }
        let err = Password::parse_new("1234567890", &[]).unwrap_err().0;
        assert!(err.contains("common"), "{err}");
    }

    #[test]
    fn guessable_from_user_inputs_is_rejected() {
        assert!(
            Password::parse_new("adalovelace", &["adalovelace@example.com", "adalovelace"])
                .is_err()
        );
    }

    #[test]
    fn strong_passwords_pass() {
        for ok in [
            "correct horse battery staple",
            "tangerine-orbit-47-quill",
            "Zq8#mW2!pL9x",
        ] {
            assert!(Password::parse_new(ok, &[]).is_ok(), "{ok}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::for_login("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
