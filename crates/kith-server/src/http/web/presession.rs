//! Forms shown before any session (the privacy portal's, sign-in) carry a
//! token that must equal a SameSite=Strict cookie set with the page
//! (double submit): another site can make a browser post such a form, but
//! the browser does not send it the cookie, so the post is refused.

use axum::http::{header, HeaderMap, HeaderValue};
use kith_crypto::secrets::{constant_time_eq, random_token};

const COOKIE: &str = "kith_form";

/// The token a page's form carries, and the cookie to set when the
/// browser had none.
pub struct FormToken {
    pub token: String,
    pub set_cookie: Option<HeaderValue>,
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)))
}

/// The browser's token, or a new one with its cookie.
pub fn issue(headers: &HeaderMap, secure: bool) -> FormToken {
    if let Some(token) = cookie_value(headers) {
        return FormToken { token, set_cookie: None };
    }
    let token = random_token(32).to_string();
    let secure = if secure { "; Secure" } else { "" };
    let set_cookie =
        HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")).ok();
    FormToken { token, set_cookie }
}

/// Whether a posted form's token is the browser's own.
pub fn holds(headers: &HeaderMap, sent: &str) -> bool {
    cookie_value(headers).is_some_and(|want| constant_time_eq(want.as_bytes(), sent.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cookies_own_token_holds() {
        let first = issue(&HeaderMap::new(), true);
        let cookie = first.set_cookie.expect("a new browser gets a cookie");
        assert!(cookie.to_str().unwrap().contains("SameSite=Strict; Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("{COOKIE}={}", first.token)).unwrap());
        assert!(holds(&headers, &first.token));
        assert!(!holds(&headers, "another"));
        assert!(!holds(&HeaderMap::new(), &first.token), "no cookie, no post");
        let again = issue(&headers, true);
        assert_eq!((again.token, again.set_cookie), (first.token, None), "the browser keeps its token");
    }
}
