//! Status callbacks to Data Rights Protocol agents. An agent names a
//! `status_callback` URL in each request; Kith posts the status object
//! there when it changes, but only to a host the DPO listed for that agent,
//! only over HTTPS, and only when every address the host resolves to is a
//! public one (never loopback, private, link-local or otherwise special),
//! connecting to the address it checked: an agent cannot aim Kith at its
//! own network. A failed delivery is tried again after growing delays.
//! Every attempt, and every refusal, is recorded with the request.

use crate::config::CallbackRules;
use crate::service::Services;
use kith_store::DrpRequestRow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a callback is not sent: recorded as `refused:<reason>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAUrl,
    NotHttps,
    Credentials,
    HostNotAllowed,
    Unresolved,
    NotPublic,
    AgentRemoved,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAUrl => "not_a_url",
            Self::NotHttps => "not_https",
            Self::Credentials => "credentials_in_url",
            Self::HostNotAllowed => "host_not_allowed",
            Self::Unresolved => "unresolved",
            Self::NotPublic => "not_public",
            Self::AgentRemoved => "agent_removed",
        }
    }
}

/// The URL, its host and port, when it may be used for an agent with
/// these callback hosts.
pub fn check_url(text: &str, hosts: &[String], rules: &CallbackRules) -> Result<(reqwest::Url, String, u16), Refusal> {
    let url = reqwest::Url::parse(text).map_err(|_| Refusal::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if !rules.https_only => {}
        _ => return Err(Refusal::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let host = url.host_str().ok_or(Refusal::NotAUrl)?.trim_start_matches('[').trim_end_matches(']').to_lowercase();
    if !hosts.contains(&host) {
        return Err(Refusal::HostNotAllowed);
    }
    let port = url.port_or_known_default().ok_or(Refusal::NotAUrl)?;
    Ok((url, host, port))
}

/// Whether an address is one on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64: an IPv4 address inside
        || ip.to_ipv4().is_some()) // IPv4-compatible
}

/// The address to connect to: the host's, when every one of them passes.
async fn resolve(host: &str, port: u16, rules: &CallbackRules) -> Result<SocketAddr, Refusal> {
    let addresses: Vec<SocketAddr> =
        tokio::net::lookup_host((host, port)).await.map_err(|_| Refusal::Unresolved)?.collect();
    let first = *addresses.first().ok_or(Refusal::Unresolved)?;
    if rules.public_addresses_only && !addresses.iter().all(|a| is_public(a.ip())) {
        return Err(Refusal::NotPublic);
    }
    Ok(first)
}

/// One attempt: `delivered`, `http_<status>`, `failed`, or a refusal.
/// The second value says whether trying again may help.
async fn attempt(svc: &Services, row: &DrpRequestRow, url: &str, body: &super::StatusObject) -> (String, bool) {
    let rules = &svc.config.drp_callbacks;
    let hosts = match svc.store.drp_agent(&row.agent_id).await {
        Ok(Some(agent)) => agent.callback_hosts,
        Ok(None) => return (format!("refused:{}", Refusal::AgentRemoved.as_str()), false),
        Err(_) => return ("failed".into(), true),
    };
    let checked = match check_url(url, &hosts, rules) {
        Ok(checked) => checked,
        Err(refusal) => return (format!("refused:{}", refusal.as_str()), false),
    };
    let (url, host, port) = checked;
    let address = match resolve(&host, port, rules).await {
        Ok(address) => address,
        Err(refusal) => return (format!("refused:{}", refusal.as_str()), refusal == Refusal::Unresolved),
    };
    // The connection goes to the address checked, not to a second lookup.
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(rules.https_only)
        .resolve(&host, address)
        .build();
    let Ok(client) = client else { return ("failed".into(), false) };
    match client.post(url).json(body).send().await {
        Ok(resp) if resp.status().is_success() => ("delivered".into(), false),
        Ok(resp) => {
            let status = resp.status();
            let again = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
            (format!("http_{}", status.as_u16()), again)
        }
        Err(_) => ("failed".into(), true),
    }
}

/// Posts the request's status to its callback, if it has one, trying
/// again after each of the rules' delays while a failure may pass.
pub(crate) async fn send(svc: &Services, row: &DrpRequestRow) {
    let Some(url) = &row.status_callback else { return };
    let status = match super::status_object(svc, row).await {
        Ok(status) => status,
        Err(e) => return tracing::warn!(code = e.code.as_str(), "cannot build a status callback"),
    };
    let sent = status.status.clone();
    let mut delays = svc.config.drp_callbacks.retry_delays.iter();
    loop {
        let (outcome, again) = attempt(svc, row, url, &status).await;
        if let Err(e) = svc.store.record_drp_callback(row.id, &sent, crate::now_millis(), &outcome).await {
            tracing::warn!(error = %e, "cannot record a status callback");
        }
        match delays.next() {
            Some(delay) if again => tokio::time::sleep(*delay).await,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "203.0.113.5",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_callback_goes_only_over_https_to_a_listed_host() {
        let hosts = vec!["agent.example".to_string(), "::1".to_string()];
        let rules = CallbackRules::default();
        let check = |url: &str| check_url(url, &hosts, &rules).map(|(_, host, port)| (host, port));
        assert_eq!(check("https://agent.example/cb"), Ok(("agent.example".into(), 443)));
        assert_eq!(check("https://AGENT.example:8443/cb"), Ok(("agent.example".into(), 8443)));
        assert_eq!(check("https://[::1]/cb"), Ok(("::1".into(), 443)));
        assert_eq!(check("http://agent.example/cb"), Err(Refusal::NotHttps));
        assert_eq!(check("ftp://agent.example/cb"), Err(Refusal::NotHttps));
        assert_eq!(check("https://user:pw@agent.example/cb"), Err(Refusal::Credentials));
        assert_eq!(check("https://agent.example.evil.test/cb"), Err(Refusal::HostNotAllowed));
        assert_eq!(check("https://evil.test/agent.example"), Err(Refusal::HostNotAllowed));
        assert_eq!(check("not a url"), Err(Refusal::NotAUrl));
        let lenient = CallbackRules { https_only: false, ..CallbackRules::default() };
        assert!(check_url("http://agent.example/cb", &hosts, &lenient).is_ok());
    }

    #[tokio::test]
    async fn a_host_that_resolves_to_a_private_address_is_refused() {
        let rules = CallbackRules::default();
        assert_eq!(resolve("localhost", 443, &rules).await, Err(Refusal::NotPublic));
        assert_eq!(resolve("127.0.0.1", 443, &rules).await, Err(Refusal::NotPublic));
        let lenient = CallbackRules { public_addresses_only: false, ..CallbackRules::default() };
        assert!(resolve("127.0.0.1", 443, &lenient).await.is_ok());
    }
}
