//! `text_enum!`: an enum whose values are stored and sent as fixed snake_case texts. Each
//! variant's text is written once; the macro gives the enum `as_str`, `parse`, `ALL`,
//! `Display`, serde as the text, and diesel's mapping to a `Text` column on both databases
//! ([`super::text_column`]), so
//! a row holds the enum itself and a misspelt value does not compile.

/// Declares a text enum:
///
/// ```text
/// text_enum! {
///     /// Docs.
///     pub enum InterviewStatus as "status" {
///         Pending = "pending",
///         InProgress = "in_progress",
///     }
/// }
/// ```
///
/// `as "status"` names the value in `parse`'s error ("status: `x` is not one of …").
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            pub fn parse(raw: &str) -> Result<Self, $crate::domain::Invalid> {
                match raw {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::domain::Invalid(format!(
                        "{}: `{other}` is not one of {}",
                        $what,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            fn sql_text(&self) -> &str {
                self.as_str()
            }

            fn from_sql_text(raw: String) -> Result<Self, String> {
                Self::parse(&raw).map_err(|invalid| invalid.0)
            }
        }

        // In the API description: a string, one of the texts.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        $crate::domain::text_column::text_column!($name);
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test enum.
        pub enum Colour as "colour" {
            Red = "red",
            DeepBlue = "deep_blue",
        }
    }

    #[test]
    fn every_value_reads_back_from_its_text_and_its_json() {
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Ok(*colour));
            let json = serde_json::to_string(colour).expect("serialises");
            assert_eq!(json, format!("\"{colour}\""));
            assert_eq!(serde_json::from_str::<Colour>(&json).ok(), Some(*colour));
        }
    }

    #[test]
    fn an_unknown_text_names_the_choices() {
        let e = Colour::parse("green").expect_err("not a colour");
        assert_eq!(e.0, "colour: `green` is not one of red, deep_blue");
        let e = serde_json::from_str::<Colour>("\"green\"").expect_err("not a colour");
        assert!(e.to_string().contains("red, deep_blue"), "{e}");
    }
}
