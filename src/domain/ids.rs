//! Typed ids: each table's key is its own type, so an interview's id cannot be passed where a
//! user's is expected. An id is any string (one from a URL is looked up, and not found if it
//! is no one's); new ones are random UUIDs. Stored as text, sent as a plain JSON string.

/// Declares an id type.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $name {
            fn sql_text(&self) -> &str {
                &self.0
            }

            fn from_sql_text(raw: String) -> Result<Self, String> {
                Ok(Self(raw))
            }
        }

        // In the API description: a plain string.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        $crate::domain::text_column::text_column!($name);
    };
}

id_type!(
    /// `users.id`.
    UserId
);
id_type!(
    /// `interviews.id`.
    InterviewId
);
id_type!(
    /// `messages.id`.
    MessageId
);
id_type!(
    /// `questions.id`: a bank question's slug or an admin's question's UUID.
    QuestionId
);
id_type!(
    /// `jobs.id`.
    JobId
);
id_type!(
    /// `candidates.id`.
    CandidateId
);
id_type!(
    /// `invites.id`.
    InviteId
);
id_type!(
    /// `files.id`.
    FileId
);
id_type!(
    /// `identities.id`: a sign-in at an OpenID Connect provider linked to an account.
    IdentityId
);
id_type!(
    /// `api_keys.id`.
    ApiKeyId
);
id_type!(
    /// `api_key_usage.id`: one request made with an API key.
    ApiKeyUseId
);
id_type!(
    /// `webhook_endpoints.id`: a URL a recruiter receives events at.
    WebhookEndpointId
);
id_type!(
    /// `webhook_messages.id`: one event for one endpoint; sent as `webhook-id`, the same on
    /// every attempt, so receivers can drop repeats.
    WebhookMessageId
);
id_type!(
    /// `transcriptions.id`: a batch transcription task.
    TranscriptionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_text_in_json_and_in_display() {
        let id = InterviewId::from("abc-123");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"abc-123\"");
        assert_eq!(
            serde_json::from_str::<InterviewId>("\"abc-123\"").expect("json"),
            id
        );
        assert_eq!(id.to_string(), "abc-123");
        assert_ne!(InterviewId::random(), InterviewId::random());
    }
}
