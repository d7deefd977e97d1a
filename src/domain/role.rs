use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Candidate,
    Recruiter,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Recruiter => "recruiter",
            Self::Admin => "admin",
        }
    }

    /// Recruiters and admins manage jobs and hiring interviews.
    pub fn recruits(self) -> bool {
        matches!(self, Self::Recruiter | Self::Admin)
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "candidate" => Ok(Self::Candidate),
            "recruiter" => Ok(Self::Recruiter),
            "admin" => Ok(Self::Admin),
            other => Err(Invalid(format!(
                "role: `{other}` is not one of candidate, recruiter, admin"
            ))),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
