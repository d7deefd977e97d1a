//! The closed sets of values jobs, uploaded files and sent emails take, stored as text.

use super::text_enum::text_enum;

text_enum! {
    /// Whether a job takes new candidates (`jobs.status`).
    pub enum JobStatus as "status" {
        Open = "open",
        Closed = "closed",
    }
}

text_enum! {
    /// What an uploaded file is (`files.kind`).
    pub enum FileKind as "files.kind" {
        Resume = "resume",
    }
}

text_enum! {
    /// Why an email was sent (`emails.kind`).
    pub enum EmailKind as "emails.kind" {
        /// A candidate's interview link.
        Invite = "invite",
        /// A recruiter told that a candidate finished.
        Completed = "completed",
        /// A one-time code to set a new password.
        PasswordReset = "password_reset",
        /// A one-time code that proves the account's email address.
        VerifyEmail = "verify_email",
    }
}

text_enum! {
    /// What became of an email (`emails.status`).
    pub enum EmailStatus as "emails.status" {
        Sent = "sent",
        Failed = "failed",
        /// No SMTP server is configured.
        NotConfigured = "not_configured",
    }
}

text_enum! {
    /// What became of reading an upload's text (`files.text_status`).
    pub enum TextStatus as "files.text_status" {
        /// Read (the text may still be empty: a scanned PDF has none).
        Ok = "ok",
        /// Damaged, or a kind of content the parser cannot handle: the reader failed or crashed.
        Unreadable = "unreadable",
        /// The reader ran out of time or memory (a parser loop, a decompression bomb).
        TooComplex = "too_complex",
    }
}

text_enum! {
    /// What a webhook message announces (`webhook_messages.event_type`); an endpoint subscribes
    /// to any of them but `ping`, which only the endpoint's owner sends, to test it.
    pub enum WebhookEvent as "event" {
        /// A candidate was added to a job, or got a new link.
        CandidateInvited = "candidate.invited",
        /// A candidate started their interview.
        InterviewStarted = "interview.started",
        /// A candidate finished; the payload carries the report.
        InterviewCompleted = "interview.completed",
        /// Every link of a candidate who had not started expired.
        InviteExpired = "invite.expired",
        /// A test sent from the endpoint's page.
        Ping = "ping",
    }
}

text_enum! {
    /// Where a webhook message stands (`webhook_messages.status`).
    pub enum WebhookStatus as "webhook_messages.status" {
        /// Waiting for its first or next attempt.
        Pending = "pending",
        /// A 2xx answer came back.
        Delivered = "delivered",
        /// Every attempt failed; only a redelivery sends it again.
        Failed = "failed",
    }
}
