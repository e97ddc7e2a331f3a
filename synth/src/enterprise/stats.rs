//! What was generated ([`EnterpriseStats`]), counted as it is written.

/// What was generated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnterpriseStats {
    /// Records written.
    pub packets: u64,
    /// File bytes, pcap headers included.
    pub bytes: u64,
    /// Frame bytes on the wire (the records' lengths).
    pub wire_bytes: u64,
    /// Distinct flows (as asked).
    pub flows: u64,
    /// TCP flows of every kind, refused and mid-stream included.
    pub tcp_flows: u64,
    /// TCP flows whose SYN was answered by RST.
    pub tcp_refused: u64,
    /// TCP flows without handshake (the capture started late).
    pub tcp_mid_stream: u64,
    /// UDP flows (DNS, syslog, NTP, SNMP).
    pub udp_flows: u64,
    /// ICMP and ICMPv6 echo flows.
    pub icmp_flows: u64,
    /// Flows over IPv6, and their frames.
    pub ipv6_flows: u64,
    pub ipv6_frames: u64,
    /// Frames with an 802.1Q tag.
    pub vlan_frames: u64,
    /// UDP datagrams sent as two IPv4 fragments.
    pub fragmented_datagrams: u64,
}

impl EnterpriseStats {
    /// Mean frame length on the wire.
    pub fn mean_frame(&self) -> f64 {
        if self.packets == 0 {
            0.0
        } else {
            self.wire_bytes as f64 / self.packets as f64
        }
    }
}
