//! The addresses operators type: where a node listens (an IP address of this machine
//! and a TCP port) and where its peers dial it (an IP address or a DNS name, and a
//! port). Both are stored as libp2p multiaddresses (`/ip4/10.0.0.5/tcp/8100`,
//! `/dns4/node1.example.org/tcp/8100`); people may also type `10.0.0.5:8100` or
//! `node1.example.org:8100`.
//!
//! Every error names the field it came from (`--listen`, `p2p_listen`, `p2p_addr`...),
//! so whoever typed it knows what to fix.

use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use std::net::{IpAddr, SocketAddr};

/// The longest dial address, as the genesis and AddValidator store it.
pub const MAX_DIAL_ADDR_BYTES: usize = 256;
/// The longest DNS name (RFC 1035).
const MAX_DNS_NAME: usize = 253;
/// The longest label of a DNS name.
const MAX_DNS_LABEL: usize = 63;

/// Why an address was refused; `field` says which option or field held it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("{field}: {text:?} is not an address: {reason}")]
    Unparsable {
        field: &'static str,
        text: String,
        reason: String,
    },
    #[error("{field}: {text:?} cannot be listened on: {reason} (give an IP address of this machine and a port, e.g. 0.0.0.0:8100)")]
    NotListenable {
        field: &'static str,
        text: String,
        reason: &'static str,
    },
    #[error("{field}: {text:?} cannot be dialled by peers: {reason} (give an IP address or DNS name and a port, e.g. node1.example.org:8100)")]
    NotDialable {
        field: &'static str,
        text: String,
        reason: &'static str,
    },
}

/// A listen address: `IP:PORT` or `/ip4|ip6/IP/tcp/PORT`. Returns the multiaddress
/// libp2p listens on and the socket address it binds.
pub fn parse_listen(field: &'static str, text: &str) -> Result<(Multiaddr, SocketAddr), AddrError> {
    let text = text.trim();
    let refuse = |reason| AddrError::NotListenable {
        field,
        text: text.to_owned(),
        reason,
    };
    let socket = if text.starts_with('/') {
        let addr = parse_multiaddr(field, text)?;
        let parts: Vec<Protocol> = addr.iter().collect();
        match parts.as_slice() {
            [Protocol::Ip4(ip), Protocol::Tcp(port)] => SocketAddr::new(IpAddr::V4(*ip), *port),
            [Protocol::Ip6(ip), Protocol::Tcp(port)] => SocketAddr::new(IpAddr::V6(*ip), *port),
            [Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_), ..] => {
                return Err(refuse("a node listens on an IP address, not a name"))
            }
            _ => return Err(refuse("expected /ip4/IP/tcp/PORT or /ip6/IP/tcp/PORT")),
        }
    } else {
        text.parse::<SocketAddr>()
            .map_err(|e| AddrError::Unparsable {
                field,
                text: text.to_owned(),
                reason: format!("{e}; expected IP:PORT"),
            })?
    };
    if socket.port() == 0 {
        return Err(refuse(
            "port 0 picks a random port, which peers cannot know",
        ));
    }
    if socket.ip().is_multicast() {
        return Err(refuse("a multicast address"));
    }
    Ok((to_multiaddr(socket), socket))
}

/// The multiaddress of a socket address.
pub fn to_multiaddr(socket: SocketAddr) -> Multiaddr {
    Multiaddr::empty()
        .with(match socket.ip() {
            IpAddr::V4(ip) => Protocol::Ip4(ip),
            IpAddr::V6(ip) => Protocol::Ip6(ip),
        })
        .with(Protocol::Tcp(socket.port()))
}

/// A dial address: a multiaddress, `HOST:PORT`, `[IPv6]:PORT`, or `HOST` alone
/// with `default_port` (when there is one). HOST is an IP address or a DNS name.
pub fn parse_dial(
    field: &'static str,
    text: &str,
    default_port: Option<u16>,
) -> Result<Multiaddr, AddrError> {
    let text = text.trim();
    if text.starts_with('/') {
        let addr = parse_multiaddr(field, text)?;
        check_dial(field, &addr)?;
        return Ok(addr);
    }
    let unparsable = |reason: &str| AddrError::Unparsable {
        field,
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let addr = if let Ok(socket) = text.parse::<SocketAddr>() {
        to_multiaddr(socket)
    } else {
        let (host, port) = match text.rsplit_once(':') {
            // An IPv6 address alone has colons too; it parses as an IP below.
            Some((host, port)) if !host.contains(':') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| unparsable("the port is not a number from 1 to 65535"))?;
                (host, port)
            }
            _ => (
                text.trim_start_matches('[').trim_end_matches(']'),
                default_port.ok_or_else(|| unparsable("no port; expected HOST:PORT"))?,
            ),
        };
        let host_part = match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => Protocol::Ip4(ip),
            Ok(IpAddr::V6(ip)) => Protocol::Ip6(ip),
            Err(_) if is_dns_name(host) => Protocol::Dns(host.to_owned().into()),
            Err(_) => {
                return Err(unparsable(
                    "the host is neither an IP address nor a DNS name",
                ))
            }
        };
        Multiaddr::empty().with(host_part).with(Protocol::Tcp(port))
    };
    check_dial(field, &addr)?;
    Ok(addr)
}

