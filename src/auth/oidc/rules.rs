//! Which account a verified sign-in at a provider belongs to: the account rules as one pure
//! function, free of the database and of HTTP.

use super::OidcError;
use crate::domain::UserId;

/// What is known, when a provider's sign-in comes back, about the person and viva's accounts.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The account this identity (issuer, subject) is linked to already.
    pub linked_to: Option<&'a UserId>,
    /// The signed-in user who started the sign-in to link a provider to their account.
    pub signed_in: Option<&'a UserId>,
    /// The email the provider gave, when it is a usable address.
    pub email: Option<&'a str>,
    /// The provider says the email is the person's own.
    pub email_verified: bool,
    /// The account that has that email already.
    pub email_owner: Option<EmailOwner<'a>>,
    /// Password sign-in is on (`password_sign_in`).
    pub password_sign_in: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct EmailOwner<'a> {
    pub id: &'a UserId,
    pub has_password: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A known identity: sign in to its account.
    SignIn(UserId),
    /// The signed-in user signed in at a provider already linked to them: nothing to do.
    AlreadyLinked,
    /// Link the identity to the signed-in user.
    Link(UserId),
    /// The person has no account yet: create one (a candidate) and link the identity.
    Create,
    /// An account has the provider's verified email: link only once its password is given.
    ConfirmWithPassword(UserId),
}

/// The account rules:
/// - a known identity signs in to its account (refused, while someone is signed in, when it is
///   another account's);
/// - a signed-in user links a new identity to their own account;
/// - otherwise the email decides: a new one creates an account; one that an account has already
///   links to it only when the provider verified the email and the account's password is given
///   next, since anyone can claim an unverified address at some provider.
pub fn decide(facts: &Facts<'_>) -> Result<Decision, OidcError> {
    if let Some(owner) = facts.linked_to {
        return match facts.signed_in {
            None => Ok(Decision::SignIn(owner.clone())),
            Some(me) if me == owner => Ok(Decision::AlreadyLinked),
            Some(_) => Err(OidcError::IdentityTaken),
        };
    }
    if let Some(me) = facts.signed_in {
        return Ok(Decision::Link(me.clone()));
    }
    if facts.email.is_none() {
        return Err(OidcError::EmailMissing);
    }
    match facts.email_owner {
        None => Ok(Decision::Create),
        Some(_) if !facts.email_verified => Err(OidcError::EmailUnverified),
        Some(owner) if owner.has_password && facts.password_sign_in => {
            Ok(Decision::ConfirmWithPassword(owner.id.clone()))
        }
        Some(_) => Err(OidcError::AccountExists),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts<'static> {
        Facts {
            linked_to: None,
            signed_in: None,
            email: Some("ada@example.com"),
            email_verified: true,
            email_owner: None,
            password_sign_in: true,
        }
    }

    #[test]
    fn a_known_identity_signs_in_to_its_account() {
        let owner = UserId::from("owner");
        let facts = Facts {
            linked_to: Some(&owner),
            email_verified: false,
            ..facts()
        };
        assert_eq!(decide(&facts).unwrap(), Decision::SignIn(owner.clone()));
    }

    #[test]
    fn a_signed_in_user_links_a_new_identity_but_not_someone_elses() {
        let me = UserId::from("me");
        let other = UserId::from("other");
        let linking = Facts {
            signed_in: Some(&me),
            email: None,
            email_verified: false,
            ..facts()
        };
        assert_eq!(decide(&linking).unwrap(), Decision::Link(me.clone()));
        let mine = Facts {
            linked_to: Some(&me),
            ..linking.clone()
        };
        assert_eq!(decide(&mine).unwrap(), Decision::AlreadyLinked);
        let theirs = Facts {
            linked_to: Some(&other),
            ..linking
        };
        assert!(matches!(decide(&theirs), Err(OidcError::IdentityTaken)));
    }

    #[test]
    fn a_new_email_creates_an_account_verified_or_not() {
        assert_eq!(decide(&facts()).unwrap(), Decision::Create);
        let unverified = Facts {
            email_verified: false,
            ..facts()
        };
        assert_eq!(decide(&unverified).unwrap(), Decision::Create);
        let no_email = Facts {
            email: None,
            ..facts()
        };
        assert!(matches!(decide(&no_email), Err(OidcError::EmailMissing)));
    }

    #[test]
    fn an_existing_email_links_only_when_verified_and_after_the_password() {
        let owner = UserId::from("owner");
        let with_password = EmailOwner {
            id: &owner,
            has_password: true,
        };
        let existing = Facts {
            email_owner: Some(with_password),
            ..facts()
        };
        assert_eq!(
            decide(&existing).unwrap(),
            Decision::ConfirmWithPassword(owner.clone())
        );
        let unverified = Facts {
            email_verified: false,
            ..existing.clone()
        };
        assert!(matches!(
            decide(&unverified),
            Err(OidcError::EmailUnverified)
        ));
        let no_password = Facts {
            email_owner: Some(EmailOwner {
                id: &owner,
                has_password: false,
            }),
            ..existing.clone()
        };
        assert!(matches!(
            decide(&no_password),
            Err(OidcError::AccountExists)
        ));
        let passwords_off = Facts {
            password_sign_in: false,
            ..existing
        };
        assert!(matches!(
            decide(&passwords_off),
            Err(OidcError::AccountExists)
        ));
    }
}
