//! Forms shown before any session (the privacy portal's, sign-in) carry a
//! token that must equal a SameSite=Strict cookie set with the page
//! (double submit): another site can make a browser post such a form, but
//! the browser does not send it the cookie, so the post is refused.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use kith_crypto::secrets::{constant_time_eq, random_token};

/// The cookie's name: over TLS with the `__Host-` prefix, so no sibling
/// subdomain can set it for this host.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-kith_form"
    } else {
        "kith_form"
    }
}

/// The token a page's form carries, and the cookie to set when the
/// browser had none.
pub struct FormToken {
    pub token: String,
    pub set_cookie: Option<HeaderValue>,
}

fn cookie_value(headers: &HeaderMap, secure: bool) -> Option<String> {
    super::cookie(headers, cookie_name(secure))
        .filter(|value| value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)))
}

/// The browser's token, or a new one with its cookie.
pub fn issue(headers: &HeaderMap, secure: bool) -> FormToken {
    if let Some(token) = cookie_value(headers, secure) {
        return FormToken { token, set_cookie: None };
    }
    let token = random_token(32).to_string();
    let set_cookie = super::set_cookie(cookie_name(secure), &token, None, "/", secure);
    FormToken { token, set_cookie: Some(set_cookie) }
}

/// Whether a posted form's token is the browser's own.
pub fn holds(headers: &HeaderMap, secure: bool, sent: &str) -> bool {
    cookie_value(headers, secure).is_some_and(|want| constant_time_eq(want.as_bytes(), sent.as_bytes()))
}

/// A page with the cookie set when the browser had none.
pub fn with_cookie(set_cookie: Option<HeaderValue>, page: Response) -> Response {
    match set_cookie {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], page).into_response(),
        None => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cookies_own_token_holds() {
        let first = issue(&HeaderMap::new(), true);
        let cookie = first.set_cookie.expect("a new browser gets a cookie");
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("__Host-kith_form=") && cookie.contains("SameSite=Strict; Secure"), "{cookie}");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("__Host-kith_form={}", first.token)).unwrap());
        assert!(holds(&headers, true, &first.token));
        assert!(!holds(&headers, true, "another"));
        assert!(!holds(&headers, false, &first.token), "over plain HTTP the cookie has another name");
        assert!(!holds(&HeaderMap::new(), true, &first.token), "no cookie, no post");
        let again = issue(&headers, true);
        assert_eq!((again.token, again.set_cookie), (first.token, None), "the browser keeps its token");
    }
}
