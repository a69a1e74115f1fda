//! Stable error codes. The API, the CLI and the tests refer to these names;
//! once published a code is never renamed.

use std::fmt;

/// A machine-readable reason, rendered as a snake_case `code` in problem JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    MalformedJson,
    UnknownField,
    InvalidType,
    MissingField,
    InvalidValue,
    InvalidEmail,
    InvalidPhone,
    InvalidDate,
    InvalidAmount,
    InvalidCurrency,
    UnknownReference,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidQuery,
    InvalidHeader,
    InvalidCursor,
    InvalidPath,
    NotFound,
    Unauthenticated,
    Forbidden,
    ProcessingRestricted,
    ObjectedPurpose,
    NoConsent,
    UnknownPurpose,
    PurposeNotAllowed,
    FieldForbidden,
    AddressNotAllowed,
    GuardianRequired,
    ConfirmationExpired,
    RateLimited,
    Conflict,
    InUse,
    MethodNotAllowed,
    Unavailable,
    RequestTimeout,
    UriTooLong,
    HeadersTooLarge,
    Internal,
    InvalidCredentials,
    CsrfFailed,
    WeakPassword,
    TotpInvalid,
    InvalidTransition,
    NotVerified,
    RequestLocked,
    VerificationFailed,
    AlreadyExtended,
    FulfilmentPending,
    LinkExpired,
    ErasureException,
    SuppressedAfterErasure,
    NoTransferMechanism,
    TransferMechanismExpired,
    RecipientEnded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::UnknownField => "unknown_field",
            Self::InvalidType => "invalid_type",
            Self::MissingField => "missing_field",
            Self::InvalidValue => "invalid_value",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidPhone => "invalid_phone",
            Self::InvalidDate => "invalid_date",
            Self::InvalidAmount => "invalid_amount",
            Self::InvalidCurrency => "invalid_currency",
            Self::UnknownReference => "unknown_reference",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidHeader => "invalid_header",
            Self::InvalidCursor => "invalid_cursor",
            Self::InvalidPath => "invalid_path",
            Self::NotFound => "not_found",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::ProcessingRestricted => "processing_restricted",
            Self::ObjectedPurpose => "objected_purpose",
            Self::NoConsent => "no_consent",
            Self::UnknownPurpose => "unknown_purpose",
            Self::PurposeNotAllowed => "purpose_not_allowed",
            Self::FieldForbidden => "field_forbidden",
            Self::AddressNotAllowed => "address_not_allowed",
            Self::GuardianRequired => "guardian_required",
            Self::ConfirmationExpired => "confirmation_expired",
            Self::RateLimited => "rate_limited",
            Self::Conflict => "conflict",
            Self::InUse => "in_use",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable => "unavailable",
            Self::RequestTimeout => "request_timeout",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::Internal => "internal_error",
            Self::InvalidCredentials => "invalid_credentials",
            Self::CsrfFailed => "csrf_failed",
            Self::WeakPassword => "weak_password",
            Self::TotpInvalid => "totp_invalid",
            Self::InvalidTransition => "invalid_transition",
            Self::NotVerified => "not_verified",
            Self::RequestLocked => "request_locked",
            Self::VerificationFailed => "verification_failed",
            Self::AlreadyExtended => "already_extended",
            Self::FulfilmentPending => "fulfilment_pending",
            Self::LinkExpired => "link_expired",
            Self::ErasureException => "erasure_exception",
            Self::SuppressedAfterErasure => "suppressed_after_erasure",
            Self::NoTransferMechanism => "no_transfer_mechanism",
            Self::TransferMechanismExpired => "transfer_mechanism_expired",
            Self::RecipientEnded => "recipient_ended",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            Self::MalformedJson
            | Self::InvalidQuery
            | Self::InvalidHeader
            | Self::InvalidCursor
            | Self::InvalidPath => 400,
            Self::UnknownField
            | Self::InvalidType
            | Self::MissingField
            | Self::InvalidValue
            | Self::InvalidEmail
            | Self::InvalidPhone
            | Self::InvalidDate
            | Self::InvalidAmount
            | Self::InvalidCurrency
            | Self::UnknownReference
            | Self::GuardianRequired
            | Self::WeakPassword
            | Self::TotpInvalid
            | Self::VerificationFailed => 422,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::NotFound => 404,
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden
            | Self::ProcessingRestricted
            | Self::ObjectedPurpose
            | Self::NoConsent
            | Self::UnknownPurpose
            | Self::PurposeNotAllowed
            | Self::FieldForbidden
            | Self::AddressNotAllowed
            | Self::NoTransferMechanism
            | Self::TransferMechanismExpired
            | Self::RecipientEnded
            | Self::CsrfFailed => 403,
            Self::Conflict
            | Self::InUse
            | Self::InvalidTransition
            | Self::NotVerified
            | Self::RequestLocked
            | Self::AlreadyExtended
            | Self::FulfilmentPending
            | Self::ErasureException
            | Self::SuppressedAfterErasure => 409,
            Self::ConfirmationExpired | Self::LinkExpired => 410,
            Self::RateLimited => 429,
            Self::MethodNotAllowed => 405,
            Self::Unavailable => 503,
            Self::RequestTimeout => 408,
            Self::UriTooLong => 414,
            Self::HeadersTooLarge => 431,
            Self::Internal => 500,
        }
    }

    /// A short human title for the code (the problem's `title`).
    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedJson => "The request body is not valid JSON",
            Self::UnknownField => "The request has a field Kith does not know",
            Self::InvalidType => "A field has the wrong type",
            Self::MissingField => "A required field is missing",
            Self::InvalidValue => "A field has an invalid value",
            Self::InvalidEmail => "An e-mail address is malformed",
            Self::InvalidPhone => "A phone number is malformed",
            Self::InvalidDate => "A date or time is malformed",
            Self::InvalidAmount => "An amount is invalid",
            Self::InvalidCurrency => "A currency code is invalid",
            Self::UnknownReference => "A referenced record does not exist",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "The request body must be JSON",
            Self::InvalidQuery => "A query parameter is invalid",
            Self::InvalidHeader => "A request header is invalid",
            Self::InvalidCursor => "The pagination cursor is invalid",
            Self::InvalidPath => "The request path is not valid text",
            Self::NotFound => "Not found",
            Self::Unauthenticated => "Authentication required",
            Self::Forbidden => "Not allowed",
            Self::ProcessingRestricted => "Processing of this person is restricted",
            Self::ObjectedPurpose => "This person objected to this purpose",
            Self::NoConsent => "This purpose needs the person's consent",
            Self::UnknownPurpose => "The purpose is not in the catalogue",
            Self::PurposeNotAllowed => "This role may not process data for this purpose",
            Self::FieldForbidden => "A field the caller may not see or change",
            Self::AddressNotAllowed => "This key may not be used from this address",
            Self::GuardianRequired => "Consent of a child needs a guardian record",
            Self::ConfirmationExpired => "The confirmation link is unknown, used or expired",
            Self::RateLimited => "Too many requests",
            Self::Conflict => "Conflict",
            Self::InUse => "The record is still in use",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Unavailable => "Service unavailable",
            Self::RequestTimeout => "The request was not received in time",
            Self::UriTooLong => "The request's path and query are too long",
            Self::HeadersTooLarge => "The request's headers are too large",
            Self::Internal => "Internal error",
            Self::InvalidCredentials => "The sign-in details are not valid",
            Self::CsrfFailed => "The request lacks the session's CSRF token",
            Self::WeakPassword => "The password does not meet the password policy",
            Self::TotpInvalid => "The one-time code is not valid",
            Self::InvalidTransition => "The request cannot move to this state from its current one",
            Self::NotVerified => "The person's identity is not verified yet",
            Self::RequestLocked => "Too many failed verifications: the DPO must unlock the request",
            Self::VerificationFailed => "The verification token is unknown, used or expired",
            Self::AlreadyExtended => "The deadline was extended already",
            Self::FulfilmentPending => "Kith cannot carry out this kind of request yet",
            Self::LinkExpired => "The download link is unknown, used or expired",
            Self::ErasureException => "An exception to erasure is recorded for this person",
            Self::SuppressedAfterErasure => "This person was erased and may not be created again",
            Self::NoTransferMechanism => "The recipient is in a third country without a valid transfer mechanism",
            Self::TransferMechanismExpired => "The recipient's transfer mechanism has expired",
            Self::RecipientEnded => "The relationship with this recipient has ended",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected input. `detail` names the field and the rule, never the value:
/// the value may be personal and error text reaches logs and clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ValidationError {
    pub code: ErrorCode,
    pub detail: String,
}

impl ValidationError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }

    /// Prefixes the field path, so nested errors read `lines[2].quantity: ...`.
    pub fn at(mut self, field: &str) -> Self {
        self.detail = format!("{field}: {}", self.detail);
        self
    }
}
