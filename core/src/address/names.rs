//! What a server is called on hash rings, and whether it is local.

use alloc::string::String;
use core::net::IpAddr;

use super::server::ServerAddr;
use crate::router::{pymemcache_node_name, twemproxy_server_name, Distribution};

impl ServerAddr {
    /// Returns the node name pymemcache's `HashClient` gives this server,
    /// which is also the string its rendezvous hash is fed: `host:port` with
    /// an IPv6 host *not* bracketed, or the unix path verbatim.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let p = |s: &str| s.parse::<ServerAddr>().unwrap().pymemcache_name();
    /// assert_eq!(p("localhost"), "localhost:11211");
    /// assert_eq!(p("[::1]:11212"), "::1:11212");
    /// assert_eq!(p("unix:/run/mc.sock"), "/run/mc.sock");
    /// ```
    #[must_use]
    pub fn pymemcache_name(&self) -> String {
        match self {
            ServerAddr::Tcp { host, port } => pymemcache_node_name(host, *port),
            ServerAddr::Unix(path) => path.clone(),
        }
    }

    /// Returns the name twemproxy gives this server on its ketama
    /// continuum (see [`twemproxy_server_name`]): the host alone on port
    /// 11211, else `host:port`; the unix path verbatim.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let t = |s: &str| s.parse::<ServerAddr>().unwrap().twemproxy_name();
    /// assert_eq!(t("10.0.0.1:11211"), "10.0.0.1");
    /// assert_eq!(t("10.0.0.1:11212"), "10.0.0.1:11212");
    /// assert_eq!(t("/run/mc.sock"), "/run/mc.sock");
    /// ```
    #[must_use]
    pub fn twemproxy_name(&self) -> String {
        match self {
            ServerAddr::Tcp { host, port } => twemproxy_server_name(host, *port),
            ServerAddr::Unix(path) => path.clone(),
        }
    }

    /// Returns the name this server has on a hash ring spread by
    /// `distribution`, the string a [`Router`](crate::router::Router) is
    /// given: [`twemproxy_name`](Self::twemproxy_name) for ketama,
    /// [`pymemcache_name`](Self::pymemcache_name) for rendezvous hashing.
    ///
    /// A memcrab client naming its nodes this way sends every key where
    /// pymemcache's `HashClient` or twemproxy, given the same servers, would.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use memcrab_core::router::Distribution;
    /// let a: ServerAddr = "127.0.0.1".parse().unwrap();
    /// assert_eq!(a.node_name(Distribution::Rendezvous), "127.0.0.1:11211");
    /// assert_eq!(a.node_name(Distribution::KetamaMd5), "127.0.0.1");
    /// ```
    #[must_use]
    pub fn node_name(&self, distribution: Distribution) -> String {
        match distribution {
            Distribution::KetamaMd5 | Distribution::KetamaFnv1a64 => self.twemproxy_name(),
            Distribution::Rendezvous
            | Distribution::RendezvousBytesRepr
            | Distribution::RendezvousWith(_) => self.pymemcache_name(),
        }
    }

    /// Returns `true` for a unix socket, the name `localhost` (or
    /// `*.localhost`), and loopback IP addresses (`127.0.0.0/8`, `::1`,
    /// `::ffff:127.x.x.x`). Other names return `false`; nothing is resolved.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let l = |s: &str| s.parse::<ServerAddr>().unwrap().is_loopback();
    /// assert!(l("127.0.0.1:11211") && l("[::1]") && l("localhost") && l("/tmp/mc.sock"));
    /// assert!(!l("10.0.0.1") && !l("cache.example.com"));
    /// ```
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        let host = match self {
            ServerAddr::Unix(_) => return true,
            ServerAddr::Tcp { host, .. } => host.as_str(),
        };
        let lower = host.trim_end_matches('.').to_ascii_lowercase();
        if lower == "localhost" || lower.ends_with(".localhost") {
            return true;
        }
        let ip_text = host.split('%').next().unwrap_or(host);
        match ip_text.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip.is_loopback(),
            Ok(IpAddr::V6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Err(_) => false,
        }
    }
}
