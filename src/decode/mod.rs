//! Decoding: one captured frame to a [`PacketSummary`] (addresses, protocol,
//! ports or ICMP type, TCP flags, fragment identity, wire length), or a
//! [`SkipReason`] saying why it cannot be used. Nothing here allocates.
//!
//! The link layer (Ethernet with any depth of VLAN tags, PPPoE sessions and
//! MPLS label stacks, Linux SLL/SLL2, BSD NULL/LOOP, raw IP) is read here;
//! tunnels (IP-in-IP, GRE, ERSPAN, VXLAN, GENEVE, Teredo, GTP-U) are
//! opened to the packet inside, to a bounded depth; IPv4/IPv6 and IPv6 extension headers
//! are sliced by `etherparse`'s lax parser; the first bytes of the transport
//! header are read directly, which also works on first fragments and on
//! headers cut by the snap length. (DNS replies are the exception to the
//! rule above: their answers are read into names, [`dns_answers`].)

mod app;
mod dns;
mod link;
mod packet;
mod tunnel;

use app::DNS;
pub use app::{
    alpn, heard, listen, quote, server_name, App, Ask, Heard, MAX_ALPN, MAX_NAME, MAX_QUOTE,
};
pub use dns::{answers as dns_answers, MAX_ANSWERS};
pub use link::{link_payload, IpPayload};
pub use packet::{
    decode, Carriers, Decap, Encap, Fragment, Hello, PacketSummary, Payload, SkipReason, Transport,
    MAX_PAYLOADS, NO_PAYLOAD, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP, TCP_ACK,
    TCP_FIN, TCP_RST, TCP_SYN,
};
pub use tunnel::{Tunnel, TunnelKind, TunnelMode, MAX_ENCAPSULATIONS, TUNNEL_UDP_PORTS};
