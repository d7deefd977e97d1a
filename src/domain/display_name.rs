use super::Invalid;

pub const MAX_DISPLAY_NAME_CHARS: usize = 80;

/// How a user is shown to others: 1–80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Invalid("display_name: is required".into()));
        }
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(Invalid(format!(
                "display_name: must be at most {MAX_DISPLAY_NAME_CHARS} characters"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid(
                "display_name: must not contain control characters".into(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            DisplayName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(81)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
        assert!(DisplayName::parse("Zoë 🎙").is_ok());
    }
}
