//! Data-subject requests (Art. 12–22): their kinds, channels and states,
//! which state may follow which, and the deadline arithmetic of Art. 12(3).
//! Pure rules: the register that stores and moves requests is in the server.

use crate::error::{ErrorCode, ValidationError};
use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};
use utoipa::ToSchema;

/// Months to answer a request in (Art. 12(3)).
pub const ANSWER_MONTHS: u8 = 1;
/// Further months an extension may add, in total (Art. 12(3)).
pub const MAX_EXTENSION_MONTHS: u8 = 2;
/// A request due within this many days is "due soon" on the DPO's list.
pub const DUE_SOON_DAYS: i64 = 7;
/// Wrong verification tokens that lock a request until the DPO unlocks it.
pub const MAX_FAILED_ATTEMPTS: i64 = 5;
/// How long a verification token for the person stays valid.
pub const TOKEN_TTL_DAYS: i64 = 7;

/// What a refusal tells the person besides its grounds (Art. 12(4)).
pub const COMPLAINT_STATEMENT: &str = "You have the right to lodge a complaint with a supervisory authority \
     (in particular in the Member State of your habitual residence, place of work or place of the alleged \
     infringement) and to seek a judicial remedy (GDPR Art. 12(4), 77 and 79).";

/// The right a request exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Art. 15.
    Access,
    /// Art. 16.
    Rectification,
    /// Art. 17.
    Erasure,
    /// Art. 18.
    Restriction,
    /// Art. 21.
    Objection,
    /// Art. 20.
    Portability,
}

/// How a request reached the controller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Entered by staff (a letter, a call, an e-mail to the DPO).
    #[default]
    Staff,
    /// Filed by the person through the privacy portal.
    Portal,
    /// Filed by an authorised agent on the person's behalf.
    Agent,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Registered; the person's identity is not verified yet.
    Received,
    /// A verification token was issued to the person and awaits its use.
    IdentityVerification,
    /// Too many wrong tokens: nothing moves until the DPO unlocks it.
    Locked,
    /// Identity verified: the request may be carried out.
    InProgress,
    Completed,
    /// Refused with grounds (Art. 12(4), 12(5)).
    Refused,
    /// Withdrawn by the person.
    Withdrawn,
}

macro_rules! text_forms {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

text_forms!(RequestKind {
    Access => "access",
    Rectification => "rectification",
    Erasure => "erasure",
    Restriction => "restriction",
    Objection => "objection",
    Portability => "portability",
});

text_forms!(Channel { Staff => "staff", Portal => "portal", Agent => "agent" });

text_forms!(RequestStatus {
    Received => "received",
    IdentityVerification => "identity_verification",
    Locked => "locked",
    InProgress => "in_progress",
    Completed => "completed",
    Refused => "refused",
    Withdrawn => "withdrawn",
});

impl RequestStatus {
    pub const ALL: [Self; 7] = [
        Self::Received,
        Self::IdentityVerification,
        Self::Locked,
        Self::InProgress,
        Self::Completed,
        Self::Refused,
        Self::Withdrawn,
    ];

    /// A closed request moves no more.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Refused | Self::Withdrawn)
    }

    /// Whether a request may move from `self` to `to`. Completion needs a
    /// verified identity; a locked request may only be unlocked (back to
    /// `received`), refused or withdrawn; issuing a new token while one is
    /// pending is allowed (the old one stops working).
    pub fn may_become(self, to: Self) -> bool {
        use RequestStatus::*;
        matches!(
            (self, to),
            (Received | IdentityVerification, IdentityVerification | InProgress)
                | (IdentityVerification, Locked)
                | (Locked, Received)
                | (InProgress, Completed)
                | (Received | IdentityVerification | Locked | InProgress, Refused | Withdrawn)
        )
    }

    /// The refusal of a move `may_become` does not allow, with the code
    /// that says why.
    pub fn refuse_move(self, to: Self) -> ValidationError {
        use RequestStatus::*;
        let code = match (self, to) {
            (Locked, _) => ErrorCode::RequestLocked,
            (Received | IdentityVerification, Completed) => ErrorCode::NotVerified,
            _ => ErrorCode::InvalidTransition,
        };
        ValidationError::new(code, format!("a request {} cannot become {}", self.as_str(), to.as_str()))
    }

    /// `Ok` when the move is allowed, else the refusal.
    pub fn check_move(self, to: Self) -> Result<(), ValidationError> {
        if self.may_become(to) {
            Ok(())
        } else {
            Err(self.refuse_move(to))
        }
    }
}

