//! Who is responsible: the controller, its data protection officer (Art.
//! 37(7)) and its representative in the Union (Art. 27), as shown in
//! notices (Art. 13(1)(a)–(b)), the access archive, breach notifications
//! and the record of processing; and, where the installation also
//! processes for other controllers, those controllers (Art. 30(2)).
//! Organisation details: published contact points, not a data subject's data.

use crate::error::{ErrorCode, ValidationError};
use crate::values::{check_text, parse_email};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A point of contact: a name and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPoint {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl ContactPoint {
    fn validate(&mut self, at: &str) -> Result<(), ValidationError> {
        self.name = check_text(&self.name, 200, false).map_err(|e| e.at(&format!("{at}.name")))?;
        if self.name.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, format!("{at}.name: must not be empty")));
        }
        self.email = parse_email(&self.email).map_err(|e| e.at(&format!("{at}.email")))?;
        optional_text(&mut self.phone, &format!("{at}.phone"), 50, false)?;
        optional_text(&mut self.address, &format!("{at}.address"), 500, true)
    }

    /// One line: `name, email[, phone][, address]`.
    pub fn line(&self) -> String {
        let mut parts = vec![self.name.clone(), self.email.clone()];
        parts.extend(self.phone.clone());
        parts.extend(self.address.as_ref().map(|a| a.replace('\n', ", ")));
        parts.join(", ")
    }
}

fn optional_text(value: &mut Option<String>, at: &str, max: usize, multiline: bool) -> Result<(), ValidationError> {
    if let Some(text) = value {
        let checked = check_text(text, max, multiline).map_err(|e| e.at(at))?;
        *value = (!checked.is_empty()).then_some(checked);
    }
    Ok(())
}

/// A controller the installation processes for, as a processor (Art. 30(2)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientController {
    pub controller: ContactPoint,
    #[serde(default)]
    pub representative: Option<ContactPoint>,
    #[serde(default)]
    pub dpo: Option<ContactPoint>,
    /// The categories of processing carried out on its behalf (Art. 30(2)(b)).
    pub processing: Vec<String>,
}

/// The controller's details, kept in settings by the DPO or an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerDetails {
    /// The controller: its legal name, privacy contact and address.
    pub controller: ContactPoint,
    /// The data protection officer (Art. 37(7)), where one is designated.
    #[serde(default)]
    pub dpo: Option<ContactPoint>,
    /// The representative in the Union (Art. 27), for a controller outside it.
    #[serde(default)]
    pub representative: Option<ContactPoint>,
    /// The lead supervisory authority: where breaches are notified and
    /// people may complain.
    #[serde(default)]
    pub supervisory_authority: Option<String>,
    /// Controllers this installation processes for, as their processor.
    #[serde(default)]
    pub processing_for: Vec<ClientController>,
}

impl ControllerDetails {
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        self.controller.validate("controller")?;
        if let Some(dpo) = &mut self.dpo {
            dpo.validate("dpo")?;
        }
        if let Some(representative) = &mut self.representative {
            representative.validate("representative")?;
        }
        optional_text(&mut self.supervisory_authority, "supervisory_authority", 300, false)?;
        if self.processing_for.len() > 100 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "processing_for: at most 100"));
        }
        for (i, client) in self.processing_for.iter_mut().enumerate() {
            let at = format!("processing_for[{i}]");
            client.controller.validate(&format!("{at}.controller"))?;
            if let Some(r) = &mut client.representative {
                r.validate(&format!("{at}.representative"))?;
            }
            if let Some(d) = &mut client.dpo {
                d.validate(&format!("{at}.dpo"))?;
            }
            if client.processing.is_empty() || client.processing.len() > 50 {
                return Err(ValidationError::new(
                    ErrorCode::InvalidValue,
                    format!("{at}.processing: 1 to 50 categories of processing"),
                ));
            }
            for (j, p) in client.processing.iter_mut().enumerate() {
                *p = check_text(p, 300, false).map_err(|e| e.at(&format!("{at}.processing[{j}]")))?;
            }
        }
        Ok(())
    }

    /// Each contact point set, by name (`controller`, `dpo`,
    /// `representative`, `authority`), as one line.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![("controller", self.controller.line())];
        lines.extend(self.dpo.as_ref().map(|p| ("dpo", p.line())));
        lines.extend(self.representative.as_ref().map(|p| ("representative", p.line())));
        lines.extend(self.supervisory_authority.as_ref().map(|a| ("authority", a.clone())));
        lines
    }

    /// The English words for a line's name.
    pub fn label(name: &str) -> &'static str {
        match name {
            "controller" => "Controller",
            "dpo" => "Data protection officer",
            "representative" => "Representative in the Union",
            _ => "Supervisory authority",
        }
    }

    /// Who to contact about one's data: the DPO where there is one, else the controller.
    pub fn privacy_contact(&self) -> &ContactPoint {
        self.dpo.as_ref().unwrap_or(&self.controller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(json: serde_json::Value) -> Result<ControllerDetails, ValidationError> {
        let mut d: ControllerDetails = serde_json::from_value(json).unwrap();
        d.validate().map(|()| d)
    }

    #[test]
    fn details_are_checked() {
        let ok = details(serde_json::json!({
            "controller": {"name": "Kith Shop GmbH", "email": "Privacy@Shop.example", "address": "Main St 1\n10115 Berlin"},
            "dpo": {"name": "Dora Data", "email": "dpo@shop.example"}
        }))
        .unwrap();
        assert_eq!(ok.privacy_contact().name, "Dora Data");
        assert_eq!(ok.controller.line(), "Kith Shop GmbH, Privacy@shop.example, Main St 1, 10115 Berlin");
        let bad = details(serde_json::json!({"controller": {"name": "X", "email": "not an address"}}));
        assert!(bad.unwrap_err().detail.starts_with("controller.email"));
        let bad = details(serde_json::json!({"controller": {"name": "", "email": "a@b.example"}}));
        assert!(bad.unwrap_err().detail.starts_with("controller.name"));
        let bad = details(serde_json::json!({"controller": {"name": "X", "email": "a@b.example"},
            "processing_for": [{"controller": {"name": "Y", "email": "y@b.example"}, "processing": []}]}));
        assert!(bad.unwrap_err().detail.starts_with("processing_for[0].processing"));
    }
}
