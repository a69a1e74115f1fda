//! Which contact field a column holds: recognised from the headers the
//! big CRMs and address books write in their exports (HubSpot,
//! Salesforce, Pipedrive, Zoho, Google Contacts, Outlook), or named by
//! the importer (`Header=field`).
//!
//! A header is reduced to lower-case letters and digits, a CRM's prefix
//! (`Person - ` in Pipedrive) removed, and qualifiers such as `2`, `Work`
//! or `Value` stripped; what remains is looked up. `E-mail 2 Address`,
//! `Secondary Email` and `E-mail 1 - Value` are all e-mail addresses,
//! while `Email Opt Out` is not (it is left out, not guessed).

use crate::{ErrorCode, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A part of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddressPart {
    Street,
    City,
    PostalCode,
    Region,
    Country,
}

/// Where a column's values go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    GivenName,
    MiddleName,
    FamilyName,
    /// A whole name, split into given and family names when those are not
    /// in columns of their own.
    FullName,
    Emails,
    Phones,
    /// A part of the address `group` (the columns of one address share a
    /// group: `Business`, `Home`, `Address 1`, `Mailing`...).
    Address(String, AddressPart),
    Birthday,
    JobTitle,
    /// The company's name, kept in the contact's custom field `company`.
    Company,
    Notes,
    Tags,
    /// A custom field of this name.
    Custom(String),
    /// Read, and left out.
    Ignore,
}

impl Target {
    /// The name an importer writes after `=`: a contact field, an address
    /// part (`address.city`, `address2.city` for a second address),
    /// `custom.NAME` or `ignore`.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        let target = match name {
            "given_name" => Self::GivenName,
            "middle_name" => Self::MiddleName,
            "family_name" => Self::FamilyName,
            "name" | "full_name" => Self::FullName,
            "emails" | "email" => Self::Emails,
            "phones" | "phone" => Self::Phones,
            "birthday" => Self::Birthday,
            "job_title" => Self::JobTitle,
            "company" => Self::Company,
            "notes" => Self::Notes,
            "tags" => Self::Tags,
            "ignore" | "-" => Self::Ignore,
            _ => {
                if let Some(custom) = name.strip_prefix("custom.").filter(|c| !c.is_empty()) {
                    Self::Custom(custom.to_string())
                } else if let Some((group, part)) = name.split_once('.').filter(|(g, _)| g.starts_with("address")) {
                    let part = match part {
                        "street" => AddressPart::Street,
                        "city" => AddressPart::City,
                        "postal_code" => AddressPart::PostalCode,
                        "region" => AddressPart::Region,
                        "country" => AddressPart::Country,
                        _ => return Err(unknown(name)),
                    };
                    Self::Address(group.to_string(), part)
                } else {
                    return Err(unknown(name));
                }
            }
        };
        Ok(target)
    }

    /// The contact field this target fills, as validation errors name it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::GivenName | Self::MiddleName | Self::FullName => "given_name",
            Self::FamilyName => "family_name",
            Self::Emails => "emails",
            Self::Phones => "phones",
            Self::Address(..) => "addresses",
            Self::Birthday => "birthday",
            Self::JobTitle => "job_title",
            Self::Company | Self::Custom(_) => "custom",
            Self::Notes => "notes",
            Self::Tags => "tags",
            Self::Ignore => "",
        }
    }
}

fn unknown(name: &str) -> ValidationError {
    let name: String = name.chars().take(64).collect();
    ValidationError::new(
        ErrorCode::InvalidValue,
        format!(
            "mapping: {name:?} is not a field; use given_name, middle_name, family_name, name, emails, phones, \
             address.street, address.city, address.postal_code, address.region, address.country, birthday, \
             job_title, company, notes, tags, custom.NAME or ignore"
        ),
    )
}

/// Lower-case letters and digits only.
fn squash(header: &str) -> String {
    header.chars().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric()).collect()
}

/// Words that qualify a field without changing what it is.
const QUALIFIERS: [&str; 14] = [
    "address",
    "value",
    "number",
    "work",
    "home",
    "business",
    "other",
    "personal",
    "primary",
    "secondary",
    "alternate",
    "main",
    "direct",
    "private",
];

fn strip_qualifiers(mut s: String) -> String {
    s.retain(|c| !c.is_ascii_digit());
    for q in QUALIFIERS {
        if s != q {
            s = s.replace(q, "");
        }
    }
    s
}

/// The field a header names, if it is one Kith recognises.
pub fn guess(header: &str) -> Option<Target> {
    let mut s = squash(header);
    // Pipedrive prefixes every column of a person export.
    if let Some(rest) = s.strip_prefix("person").filter(|r| !r.is_empty()) {
        s = rest.to_string();
    }
    if let Some(target) = exact(&s) {
        return Some(target);
    }
    if let Some(target) = address(&s) {
        return Some(target);
    }
    match strip_qualifiers(s).as_str() {
        "email" => Some(Target::Emails),
        "phone" | "telephone" | "tel" | "mobile" | "mobilephone" | "cell" | "cellphone" | "phonemobile"
        | "phonecell" => Some(Target::Phones),
        _ => None,
    }
}

fn exact(s: &str) -> Option<Target> {
    Some(match s {
        "firstname" | "givenname" | "first" | "forename" => Target::GivenName,
        "middlename" | "additionalname" => Target::MiddleName,
        "lastname" | "familyname" | "surname" | "last" => Target::FamilyName,
        "name" | "fullname" | "contactname" | "displayname" | "personname" => Target::FullName,
        "birthday" | "birthdate" | "dateofbirth" | "dob" => Target::Birthday,
        "title" | "jobtitle" | "position" | "organization1title" | "organizationtitle" | "designation" => {
            Target::JobTitle
        }
        "company" | "companyname" | "accountname" | "organization" | "organisation" | "organizationname"
        | "organization1name" => Target::Company,
        "notes" | "note" | "description" | "comments" => Target::Notes,
        "tags" | "tag" | "labels" | "label" | "categories" | "groupmembership" => Target::Tags,
        "recordid" | "contactid" | "id" | "externalid" | "personid" => Target::Custom("external_id".into()),
        _ => return None,
    })
}

