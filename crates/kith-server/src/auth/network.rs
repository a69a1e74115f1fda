//! Client networks: what one client is, for counting.

use std::net::IpAddr;

/// The bucket of a client address. An IPv6 client usually holds a whole
/// /64, so that is what is counted; IPv4 counts per address.
pub fn client_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(client_key(Some(a)), client_key(Some(b)));
        assert_eq!(client_key(Some("::ffff:192.0.2.1".parse().unwrap())), "192.0.2.1");
    }
}