/// Checks that peers can dial `addr`: an IP address that is not a wildcard or a
/// DNS name, then a TCP port, and nothing else (the peer id comes from the key).
pub fn check_dial(field: &'static str, addr: &Multiaddr) -> Result<(), AddrError> {
    let refuse = |reason| AddrError::NotDialable {
        field,
        text: addr.to_string(),
        reason,
    };
    let parts: Vec<Protocol> = addr.iter().collect();
    let (host, port) = match parts.as_slice() {
        [host, Protocol::Tcp(port)] => (host, *port),
        [_, Protocol::Tcp(_), Protocol::P2p(_)] => {
            return Err(refuse(
                "leave out /p2p/...: the peer id follows from the public key",
            ))
        }
        _ => return Err(refuse("expected /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT")),
    };
    match host {
        Protocol::Ip4(ip) if ip.is_unspecified() => {
            return Err(refuse("0.0.0.0 means \"every address\" only to a listener"))
        }
        Protocol::Ip6(ip) if ip.is_unspecified() => {
            return Err(refuse(":: means \"every address\" only to a listener"))
        }
        Protocol::Ip4(ip) if ip.is_multicast() || ip.is_broadcast() => {
            return Err(refuse("a multicast or broadcast address"))
        }
        Protocol::Ip6(ip) if ip.is_multicast() => return Err(refuse("a multicast address")),
        Protocol::Ip4(_) | Protocol::Ip6(_) => {}
        Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => {
            if !is_dns_name(name) {
                return Err(refuse("not a valid DNS name"));
            }
        }
        _ => return Err(refuse("the host must be an IP address or a DNS name")),
    }
    if port == 0 {
        return Err(refuse("port 0"));
    }
    if addr.to_string().len() > MAX_DIAL_ADDR_BYTES {
        return Err(refuse("longer than 256 bytes"));
    }
    Ok(())
}

fn parse_multiaddr(field: &'static str, text: &str) -> Result<Multiaddr, AddrError> {
    text.parse::<Multiaddr>()
        .map_err(|e| AddrError::Unparsable {
            field,
            text: text.to_owned(),
            reason: e.to_string(),
        })
}

/// Letters, digits and hyphens in dot-separated labels, not all digits (that would
/// be a mistyped IP address).
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels_ok = !name.is_empty()
        && name.len() <= MAX_DNS_NAME
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_DNS_LABEL
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    labels_ok && !name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_are_ip_and_port_in_either_spelling() {
        let (addr, socket) = parse_listen("--listen", "0.0.0.0:8100").unwrap();
        assert_eq!(addr.to_string(), "/ip4/0.0.0.0/tcp/8100");
        assert_eq!(socket, "0.0.0.0:8100".parse().unwrap());
        let (addr, _) = parse_listen("p2p_listen", "/ip6/::1/tcp/9").unwrap();
        assert_eq!(addr.to_string(), "/ip6/::1/tcp/9");
        for bad in [
            "127.0.0.1",
            "127.0.0.1:0",
            "/ip4/127.0.0.1/tcp/0",
            "/dns4/example.org/tcp/1",
            "/ip4/127.0.0.1/udp/1",
            "/ip4/127.0.0.1",
            "example.org:1",
            "/nonsense",
        ] {
            let err = parse_listen("--listen", bad).unwrap_err();
            assert!(err.to_string().starts_with("--listen: "), "{bad}: {err}");
        }
    }

    #[test]
    fn dial_addresses_take_ips_and_dns_names() {
        let cases = [
            ("10.0.0.5:8100", "/ip4/10.0.0.5/tcp/8100"),
            ("[::1]:8100", "/ip6/::1/tcp/8100"),
            ("node1.example.org:8100", "/dns/node1.example.org/tcp/8100"),
            ("node1.example.org", "/dns/node1.example.org/tcp/7000"),
            ("10.0.0.5", "/ip4/10.0.0.5/tcp/7000"),
            ("/dns4/a.b/tcp/5", "/dns4/a.b/tcp/5"),
            ("/ip4/127.0.0.2/tcp/5", "/ip4/127.0.0.2/tcp/5"),
        ];
        for (text, expected) in cases {
            let addr = parse_dial("--external-address", text, Some(7000)).unwrap();
            assert_eq!(addr.to_string(), expected, "{text}");
        }
    }

    #[test]
    fn undialable_addresses_are_named() {
        for bad in [
            "0.0.0.0:8100",
            "[::]:8100",
            "/ip4/0.0.0.0/tcp/8100",
            "/ip4/10.0.0.5/tcp/0",
            "/ip4/10.0.0.5/udp/5",
            "bad_name!:8100",
            "host:port",
            "1.2.3:8100",
            "/ip4/10.0.0.5/tcp/5/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
            "/ip4/224.0.0.1/tcp/5",
        ] {
            let err = parse_dial("p2p_addr", bad, Some(1)).unwrap_err();
            assert!(err.to_string().starts_with("p2p_addr: "), "{bad}: {err}");
        }
        assert!(parse_dial("p2p_addr", "node1.example.org", None).is_err());
        let long = format!("{}.org:1", "a".repeat(300));
        assert!(parse_dial("p2p_addr", &long, None).is_err());
    }
}