/// `Business City`, `Address 1 - Postal Code`, `Mailing Zip/Postal Code`,
/// `Street Address`, `Country/Region`...
fn address(s: &str) -> Option<Target> {
    const GROUPS: [&str; 7] = ["business", "home", "other", "mailing", "billing", "shipping", "work"];
    let (group, rest) = match GROUPS.iter().find(|g| s.starts_with(*g)) {
        Some(g) => (g.to_string(), &s[g.len()..]),
        None => match s.strip_prefix("address") {
            Some(rest) => {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                (format!("address{digits}"), &rest[digits.len()..])
            }
            None => (String::new(), s),
        },
    };
    let part = match rest.trim_start_matches("address") {
        "street" | "street2" | "street3" | "streetaddress" | "line1" | "line2" | "addressline1" | "addressline2" => {
            AddressPart::Street
        }
        "" if !group.is_empty() && group.starts_with("address") => AddressPart::Street,
        "city" | "citytown" | "town" | "locality" => AddressPart::City,
        "postalcode" | "zip" | "zipcode" | "postcode" | "zippostalcode" => AddressPart::PostalCode,
        "state" | "region" | "province" | "stateregion" | "stateprovince" | "county" => AddressPart::Region,
        "country" | "countryregion" => AddressPart::Country,
        _ => return None,
    };
    Some(Target::Address(if group.is_empty() { "address".into() } else { group }, part))
}

/// One column's mapping as the importer gives it: `Header=field`.
pub fn parse_mapping(spec: &str) -> Result<(String, Target), ValidationError> {
    let (header, target) = spec.rsplit_once('=').ok_or_else(|| {
        ValidationError::new(ErrorCode::InvalidValue, "mapping: write Header=field, like \"E-mail Address=emails\"")
    })?;
    Ok((header.trim().to_string(), Target::parse(target)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressPart::*;

    fn addr(group: &str, part: AddressPart) -> Option<Target> {
        Some(Target::Address(group.into(), part))
    }

    #[test]
    fn the_big_crms_headers_are_recognised() {
        let cases = [
            // HubSpot
            ("First Name", Some(Target::GivenName)),
            ("Email", Some(Target::Emails)),
            ("Phone Number", Some(Target::Phones)),
            ("Mobile Phone Number", Some(Target::Phones)),
            ("Street Address", addr("address", Street)),
            ("State/Region", addr("address", Region)),
            ("Country/Region", addr("address", Country)),
            ("Record ID", Some(Target::Custom("external_id".into()))),
            // Salesforce
            ("Mailing Zip/Postal Code", addr("mailing", PostalCode)),
            ("Mailing State/Province", addr("mailing", Region)),
            ("Birthdate", Some(Target::Birthday)),
            ("Account Name", Some(Target::Company)),
            ("Description", Some(Target::Notes)),
            // Pipedrive
            ("Person - Email - Work", Some(Target::Emails)),
            ("Person - Phone - Mobile", Some(Target::Phones)),
            ("Person - Name", Some(Target::FullName)),
            ("Person - Organization", Some(Target::Company)),
            // Zoho
            ("Secondary Email", Some(Target::Emails)),
            ("Mailing Zip", addr("mailing", PostalCode)),
            ("Date of Birth", Some(Target::Birthday)),
            ("Tag", Some(Target::Tags)),
            // Google Contacts
            ("E-mail 1 - Value", Some(Target::Emails)),
            ("Phone 2 - Value", Some(Target::Phones)),
            ("Address 1 - Postal Code", addr("address1", PostalCode)),
            ("Address 2 - Street", addr("address2", Street)),
            ("Organization 1 - Name", Some(Target::Company)),
            ("Organization 1 - Title", Some(Target::JobTitle)),
            ("Group Membership", Some(Target::Tags)),
            // Outlook
            ("E-mail 2 Address", Some(Target::Emails)),
            ("Business Street", addr("business", Street)),
            ("Business Country/Region", addr("business", Country)),
            ("Home Postal Code", addr("home", PostalCode)),
            ("Middle Name", Some(Target::MiddleName)),
            ("Categories", Some(Target::Tags)),
        ];
        for (header, expected) in cases {
            assert_eq!(guess(header), expected, "{header}");
        }
    }

    #[test]
    fn lookalikes_are_left_out_rather_than_guessed() {
        for header in
            ["Email Opt Out", "E-mail 1 - Type", "Business Fax", "Lead Source", "Contact owner", "Lifecycle Stage"]
        {
            assert_eq!(guess(header), None, "{header}");
        }
    }

    #[test]
    fn explicit_mappings() {
        assert_eq!(parse_mapping("E-mail Address=emails").unwrap(), ("E-mail Address".into(), Target::Emails));
        assert_eq!(parse_mapping("Fav=custom.colour").unwrap().1, Target::Custom("colour".into()));
        assert_eq!(parse_mapping("Ort=address2.city").unwrap().1, addr("address2", City).unwrap());
        assert_eq!(parse_mapping("A=B=ignore").unwrap().0, "A=B");
        assert!(parse_mapping("no equals sign").is_err());
        assert!(parse_mapping("X=password").is_err());
    }
}
