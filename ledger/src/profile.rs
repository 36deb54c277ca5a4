//! What a user says about themselves: an email address to be reached at and the
//! locale texts to them are written in. Both are parsed here, once, at the boundary.

use crate::ids::UserId;

/// A user's profile as `GET /v1/me` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub user_id: UserId,
    pub name: String,
    pub email: Option<Email>,
    pub locale: Locale,
}

/// Why an email address or locale was refused; `field` names the request field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("not an email address such as alice@example.com")]
    Email,
    #[error("not a language tag such as en, de or pt-BR")]
    Locale,
}

impl ProfileError {
    pub fn field(&self) -> &'static str {
        match self {
            ProfileError::Email => "email",
            ProfileError::Locale => "locale",
        }
    }
}

/// An email address under a strict rule rather than RFC 5322's every corner: what
/// mail servers actually deliver to. One `@`; a local part of 1 to 64 printable
/// ASCII characters without spaces, quotes, angle brackets or commas; a domain of at
/// least two dot-separated labels of letters, digits and inner hyphens; 254 at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// [`ProfileError::Email`] for anything outside the rule above.
    pub fn parse(value: &str) -> Result<Email, ProfileError> {
        let value = value.trim();
        let (local, domain) = value.split_once('@').ok_or(ProfileError::Email)?;
        let local_ok = (1..=64).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"(),:;<>@[\\]".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()));
        if value.len() <= 254 && local_ok && domain_ok {
            Ok(Email(value.to_owned()))
        } else {
            Err(ProfileError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A BCP 47 language tag, in the shape clients send: a 2 or 3 letter language,
/// then optional subtags of 1 to 8 letters or digits (`en`, `de`, `de-CH`,
/// `pt-BR`, `zh-Hant-TW`), 35 characters at most. The language is kept lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    /// What a user who never chose one gets.
    pub fn default_locale() -> Locale {
        Locale("en".to_owned())
    }

    /// # Errors
    /// [`ProfileError::Locale`] for anything outside the shape above.
    pub fn parse(value: &str) -> Result<Locale, ProfileError> {
        let mut parts = value.split('-');
        let language = parts.next().unwrap_or_default();
        let language_ok =
            (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if value.len() <= 35 && language_ok && rest_ok {
            let (language, rest) = value.split_at(language.len());
            Ok(Locale(format!("{}{rest}", language.to_ascii_lowercase())))
        } else {
            Err(ProfileError::Locale)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_strict_rule() {
        for good in ["alice@example.com", "a.b+tag@mail.example.de", " x@y.io "] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "a b@example.com",
            "alice@@example.com",
            "alice@exa_mple.com",
            ".a@example.com",
            "a..b@example.com",
            "alice@-example.com",
            "alice@example.c0m",
            "<a>@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(ProfileError::Email), "{bad}");
        }
    }

    #[test]
    fn locales_are_language_tags() {
        assert_eq!(Locale::parse("DE-ch").unwrap().as_str(), "de-ch");
        for good in ["en", "de", "pt-BR", "zh-Hant-TW", "gsw"] {
            assert!(Locale::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "-en",
            "de-CH-toolongsubtag",
            "1n",
        ] {
            assert_eq!(Locale::parse(bad), Err(ProfileError::Locale), "{bad}");
        }
    }
}
