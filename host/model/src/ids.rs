//! Identifiers of organizations, machines, users and plugins: short, URL-safe, validated once.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier is empty.
    #[error("{what} id is empty")]
    Empty {
        /// Which kind of id.
        what: &'static str,
    },
    /// The identifier is longer than [`MAX_ID_LEN`] bytes.
    #[error("{what} id `{id}` is longer than {MAX_ID_LEN} characters")]
    TooLong {
        /// Which kind of id.
        what: &'static str,
        /// The rejected id.
        id: String,
    },
    /// The identifier contains something other than lower-case letters, digits, `-` and `_`,
    /// or does not start with a letter or digit.
    #[error(
        "{what} id `{id}` may contain only lower-case letters, digits, `-` and `_`, and must start with a letter or digit"
    )]
    BadCharacter {
        /// Which kind of id.
        what: &'static str,
        /// The rejected id.
        id: String,
    },
}

/// Longest accepted identifier, in bytes.
pub const MAX_ID_LEN: usize = 64;

fn validate(what: &'static str, id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty { what });
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            what,
            id: id.to_owned(),
        });
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let starts_well = id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !starts_well || !id.chars().all(allowed) {
        return Err(IdError::BadCharacter {
            what,
            id: id.to_owned(),
        });
    }
    Ok(())
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `id` and wraps it.
            pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
                let id = id.into();
                validate($what, &id)?;
                Ok(Self(id))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(id: String) -> Result<Self, IdError> {
                Self::new(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(id: &str) -> Result<Self, IdError> {
                Self::new(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

define_id!(
    /// The id of an organization (a shop): every piece of data belongs to exactly one.
    OrgId,
    "organization"
);
define_id!(
    /// The id of a machine, unique within its organization.
    MachineId,
    "machine"
);
define_id!(
    /// The id of a user: random, never reused, and free of personal data so that it may stay
    /// in the audit log after the user's account is deleted.
    UserId,
    "user"
);
define_id!(
    /// The id of a plugin, unique within a Chatter installation (e.g. `simulator`).
    PluginId,
    "plugin"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        assert_eq!(
            MachineId::new("haas-vf2_01").unwrap().as_str(),
            "haas-vf2_01"
        );
    }

    #[test]
    fn rejects_what_would_break_paths_or_keys() {
        for bad in ["", "-lead", "Upper", "a/b", "a b", "ä", &"x".repeat(65)] {
            assert!(MachineId::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn errors_name_the_id() {
        let err = OrgId::new("Acme").unwrap_err();
        assert_eq!(
            err.to_string(),
            "organization id `Acme` may contain only lower-case letters, digits, `-` and `_`, and must start with a letter or digit"
        );
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<PluginId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<PluginId>("\"not ok\"").is_err());
    }
}