/// `received` plus `months` calendar months, on the same time of day. A day
/// the target month lacks is clamped to its last day: 31 January + 1 month
/// is 28 February (29 in a leap year), 31 January + 3 months is 30 April.
pub fn due_date(received: OffsetDateTime, months: u8) -> OffsetDateTime {
    let date = received.date();
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + i32::from(months);
    let (year, month_number) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u8);
    let month = Month::try_from(month_number).unwrap_or(Month::January);
    let day = date.day().min(month.length(year));
    match Date::from_calendar_date(year, month, day) {
        Ok(due) => received.replace_date(due),
        // Only beyond year 9999; the deadline cannot be later than that.
        Err(_) => received,
    }
}

/// The deadline of a request received at `received` and extended by
/// `extension` months (0 to [`MAX_EXTENSION_MONTHS`]).
pub fn deadline(received: OffsetDateTime, extension: u8) -> OffsetDateTime {
    due_date(received, ANSWER_MONTHS + extension.min(MAX_EXTENSION_MONTHS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn one_month_clamps_to_the_last_day() {
        assert_eq!(due_date(datetime!(2026-01-31 10:00 UTC), 1), datetime!(2026-02-28 10:00 UTC));
        assert_eq!(due_date(datetime!(2028-01-31 10:00 UTC), 1), datetime!(2028-02-29 10:00 UTC));
        assert_eq!(due_date(datetime!(2028-02-29 08:15 UTC), 1), datetime!(2028-03-29 08:15 UTC));
        assert_eq!(due_date(datetime!(2026-12-31 23:59 UTC), 1), datetime!(2027-01-31 23:59 UTC));
        assert_eq!(due_date(datetime!(2026-03-31 00:00 UTC), 1), datetime!(2026-04-30 00:00 UTC));
        assert_eq!(due_date(datetime!(2026-05-15 12:00 UTC), 1), datetime!(2026-06-15 12:00 UTC));
    }

    #[test]
    fn extensions_count_from_receipt() {
        assert_eq!(deadline(datetime!(2026-01-31 10:00 UTC), 2), datetime!(2026-04-30 10:00 UTC));
        assert_eq!(due_date(datetime!(2026-01-31 10:00 UTC), 3), datetime!(2026-04-30 10:00 UTC));
        assert_eq!(deadline(datetime!(2026-12-31 10:00 UTC), 1), datetime!(2027-02-28 10:00 UTC));
        assert_eq!(deadline(datetime!(2027-12-31 10:00 UTC), 1), datetime!(2028-02-29 10:00 UTC));
        assert_eq!(deadline(datetime!(2028-02-29 10:00 UTC), 2), datetime!(2028-05-29 10:00 UTC));
        assert_eq!(deadline(datetime!(2026-01-31 10:00 UTC), 9), deadline(datetime!(2026-01-31 10:00 UTC), 2));
    }

    #[test]
    fn transitions() {
        use RequestStatus::*;
        assert!(Received.may_become(InProgress));
        assert!(Received.may_become(IdentityVerification));
        assert!(IdentityVerification.may_become(Locked));
        assert!(!Received.may_become(Locked));
        assert!(Locked.may_become(Received));
        assert!(!Locked.may_become(InProgress));
        assert!(InProgress.may_become(Completed));
        assert!(!Received.may_become(Completed));
        for closed in [Completed, Refused, Withdrawn] {
            assert!(closed.is_closed());
            for to in RequestStatus::ALL {
                assert!(!closed.may_become(to), "{closed:?} -> {to:?}");
            }
        }
        assert_eq!(Received.refuse_move(Completed).code, ErrorCode::NotVerified);
        assert_eq!(Locked.refuse_move(InProgress).code, ErrorCode::RequestLocked);
        assert_eq!(Completed.refuse_move(Withdrawn).code, ErrorCode::InvalidTransition);
        for status in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(status.as_str()), Some(status));
        }
    }
}
