use super::text_enum::text_enum;

text_enum! {
    /// What an account may do (`users.role`).
    pub enum Role as "role" {
        Candidate = "candidate",
        Recruiter = "recruiter",
        Admin = "admin",
    }
}

impl Role {
    /// Recruiters and admins manage jobs and hiring interviews.
    pub fn recruits(self) -> bool {
        matches!(self, Self::Recruiter | Self::Admin)
    }
}
